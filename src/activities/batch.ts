/**
 * Activities of batch scoring (src/workflows/batch-scoring.ts): record the job, score one chunk of rows
 * into its part file, publish the output, record a failure. Thin wrappers around src/batch/ (scoring,
 * part files, the output folder) and the stores. Each is idempotent: a chunk's part and its prediction
 * log sample are keyed by the chunk and the row, the output is published once per job.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { checkFile, SourceRefused } from '../ingest/source-policy';
import type { ModelSignature } from '../domain/model-version';
import type { Config } from '../config';
import { Manifest, OutputExists, publishOutput, readManifest, stagingFolder, writePartFile, type PartSummary } from '../batch/output-folder';
import type { OutputFormat } from '../batch/part-files';
import { instanceOf, modelInputColumns, predictionColumnNames, predictionColumns, PREDICTION_COLUMN, probabilityColumn, unscorableBecause } from '../batch/score-table';
import { protectEntry } from '../serving/prediction-log';
import { createSession, type Session } from '../serving/onnx-runner';
import { withParquetRows } from '../datasets/parquet-table';
import type { Table } from '../ml/table';
import { ArtifactError } from '../store/artifacts';
import type { ActivityDeps } from './pipeline';
import { loadDataset, NON_RETRYABLE } from './pipeline';

/** What every batch activity is told about its job: small references only. */
export interface BatchJobRef {
  jobId: string;
  model: string;
  version: number;
  /** The version's ONNX file, by the digest the registry holds: exactly that file scores. */
  onnxDigest: string;
  /** The output folder (absolute, checked under the data roots) and its part format. */
  outputPath: string;
  format: OutputFormat;
}

export interface ChunkInput extends BatchJobRef {
  datasetId: string;
  index: number;
  offset: number;
  limit: number;
  /** Rows whose position is a multiple of this go to the prediction log (a bounded, deterministic sample). */
  sampleEvery: number;
}

/** A UUID made from a job's id and a row's position, so a retried chunk logs the same rows under the same ids. */
function sampleId(jobId: string, row: number): string {
  const h = createHash('sha256').update(`${jobId}:${row}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${((parseInt(h[16], 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Sessions by ONNX digest: the chunks of a job share one per worker. A few are kept; an evicted one is released once its runs are done. */
const sessions = new Map<string, Promise<Session>>();
const MAX_SESSIONS = 4;
/**
 * onnxruntime threads per batch run: every core. A batch job is one long stream of large runs, unlike
 * serving, where requests are the parallel work and each run takes one thread.
 */
export const BATCH_SESSION_THREADS = os.availableParallelism();

export type BatchDeps = Pick<ActivityDeps, 'repos' | 'artifacts' | 'sources'> & { privacy?: Partial<Config['privacy']> };

export function createBatchActivities(deps: BatchDeps) {
  const { repos, artifacts } = deps;

  function sessionFor(digest: string): Promise<Session> {
    let session = sessions.get(digest);
    if (!session) {
      // artifacts.get checks the bytes against the digest: what scores is exactly the registered file
      session = artifacts.get(digest).then((bytes) => createSession(bytes, BATCH_SESSION_THREADS));
      session.catch(() => sessions.delete(digest));
      sessions.set(digest, session);
      if (sessions.size > MAX_SESSIONS) {
        const [oldest, evicted] = sessions.entries().next().value!;
        sessions.delete(oldest);
        setTimeout(() => void evicted.then((s) => s.release()).catch(() => undefined), 60_000).unref();
      }
    }
    return session;
  }

  /** The version's signature, refusing a digest that is not the version's (the registry is the truth). */
  async function signatureOf(job: BatchJobRef): Promise<ModelSignature> {
    const version = await repos.registry.getVersion(job.model, job.version);
    if (!version) throw ApplicationFailure.nonRetryable(`model "${job.model}" has no version ${job.version}`, NON_RETRYABLE.model);
    if (version.onnxDigest !== job.onnxDigest) throw ApplicationFailure.nonRetryable(`version ${job.version} of "${job.model}" holds ONNX file ${version.onnxDigest}, not ${job.onnxDigest}`, NON_RETRYABLE.model);
    return version.signature;
  }

  /** The dataset version's columns and their kinds, from its record (no rows are read). */
  async function columnsOf(datasetId: string): Promise<{ name: string; kind: 'number' | 'string' }[]> {
    const dataset = await repos.datasets.getDataset(datasetId);
    if (!dataset) throw ApplicationFailure.nonRetryable(`dataset ${datasetId} is not registered`, NON_RETRYABLE.source);
    return dataset.columns.map((c) => ({ name: c.name, kind: c.type }));
  }

  /** The dataset version's Parquet file on this machine, or undefined for a version stored as CSV (before Parquet). */
  async function parquetFileOf(datasetId: string): Promise<string | undefined> {
    const dataset = await repos.datasets.getDataset(datasetId);
    if (!dataset) throw ApplicationFailure.nonRetryable(`dataset ${datasetId} is not registered`, NON_RETRYABLE.source);
    if (dataset.storage.format !== 'parquet') return undefined;
    try {
      return await artifacts.getFile(dataset.storage.digest);
    } catch (err) {
      if (err instanceof ArtifactError) throw ApplicationFailure.nonRetryable(`the rows of dataset ${datasetId} cannot be read: ${err.message}`, NON_RETRYABLE.source);
      throw err;
    }
  }

  /** The output path judged again on this machine: under a data root, outside the data dir, after symlinks. */
  function checkedOutput(outputPath: string): string {
    try {
      return checkFile(deps.sources.policy, outputPath, { writing: true });
    } catch (err) {
      if (err instanceof SourceRefused) throw ApplicationFailure.nonRetryable(err.message, NON_RETRYABLE.source);
      throw err;
    }
  }

  return {
    /**
     * Records the job's input and checks, before any chunk runs, that the version can score it and the
     * output is still free. Answers the row count.
     */
    async startBatchJob(input: BatchJobRef & { datasetId: string; rowCount: number }): Promise<{ rows: number }> {
      const output = checkedOutput(input.outputPath);
      const manifest = await readManifest(output);
      const exists = await fs.stat(output).then(() => true, () => false);
      if (exists && manifest?.job !== input.jobId) throw ApplicationFailure.nonRetryable(`the output ${output} exists already; batch jobs never overwrite: name a new output`, NON_RETRYABLE.source);
      const signature = await signatureOf(input);
      const why = unscorableBecause(signature, await columnsOf(input.datasetId));
      if (why) throw ApplicationFailure.nonRetryable(why, NON_RETRYABLE.validation);
      await repos.batchJobs.setBatchInput(input.jobId, input.datasetId, input.rowCount);
      return { rows: input.rowCount };
    },

    /** Scores rows [offset, offset + limit) into part `index`; a retry rewrites the same part. */
    async scoreBatchChunk(input: ChunkInput): Promise<PartSummary> {
      const ctx = Context.current();
      ctx.heartbeat({ phase: 'reading', index: input.index });
      const signature = await signatureOf(input);
      const session = await sessionFor(input.onnxDigest);
      // a Parquet version and a Parquet output: the chunk's rows are held in DuckDB, only the model's
      // columns come into JavaScript, and the part is the rows with the predictions beside them
      const parquetInput = input.format === 'parquet' ? await parquetFileOf(input.datasetId) : undefined;
      const folder = stagingFolder(checkedOutput(input.outputPath), input.jobId);
      const score = async (table: Table) => {
        const columns = await predictionColumns(session, signature, table, (done) => {
          ctx.heartbeat({ phase: 'scoring', index: input.index, rows: done });
        });
        ctx.heartbeat({ phase: 'writing', index: input.index });
        return { rowCount: table.rowCount, columns };
      };
      let scored: Table;
      let part: PartSummary;
      if (parquetInput) {
        ({ scored, part } = await withParquetRows(parquetInput, input.offset, input.limit, async (rows) => {
          const table = await rows.read(modelInputColumns(signature));
          const predictions = await score(table);
          return { scored: { rowCount: table.rowCount, columns: [...table.columns, ...predictions.columns] }, part: await writePartFile(folder, input.index, input.format, predictions, rows) };
        }));
      } else {
        const table = await loadDataset(deps, input.datasetId, { offset: input.offset, limit: input.limit }, { phase: 'reading', index: input.index });
        scored = { rowCount: table.rowCount, columns: [...table.columns, ...(await score(table)).columns] };
        part = await writePartFile(folder, input.index, input.format, scored);
      }
      await logSample(input, signature, scored);
      return part;
    },

    /** Publishes the parts as the output (manifest and _SUCCESS last) and completes the job's record. */
    async finishBatchJob(input: BatchJobRef & { datasetId: string; parts: PartSummary[] }): Promise<{ rows: number; outputDigest: string; parts: number }> {
      const output = checkedOutput(input.outputPath);
      const signature = await signatureOf(input);
      const columns = await columnsOf(input.datasetId);
      const parts = [...input.parts].sort((a, b) => a.index - b.index);
      const rows = parts.reduce((n, p) => n + p.rows, 0);
      const manifest: Manifest = {
        job: input.jobId, model: input.model, version: input.version, onnxDigest: input.onnxDigest, datasetId: input.datasetId, format: input.format, rows,
        columns: [...columns.map((c) => c.name), ...predictionColumnNames(signature)],
        parts: parts.map(({ file, rows: n, sha256, bytes }) => ({ file, rows: n, sha256, bytes })),
      };
      let digest: string;
      try {
        const ctx = Context.current();
        ({ digest } = await publishOutput(stagingFolder(output, input.jobId), output, manifest, (checked) => ctx.heartbeat({ phase: 'publishing', checked, parts: parts.length })));
      } catch (err) {
        if (err instanceof OutputExists) throw ApplicationFailure.nonRetryable(err.message, NON_RETRYABLE.source);
        throw err;
      }
      await repos.batchJobs.completeBatchJob(input.jobId, { rows, parts: parts.length, outputDigest: digest });
      await repos.registry.recordAudit({
        key: `${input.jobId}:completed`, actor: 'system', action: 'batch.completed', subject: `${input.model}@${input.version}`,
        details: { job: input.jobId, datasetId: input.datasetId, output, format: input.format, rows, outputDigest: digest },
      });
      return { rows, outputDigest: digest, parts: parts.length };
    },

    /** Records why the job failed and removes its staged parts: a failed job leaves no output. */
    async failBatchJob(input: { jobId: string; outputPath?: string; error: string }): Promise<void> {
      await repos.batchJobs.failBatchJob(input.jobId, input.error);
      if (input.outputPath) {
        let output: string | undefined;
        try { output = checkFile(deps.sources.policy, input.outputPath, { writing: true }); } catch { output = undefined; }
        if (output) await fs.rm(stagingFolder(output, input.jobId), { recursive: true, force: true });
      }
    },
  };

  /** The chunk's rows that fall on the sample grid, logged as predict logs them, marked with the job. */
  async function logSample(input: ChunkInput, signature: ModelSignature, scored: Table): Promise<void> {
    const first = Math.ceil(input.offset / input.sampleEvery) * input.sampleEvery;
    if (first >= input.offset + scored.rowCount) return;
    const policy = (await repos.privacy.getPrivacyPolicy(input.model))?.policy;
    const column = (name: string) => scored.columns.find((c) => c.name === name)!;
    const prediction = column(PREDICTION_COLUMN);
    const probabilities = signature.task === 'regression' ? [] : signature.classes.map((label) => [label, column(probabilityColumn(label))] as const);
    const entries: Buffer[] = [];
    for (let row = first; row < input.offset + scored.rowCount; row += input.sampleEvery) {
      const r = row - input.offset;
      const output = prediction.kind === 'number'
        ? { value: prediction.values[r] }
        : { label: prediction.dictionary[prediction.codes[r]], probabilities: Object.fromEntries(probabilities.map(([label, c]) => [label, c.kind === 'number' ? c.values[r] : null])) };
      const stored = protectEntry({ id: sampleId(input.jobId, row), model: input.model, version: input.version, instance: instanceOf(signature, scored, r), output, policy, features: signature.features }, deps.privacy);
      entries.push(Buffer.from(JSON.stringify(stored)));
    }
    await repos.batchJobs.logBatchSample(input.jobId, Buffer.from(`[${entries.join(',')}]`));
  }
}

export type BatchActivities = ReturnType<typeof createBatchActivities>;
