/** The bodies the monitoring routes accept: monitor settings, schedules, retraining requests. */
import { z } from 'zod';

const fraction = z.number().min(0).max(1);
export const monitorConfigSchema = z.strictObject({
  windowMinutes: z.number().int().min(1).max(30 * 24 * 60).optional(),
  minRows: z.number().int().min(1).max(1_000_000).optional(),
  drift: z.strictObject({
    alpha: z.number().gt(0).lt(1).optional(),
    bonferroni: z.boolean().optional(),
    psiThreshold: z.number().positive().optional(),
    minPsi: z.number().min(0).optional(),
    driftShare: z.number().gt(0).max(1).optional(),
  }).optional(),
  quality: z.strictObject({ maxDrop: fraction.optional(), minAccuracy: fraction.optional(), minLabelled: z.number().int().min(1).optional() }).optional(),
  serving: z.strictObject({ maxErrorRate: fraction.optional() }).optional(),
  retrain: z.strictObject({
    onDrift: z.boolean().optional(), onQuality: z.boolean().optional(), onNewData: z.boolean().optional(),
    cooldownMinutes: z.number().min(0).max(30 * 24 * 60).optional(),
  }).optional(),
  /** The monitor schedule's interval, e.g. "15m" (creates or updates it). */
  every: z.string().optional(),
});

export const scheduleRequestSchema = z.strictObject({
  kind: z.enum(['monitor', 'retrain']),
  model: z.string().min(1),
  every: z.string().optional(),
  cron: z.string().optional(),
  note: z.string().max(500).optional(),
});

export const retrainRequestSchema = z.strictObject({ reason: z.string().max(2000).optional(), by: z.string().min(1).max(200).optional() });
