/** The body of a batch scoring request (POST /v1/models/:name/batch). */
import { z } from 'zod';
import { dataSourceSchema } from './pipeline-requests';

export const batchRequestSchema = z.strictObject({
  input: dataSourceSchema,
  output: z.strictObject({
    uri: z.string().min(1).max(4096).describe('a folder (or file path) under MLOPS_DATA_ROOTS that does not exist yet; the job creates it as a folder of part files'),
    format: z.enum(['parquet', 'csv']).optional().describe('part format; default: csv when the uri ends in .csv, else parquet'),
  }),
  version: z.number().int().min(1).max(2 ** 31 - 1).optional().describe('an approved version; default: the one production serves'),
  chunkRows: z.number().int().min(1000).max(10_000_000).optional().describe('rows per chunk (one activity, one part file); default 122,880, one row group of the stored dataset version'),
  parallelism: z.number().int().min(1).max(64).optional().describe('chunks scored at once; default 4'),
});

export type BatchRequestBody = z.infer<typeof batchRequestSchema>;
