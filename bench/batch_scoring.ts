/**
 * Batch scoring throughput: a job's rows per second beside raw onnxruntime-node `session.run` on the
 * same rows with the same ONNX file.
 *
 *   node --import tsx bench/batch_scoring.ts                      (BATCH_ROWS=10000000: the 10M x 30)
 *   BATCH_ROWS=1000000 node --import tsx bench/batch_scoring.ts   (what a busy 2-core machine manages)
 *
 * The embedded stack (Temporal dev server, PostgreSQL, API; one `mlops worker` process) on a fresh data directory. A
 * logistic model is trained by a real pipeline on 20,000 rows of 30 synthetic features; the job then
 * scores BATCH_ROWS rows of the same distribution from a CSV file under the data root into Parquet parts
 * (BATCH_TRAINER picks the model family, default logistic; BATCH_CHUNK_ROWS per chunk and BATCH_PARALLELISM at once, by
 * default the workflow's; BATCH_FORMAT).
 *
 * Reported: the job end to end (ingest included), its scoring stage alone (from the first chunk to the
 * last, as its progress shows it: reading rows, scoring, writing parts, logging the sample), and raw
 * `session.run` over the same rows in runs of 8,192 rows, feeds built beforehand (the yardstick) and
 * with the feeds built from the table as the job builds them. Figures: bench/RESULTS.md.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { ApiClient } from '../src/cli/api-client';
import { loadConfig } from '../src/config';
import { loadDatasetTable } from '../src/store/datasets';
import { layoutOf, tableFeeds } from '../src/serving/feeds';
import { createSession } from '../src/serving/onnx-runner';
import { BATCH_SESSION_THREADS } from '../src/activities/batch';
import { createRepositories } from '../src/store/repositories';
import { writePart } from '../src/batch/part-files';
import { scoreTable } from '../src/batch/score-table';
import { ensureAdminKey, openStores, startApi, startInfrastructure } from '../src/stack/runtime';
import { DEFAULT_CHUNK_ROWS, DEFAULT_PARALLELISM } from '../src/workflows/batch-scoring';

const ROWS = Number(process.env.BATCH_ROWS ?? 10_000_000);
const FEATURES = 30;
/** Rows per chunk and chunks at once (BATCH_CHUNK_ROWS, BATCH_PARALLELISM): the workflow's defaults unless set. */
const CHUNK_ROWS = Number(process.env.BATCH_CHUNK_ROWS ?? DEFAULT_CHUNK_ROWS);
const PARALLELISM = Number(process.env.BATCH_PARALLELISM ?? DEFAULT_PARALLELISM);
const FORMAT = process.env.BATCH_FORMAT ?? 'parquet';
const RUN_ROWS = 8192;
/** How often the job's status is asked for while it runs (BATCH_POLL_MS): each ask is a workflow query. */
const POLL_MS = Number(process.env.BATCH_POLL_MS ?? 50);
/** The model family trained (BATCH_TRAINER): logistic (default, the cheapest graph to run) or e.g. gbdt, mlp. */
const TRAINER = process.env.BATCH_TRAINER ?? 'logistic';

/** Writes `rows` rows of 30 normal features and a label drawn from a fixed logistic model, as CSV, in pieces. */
function writeSynthetic(file: string, rows: number, seed: number): void {
  let state = seed >>> 0;
  const uniform = () => { state = (state * 1664525 + 1013904223) >>> 0; return (state + 0.5) / 2 ** 32; };
  const normal = () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  const weights = Array.from({ length: FEATURES }, (_, j) => ((j % 7) - 3) / 3);
  const fd = fs.openSync(file, 'w');
  fs.writeSync(fd, `${[...Array.from({ length: FEATURES }, (_, j) => `x${j + 1}`), 'label'].join(',')}\n`);
  let piece: string[] = [];
  for (let i = 0; i < rows; i++) {
    let t = 0;
    const cells = new Array<string>(FEATURES + 1);
    for (let j = 0; j < FEATURES; j++) { const x = Math.round(normal() * 1e4) / 1e4; t += weights[j] * x; cells[j] = String(x); }
    cells[FEATURES] = uniform() < 1 / (1 + Math.exp(-t)) ? 'yes' : 'no';
    piece.push(cells.join(','));
    if (piece.length === 50_000) { fs.writeSync(fd, `${piece.join('\n')}\n`); piece = []; }
  }
  if (piece.length) fs.writeSync(fd, `${piece.join('\n')}\n`);
  fs.closeSync(fd);
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-bench-batch-'));
  const files = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-bench-batch-files-'));
  const base = 18_400 + (process.pid % 20) * 4;
  const config = loadConfig({
    MLOPS_DATA_DIR: dataDir, MLOPS_DATA_ROOTS: files, MLOPS_TEMPORAL_PORT: String(base), MLOPS_TEMPORAL_UI_PORT: String(base + 1),
    MLOPS_PG_PORT: String(base + 2), MLOPS_API_PORT: String(base + 3), TEMPORAL_CLI_PATH: process.env.TEMPORAL_CLI_PATH,
  });
  const training = path.join(files, 'train.csv');
  const input = path.join(files, 'input.csv');
  writeSynthetic(training, 20_000, 1);
  let t = performance.now();
  writeSynthetic(input, ROWS, 2);
  console.log(`${ROWS} x ${FEATURES} rows written in ${((performance.now() - t) / 1000).toFixed(1)} s (${(fs.statSync(input).size / 2 ** 20).toFixed(0)} MiB); ${os.cpus().length} cores`);
  const infra = await startInfrastructure(config, () => undefined);
  const stores = await openStores(config, infra.databaseUrl);
  // the worker in its own process, as deployed: its long synchronous stretches (parsing the input) must not stall the API
  const worker = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '..', 'src', 'cli.ts'), 'worker'], {
    env: { ...process.env, TEMPORAL_ADDRESS: infra.temporalAddress, DATABASE_URL: infra.databaseUrl, MLOPS_DATA_DIR: dataDir, MLOPS_DATA_ROOTS: files },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const apiServer = await startApi(config, infra, stores, () => undefined);
  const api = new ApiClient(apiServer.url, ensureAdminKey(config));
  try {
    const { id: runId } = await api.post<{ id: string }>('/v1/pipelines', { model: 'bench', data: { uri: training }, target: 'label', approval: { mode: 'auto' }, trainer: { kind: TRAINER } });
    for (let state = 'running'; !['deployed', 'rejected', 'failed'].includes(state); await new Promise((r) => setTimeout(r, 200))) state = (await api.get<{ state: string }>(`/v1/pipelines/${runId}`)).state;

    t = performance.now();
    const { id } = await api.post<{ id: string }>('/v1/models/bench/batch', { input: { uri: input }, output: { uri: path.join(files, 'scored'), format: FORMAT }, chunkRows: CHUNK_ROWS, parallelism: PARALLELISM });
    let scoringFrom: number | undefined;
    // the worker's CPU time (user + system, all its threads) over the scoring stage: how busy both cores were
    const workerCpu = () => { const f = fs.readFileSync(`/proc/${worker.pid}/stat`, 'utf8').split(') ')[1].split(' '); return (Number(f[11]) + Number(f[12])) / 100; };
    let cpuFrom = 0;
    let job: { state: string; rows: number | null; rowsScored: number; error: string | null; progress: { stage: string } | null };
    for (;;) {
      job = await api.get(`/v1/models/bench/batch/${id}`);
      if (scoringFrom === undefined && job.progress?.stage === 'score') { scoringFrom = performance.now(); cpuFrom = workerCpu(); }
      if (job.state !== 'running' || job.progress?.stage === 'finish') break;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    const scoringEnd = performance.now();
    const scoringCpu = workerCpu() - cpuFrom;
    while (job.state === 'running') { await new Promise((r) => setTimeout(r, POLL_MS)); job = await api.get(`/v1/models/bench/batch/${id}`); }
    const total = (performance.now() - t) / 1000;
    if (job.state !== 'completed') throw new Error(`the job ${job.state}: ${job.error}`);
    const scoring = (scoringEnd - (scoringFrom ?? t)) / 1000;
    console.log(`job (${TRAINER} model, ${FORMAT}, chunks of ${CHUNK_ROWS}, ${PARALLELISM} at once): ${total.toFixed(1)} s end to end = ${(ROWS / total).toFixed(0)} rows/s; scoring stage ${scoring.toFixed(1)} s = ${(ROWS / scoring).toFixed(0)} rows/s, the worker's CPU meanwhile ${scoringCpu.toFixed(1)} s (${(scoringCpu / scoring).toFixed(2)} cores)`);

    // the yardstick: the same ONNX file and rows through session.run
    const version = (await createRepositories(stores.pool).registry.getVersion('bench', 1))!;
    const session = await createSession(await stores.artifacts.get(version.onnxDigest));
    // the job's own input: the dataset version it stored (Parquet; the CSV text passes V8's string limit at 10M rows)
    const datasetId = (await createRepositories(stores.pool).batchJobs.getBatchJob('bench', id))!.datasetId!;
    const table = await loadDatasetTable(stores.pool, stores.artifacts, datasetId);
    const layout = layoutOf(version.signature);
    const feeds = [];
    t = performance.now();
    for (let start = 0; start < table.rowCount; start += RUN_ROWS) {
      const rows = Int32Array.from({ length: Math.min(RUN_ROWS, table.rowCount - start) }, (_, i) => start + i);
      feeds.push(tableFeeds(layout, table, rows));
    }
    const feedSeconds = (performance.now() - t) / 1000;
    t = performance.now();
    for (const f of feeds) session.run(f);
    const runSeconds = (performance.now() - t) / 1000;
    // and with onnxruntime on every core, as the job's own sessions run
    const wide = await createSession(await stores.artifacts.get(version.onnxDigest), BATCH_SESSION_THREADS);
    t = performance.now();
    for (const f of feeds) wide.run(f);
    const wideSeconds = (performance.now() - t) / 1000;
    await wide.release();
    // where a chunk's time goes, measured here on the first chunk's rows: reading the stored version (its
    // Parquet file, whole), scoring as the job scores, and writing the part in each format
    t = performance.now();
    await loadDatasetTable(stores.pool, stores.artifacts, datasetId);
    const parseSeconds = (performance.now() - t) / 1000;
    const chunk = { rowCount: Math.min(CHUNK_ROWS, table.rowCount), columns: table.columns.map((c) => (c.kind === 'number' ? { ...c, values: c.values.subarray(0, CHUNK_ROWS) } : { ...c, codes: c.codes.subarray(0, CHUNK_ROWS) })) };
    t = performance.now();
    const scored = await scoreTable(session, version.signature, chunk);
    const scoreSeconds = (performance.now() - t) / 1000;
    const stage: Record<string, number> = {};
    for (const format of ['parquet', 'csv'] as const) {
      t = performance.now();
      await writePart(scored, path.join(files, `stage.${format}`), format);
      stage[format] = (performance.now() - t) / 1000;
    }
    console.log(`stages: reading the stored version whole (Parquet) ${parseSeconds.toFixed(1)} s; per ${chunk.rowCount}-row chunk: scoring ${(scoreSeconds * 1000).toFixed(0)} ms, Parquet part ${(stage.parquet * 1000).toFixed(0)} ms, CSV part ${(stage.csv * 1000).toFixed(0)} ms`);
    await session.release();
    console.log(`raw session.run: ${runSeconds.toFixed(2)} s = ${(ROWS / runSeconds).toFixed(0)} rows/s; with feeds built from the table ${(runSeconds + feedSeconds).toFixed(2)} s = ${(ROWS / (runSeconds + feedSeconds)).toFixed(0)} rows/s`);
    console.log(`raw session.run on ${BATCH_SESSION_THREADS} onnxruntime threads (as the job's sessions): ${wideSeconds.toFixed(2)} s = ${(ROWS / wideSeconds).toFixed(0)} rows/s`);
    console.log(`job / raw (1 thread): end to end ${((ROWS / total) / (ROWS / runSeconds) * 100).toFixed(1)}%, scoring stage ${((ROWS / scoring) / (ROWS / runSeconds) * 100).toFixed(1)}%`);
    console.log(`job / raw (${BATCH_SESSION_THREADS} threads): end to end ${((ROWS / total) / (ROWS / wideSeconds) * 100).toFixed(1)}%, scoring stage ${((ROWS / scoring) / (ROWS / wideSeconds) * 100).toFixed(1)}%`);
  } finally {
    await apiServer.stop();
    worker.kill('SIGTERM');
    await new Promise((r) => worker.once('exit', r));
    await stores.pool.end();
    await infra.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(files, { recursive: true, force: true });
  }
}

main().catch((err) => { console.error(err); process.exitCode = 1; });
