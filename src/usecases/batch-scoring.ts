/**
 * Batch scoring jobs: ask for one (checked before anything starts: the model, the version and its
 * approval, the input source, the output path), and read one back. Transport-free: refusals are domain
 * errors. The job itself is the batchScoring workflow (src/workflows/batch-scoring.ts).
 */
import fs from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { Client, WorkflowNotFoundError } from '@temporalio/client';
import { DomainError } from '../domain/errors';
import { PRODUCTION_ALIAS } from '../domain/model-version';
import type { PipelineData } from '../domain/pipeline-input';
import { checkFile, SourcePolicy, SourceRefused } from '../ingest/source-policy';
import type { BatchJob } from '../store/batch-jobs';
import type { Repositories } from '../store/repositories';
import { batchProgressQuery, batchScoring, BatchProgress, DEFAULT_CHUNK_ROWS } from '../workflows/batch-scoring';
import { startOnce } from './start-once';
import { describeSource } from './pipelines';
import { rootMessage } from './workflow-failures';

export interface BatchRequest {
  input: PipelineData;
  output: { uri: string; format?: 'parquet' | 'csv' };
  /** Default: the version production serves. */
  version?: number;
  chunkRows?: number;
  parallelism?: number;
}

export interface BatchView {
  id: string;
  model: string;
  version: number;
  state: BatchJob['state'];
  /** Input rows (once ingested); on completion, the rows written. */
  rows: number | null;
  rowsScored: number;
  progress: { chunks: number; chunksDone: number; stage: BatchProgress['stage'] } | null;
  input: { source: unknown; datasetId: string | null };
  output: BatchJob['output'];
  onnxDigest: string;
  error: string | null;
  requestedBy: string;
  createdAt: string;
  finishedAt: string | null;
  uiUrl: string;
}

export class BatchService {
  constructor(
    private readonly client: Client,
    private readonly o: { taskQueue: string; uiUrl: (id: string) => string; repos: Pick<Repositories, 'registry' | 'batchJobs'>; sources: SourcePolicy; checkSource: (data: PipelineData) => Promise<PipelineData> },
  ) {}

  /** The output folder as the worker will write it: under a data root, outside the data dir, not there yet. */
  checkOutput(uri: string): string {
    let real: string;
    try {
      real = checkFile(this.o.sources, uri, { writing: true });
    } catch (err) {
      if (err instanceof SourceRefused) throw new DomainError('invalid', `output: ${err.message}`, { setting: err.setting });
      throw err;
    }
    if (fs.existsSync(real)) throw new DomainError('conflict', `the output ${real} exists already; batch jobs never overwrite: name a new file or folder`);
    return real;
  }

  /** Checks the request and starts the job; with an idempotency key, repeating the call returns the same job. */
  async start(model: string, request: BatchRequest, o: { requestedBy: string; idempotencyKey?: string }): Promise<{ id: string; uiUrl: string }> {
    const { registry, batchJobs } = this.o.repos;
    if (!(await registry.modelExists(model))) throw new DomainError('not_found', `model "${model}" does not exist`);
    const version = request.version !== undefined ? await registry.getVersion(model, request.version) : await registry.getAliasVersion(model, PRODUCTION_ALIAS);
    if (!version) {
      throw new DomainError('not_found', request.version !== undefined ? `model "${model}" has no version ${request.version}` : `model "${model}" has no production version; name one with "version"`);
    }
    if (version.status !== 'approved') throw new DomainError('conflict', `version ${version.version} of "${model}" is ${version.status.replace('_', ' ')}, not approved: only approved versions score batches`);
    const suffix = o.idempotencyKey ? createHash('sha256').update(`${model}:${o.idempotencyKey}`).digest('hex').slice(0, 10) : randomBytes(5).toString('hex');
    const id = `batch-${model}-${suffix}`;
    if (o.idempotencyKey && (await batchJobs.getBatchJob(model, id))) return { id, uiUrl: this.o.uiUrl(id) };
    const output = this.checkOutput(request.output.uri);
    const input = await this.o.checkSource(request.input);
    const format = request.output.format ?? (/\.csv$/i.test(output) ? 'csv' : 'parquet');
    await batchJobs.createBatchJob({ id, model, version: version.version, onnxDigest: version.onnxDigest, input: describeSource(input), outputUri: output, format, requestedBy: o.requestedBy });
    await startOnce(this.client, batchScoring, {
      taskQueue: this.o.taskQueue,
      workflowId: id,
      args: [{ model, version: version.version, onnxDigest: version.onnxDigest, data: input, output: { path: output, format }, requestedBy: o.requestedBy, chunkRows: request.chunkRows ?? DEFAULT_CHUNK_ROWS, parallelism: request.parallelism }],
      memo: { model, version: version.version, input: describeSource(input), output },
    });
    await registry.recordAudit({ key: `${id}:started`, actor: o.requestedBy, action: 'batch.started', subject: `${model}@${version.version}`, details: { job: id, input: describeSource(input), output, format } });
    return { id, uiUrl: this.o.uiUrl(id) };
  }

  /** A job: its record, with the workflow's progress while it runs. */
  async get(model: string, id: string): Promise<BatchView> {
    const job = await this.o.repos.batchJobs.getBatchJob(model, id);
    if (!job) throw new DomainError('not_found', `model "${model}" has no batch job "${id}"`);
    let progress: BatchProgress | undefined;
    let state = job.state;
    let error = job.error;
    if (job.state === 'running') {
      const handle = this.client.workflow.getHandle(id);
      try {
        const description = await handle.describe();
        progress = await handle.query(batchProgressQuery).catch(() => undefined);
        // ended without recording it (terminated, timed out): the workflow's word is final
        if (description.status.name !== 'RUNNING' && description.status.name !== 'COMPLETED') {
          state = 'failed';
          error = await handle.result().then(() => null, (err) => rootMessage(err));
          error ??= `the job's workflow ended: ${description.status.name.toLowerCase()}`;
        }
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
      }
    }
    return {
      id, model: job.model, version: job.version, state, rows: job.rows ?? progress?.rows ?? null,
      rowsScored: job.state === 'completed' ? (job.rows ?? 0) : (progress?.rowsScored ?? 0),
      progress: progress ? { chunks: progress.chunks, chunksDone: progress.chunksDone, stage: progress.stage } : null,
      input: { source: job.input, datasetId: job.datasetId ?? progress?.datasetId ?? null }, output: job.output, onnxDigest: job.onnxDigest,
      error, requestedBy: job.requestedBy, createdAt: job.createdAt, finishedAt: job.finishedAt, uiUrl: this.o.uiUrl(id),
    };
  }

  /** A model's jobs, newest first: the version -> job -> output lineage. */
  async list(model: string, o: { version?: number; limit?: number } = {}): Promise<BatchJob[]> {
    if (!(await this.o.repos.registry.modelExists(model))) throw new DomainError('not_found', `model "${model}" does not exist`);
    return this.o.repos.batchJobs.listBatchJobs(model, o);
  }
}
