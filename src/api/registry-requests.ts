/** The bodies the registry routes accept: alias moves, rollbacks, archiving. */
import { z } from 'zod';

export const rollbackRequestSchema = z.strictObject({
  toVersion: z.number().int().min(1).max(2 ** 31 - 1).optional(),
  reason: z.string().max(2000).optional(),
  by: z.string().min(1).max(200).optional(),
});

export const archiveRequestSchema = z.strictObject({
  reason: z.string().max(2000).optional(),
  by: z.string().min(1).max(200).optional(),
});

export const aliasRequestSchema = z.strictObject({
  version: z.number().int().min(1).max(2 ** 31 - 1),
  reason: z.string().max(2000).optional(),
  by: z.string().min(1).max(200).optional(),
});
