/**
 * `mlops batch`: score a dataset with a model version as a batch job, follow it, list a model's jobs.
 *
 *   mlops batch <model> --input <path|url|dataset id> --output <path> [--format parquet|csv]
 *               [--version <n>] [--chunk-rows <n>] [--parallelism <n>] [--wait]
 *   mlops batch <model> --job <id>        one job (JSON)
 *   mlops batch <model> --list            the model's jobs
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError } from '../config';
import { ApiCallError, ApiClient } from './api-client';
import { uploadDataset } from './data-commands';
import { table } from './table';

const enc = encodeURIComponent;
const DATASET_ID = /^[0-9a-f]{64}$/;
export const BATCH_USAGE = 'batch <model> --input <path|url|dataset id> --output <path> [--format parquet|csv] [--version <n>] [--chunk-rows <n>] [--parallelism <n>] [--wait] | batch <model> --job <id> | batch <model> --list';

interface Job { id: string; state: string; rows: number | null; rowsScored: number; progress: { chunks: number; chunksDone: number; stage: string } | null; output: { uri: string; format: string; digest: string | null }; error: string | null }

const positive = (name: string, value: string | undefined) => {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`--${name} takes a whole number from 1, got "${value}"`);
  return n;
};

/** Polls a job until it ends, printing its progress when it changes; answers the final job. */
export async function followBatch(api: ApiClient, model: string, id: string, log: (line: string) => void, everyMs = 1000): Promise<Job> {
  let last = '';
  for (;;) {
    const job = await api.get<Job>(`/v1/models/${enc(model)}/batch/${enc(id)}`);
    const line = job.state === 'running'
      ? `${job.progress?.stage ?? 'starting'}: ${job.rowsScored} of ${job.rows ?? '?'} rows scored (${job.progress?.chunksDone ?? 0} of ${job.progress?.chunks ?? '?'} chunks)`
      : job.state === 'completed' ? `completed: ${job.rows} rows in ${job.output.uri} (${job.output.format}, manifest sha256 ${job.output.digest})` : `failed: ${job.error}`;
    if (line !== last) log(line);
    last = line;
    if (job.state !== 'running') return job;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function runBatchCommand(command: string, rest: string[], api: ApiClient, log: (line: string) => void): Promise<number | false> {
  if (command !== 'batch') return false;
  const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: {
    input: { type: 'string' }, output: { type: 'string' }, format: { type: 'string' }, version: { type: 'string' }, 'chunk-rows': { type: 'string' },
    parallelism: { type: 'string' }, wait: { type: 'boolean', default: false }, job: { type: 'string' }, list: { type: 'boolean', default: false },
  } });
  const model = positionals[0];
  if (!model) throw new ConfigError(`usage: mlops ${BATCH_USAGE}`);
  if (values.job) {
    log(JSON.stringify(await api.get(`/v1/models/${enc(model)}/batch/${enc(values.job)}`), null, 2));
    return 0;
  }
  if (values.list) {
    const { jobs } = await api.get<{ jobs: (Job & { version: number; createdAt: string })[] }>(`/v1/models/${enc(model)}/batch`);
    log(table(['job', 'version', 'state', 'rows', 'output', 'digest'], jobs.map((j) => [j.id, String(j.version), j.state, String(j.rows ?? ''), j.output.uri, j.output.digest?.slice(0, 12) ?? ''])));
    return 0;
  }
  if (!values.input || !values.output) throw new ConfigError(`batch needs --input and --output; usage: mlops ${BATCH_USAGE}`);
  if (values.format !== undefined && values.format !== 'parquet' && values.format !== 'csv') throw new ConfigError(`--format is parquet or csv, not "${values.format}"`);
  const local = !DATASET_ID.test(values.input) && !/^[a-z][a-z0-9+.-]*:\/\//i.test(values.input) ? path.resolve(values.input) : undefined;
  const input = DATASET_ID.test(values.input) ? { dataset: values.input } : { uri: local ?? values.input };
  const body = (source: unknown) => ({
    input: source, output: { uri: path.resolve(values.output!), ...(values.format ? { format: values.format } : {}) },
    ...(values.version ? { version: positive('version', values.version) } : {}),
    ...(values['chunk-rows'] ? { chunkRows: positive('chunk-rows', values['chunk-rows']) } : {}),
    ...(values.parallelism ? { parallelism: positive('parallelism', values.parallelism) } : {}),
  });
  let started: { id: string; uiUrl: string };
  try {
    started = await api.post<{ id: string; uiUrl: string }>(`/v1/models/${enc(model)}/batch`, body(input));
  } catch (err) {
    // the server reads files only under its data roots: an input of ours elsewhere travels as an upload
    if (!(local && err instanceof ApiCallError && err.status === 400 && /input.*MLOPS_DATA_ROOTS/s.test(err.message) && fs.existsSync(local))) throw err;
    const uploaded = await uploadDataset(api, local);
    log(`uploaded ${local}: dataset ${uploaded.id} (${uploaded.rowCount} rows)`);
    started = await api.post<{ id: string; uiUrl: string }>(`/v1/models/${enc(model)}/batch`, body({ dataset: uploaded.id }));
  }
  log(`started ${started.id}\n  ${started.uiUrl}`);
  if (!values.wait) return 0;
  return (await followBatch(api, model, started.id, log)).state === 'completed' ? 0 : 1;
}
