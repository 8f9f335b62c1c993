/**
 * Batch scoring: a stored model version scores a whole dataset into files under a data root.
 *
 *   ingest (the pipeline's own ingestDataset: any source becomes a stored dataset version)
 *   -> start (record the input, check the version can score it and the output is free)
 *   -> score chunks of rows in parallel (bounded), each into its own part file, heartbeating
 *   -> finish (manifest and _SUCCESS written last, the folder renamed into place; lineage recorded)
 *
 * Only row ranges, counts and part digests cross history. A worker killed mid-chunk loses that chunk's
 * attempt only: it is retried after the heartbeat timeout and rewrites its own part, so no row is lost
 * or doubled. Progress is a query (`batchProgress`) and the run's current details in the Web UI.
 */
import { defineQuery, proxyActivities, setCurrentDetails, setHandler, workflowInfo } from '@temporalio/workflow';
import type { BatchActivities } from '../activities/batch';
import type { PipelineActivities } from '../activities/pipeline';
import type { PartSummary } from '../batch/output-folder';
import type { PipelineData } from '../domain/pipeline-input';
import { ACTIVITY_PRESETS, FAILURE_TYPES, retryExcept } from './activity-options';
import { mapLimited } from './tuning';

const retry = retryExcept(FAILURE_TYPES.dataSource, FAILURE_TYPES.dataFormat, FAILURE_TYPES.dataValidation, FAILURE_TYPES.model);
const data = proxyActivities<PipelineActivities>(ACTIVITY_PRESETS.data(retry));
const quick = proxyActivities<BatchActivities>(ACTIVITY_PRESETS.quick(retry));
/** Publishing reads every part again to check it: a large job's take longer than a quick activity's minute, so it heartbeats per part. */
const publishing = proxyActivities<BatchActivities>(ACTIVITY_PRESETS.data(retry));
/**
 * Chunk activities for an input of `rows` rows. A chunk heartbeats every scoring run of 8,192 rows and
 * every 2 s while it reads its rows from the version's Parquet file, so a dead worker is noticed within
 * 20 s. The timeout still grows with the input (1 s per 50,000 rows) for versions stored as CSV before
 * Parquet, whose whole file each chunk parses; the option stays as it was, so recorded histories replay.
 */
function chunkActivities(rows: number) {
  const seconds = Math.max(20, Math.ceil(rows / 50_000));
  return proxyActivities<BatchActivities>({ startToCloseTimeout: '30 minutes', heartbeatTimeout: `${seconds} seconds`, retry });
}

/**
 * DuckDB's Parquet row group, as dataset versions are written: a chunk decodes whole row groups of the
 * version's file, so a chunk of exactly one decodes no rows it does not score (bench/RESULTS.md).
 */
export const DEFAULT_CHUNK_ROWS = 122_880;
/**
 * What a job started without `chunkRows` was cut into before the API sent the default above: the
 * workflow keeps it, so such a job replays its history the same after an upgrade.
 */
const CHUNK_ROWS_OF_JOBS_WITHOUT_ONE = 100_000;
export const DEFAULT_PARALLELISM = 4;
/** Chunks per job at most: a chunk costs a handful of history events, and history holds 51,200. */
export const MAX_CHUNKS = 2000;
/** The most rows of one job fed to the prediction log. */
export const SAMPLE_ROWS = 1000;

export interface BatchScoringInput {
  model: string;
  version: number;
  /** The version's ONNX file as the registry holds it. */
  onnxDigest: string;
  data: PipelineData;
  /** The output folder, absolute (checked under the data roots when asked for, and again by the worker). */
  output: { path: string; format: 'parquet' | 'csv' };
  requestedBy: string;
  chunkRows?: number;
  parallelism?: number;
}

export interface BatchProgress {
  state: 'running' | 'completed' | 'failed';
  stage: 'ingest' | 'score' | 'finish' | 'done';
  datasetId?: string;
  /** Input rows, once ingested. */
  rows?: number;
  rowsScored: number;
  chunks: number;
  chunksDone: number;
  outputDigest?: string;
  error?: string;
}

export interface BatchResult { rows: number; parts: number; outputDigest: string; datasetId: string }

export const batchProgressQuery = defineQuery<BatchProgress>('batchProgress');

/** Chunk ranges over `rows` rows: `chunkRows` each (more when that would make too many chunks). */
export function chunkRanges(rows: number, chunkRows: number): { offset: number; limit: number }[] {
  const size = Math.max(1, chunkRows, Math.ceil(rows / MAX_CHUNKS));
  const ranges: { offset: number; limit: number }[] = [];
  for (let offset = 0; offset < rows; offset += size) ranges.push({ offset, limit: Math.min(size, rows - offset) });
  return ranges;
}

function messageOf(err: unknown): string {
  let e = err as { message?: string; cause?: unknown } | undefined;
  while (e?.cause) e = e.cause as typeof e;
  return e?.message ?? String(err);
}

export async function batchScoring(input: BatchScoringInput): Promise<BatchResult> {
  const jobId = workflowInfo().workflowId;
  const progress: BatchProgress = { state: 'running', stage: 'ingest', rowsScored: 0, chunks: 0, chunksDone: 0 };
  setHandler(batchProgressQuery, () => progress);
  const show = () => setCurrentDetails(`**${progress.state}** (${progress.stage}): ${progress.rowsScored} of ${progress.rows ?? '?'} rows scored, ${progress.chunksDone} of ${progress.chunks} chunks`);
  show();
  const job = { jobId, model: input.model, version: input.version, onnxDigest: input.onnxDigest, outputPath: input.output.path, format: input.output.format };
  try {
    const ingested = await data.ingestDataset(input.data);
    progress.datasetId = ingested.datasetId;
    progress.rows = ingested.rowCount;
    await quick.startBatchJob({ ...job, datasetId: ingested.datasetId, rowCount: ingested.rowCount });
    const ranges = chunkRanges(ingested.rowCount, input.chunkRows ?? CHUNK_ROWS_OF_JOBS_WITHOUT_ONE);
    const sampleEvery = Math.max(1, Math.ceil(ingested.rowCount / SAMPLE_ROWS));
    const chunks = chunkActivities(ingested.rowCount);
    progress.stage = 'score';
    progress.chunks = ranges.length;
    show();
    const parts: PartSummary[] = await mapLimited(ranges, input.parallelism ?? DEFAULT_PARALLELISM, async (range, index) => {
      const part = await chunks.scoreBatchChunk({ ...job, datasetId: ingested.datasetId, index, ...range, sampleEvery });
      progress.chunksDone++;
      progress.rowsScored += part.rows;
      show();
      return part;
    });
    progress.stage = 'finish';
    show();
    const done = await publishing.finishBatchJob({ ...job, datasetId: ingested.datasetId, parts });
    Object.assign(progress, { state: 'completed', stage: 'done', outputDigest: done.outputDigest });
    show();
    return { rows: done.rows, parts: done.parts, outputDigest: done.outputDigest, datasetId: ingested.datasetId };
  } catch (err) {
    progress.state = 'failed';
    progress.error = messageOf(err);
    show();
    await quick.failBatchJob({ jobId, outputPath: input.output.path, error: progress.error });
    throw err;
  }
}
