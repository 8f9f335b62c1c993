/**
 * Ten million rows end to end on one machine (issue K): a synthetic 10M x 30 CSV (29 numeric features,
 * one text feature, a binary target with a logistic signal) goes through the embedded stack twice, once
 * with logistic regression and once with gradient-boosted trees: ingest -> validate -> train -> evaluate
 * -> register -> approve (auto) -> deploy, then a prediction. Prints each stage's time (from the run's
 * status, polled every 0.5 s), the whole run's, and the process's peak resident memory (the worker, the
 * API and DuckDB all run in it).
 *
 *   node --import tsx --max-old-space-size=16384 bench/ten_million.ts [rows] [kinds]
 *     rows: 10000000 by default; kinds: logistic,gbdt by default
 *
 * TEN_MILLION_KILL=<stage>:<seconds> runs the worker as its own `mlops worker` process and kills it with
 * SIGKILL once the run has been in that stage so long (then starts a new one): the run must still deploy,
 * with exactly one model version and one deployment. The peak memory printed is then the worker's
 * (the first worker's peak and the last one's).
 *
 * Figures: bench/RESULTS.md.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRng } from '../src/ml/random';
import { startEmbeddedStack } from './embedded-stack';

const FEATURES = 29;

/** Writes the CSV once per size (reused by later runs); about 300 bytes a row. */
function makeData(file: string, rows: number): void {
  if (fs.existsSync(file)) return;
  const rng = createRng(10);
  const weights = Array.from({ length: FEATURES }, (_, j) => (j % 3 === 0 ? 0.8 : j % 3 === 1 ? -0.5 : 0.1));
  const plans = ['basic', 'plus', 'pro', 'team'];
  const out = fs.openSync(`${file}.tmp`, 'w');
  fs.writeSync(out, `${Array.from({ length: FEATURES }, (_, j) => `f${j}`).join(',')},plan,label\n`);
  let lines: string[] = [];
  for (let i = 0; i < rows; i++) {
    const x = Array.from({ length: FEATURES }, () => rng() * 2 - 1);
    const plan = Math.floor(rng() * plans.length);
    const z = x.reduce((s, v, j) => s + v * weights[j], 0) + (plan - 1.5) * 0.3;
    const label = rng() < 1 / (1 + Math.exp(-2 * z)) ? 'yes' : 'no';
    lines.push(`${x.map((v) => v.toFixed(5)).join(',')},${plans[plan]},${label}`);
    if (lines.length === 50_000) { fs.writeSync(out, lines.join('\n') + '\n'); lines = []; }
  }
  if (lines.length) fs.writeSync(out, lines.join('\n') + '\n');
  fs.closeSync(out);
  fs.renameSync(`${file}.tmp`, file);
}

async function main(): Promise<void> {
  const rows = Number(process.argv[2] ?? 10_000_000);
  const kinds = (process.argv[3] ?? 'logistic,gbdt').split(',');
  const file = path.join(os.tmpdir(), `mlops-bench-${rows}x30.csv`);
  let t = Date.now();
  makeData(file, rows);
  console.log(`data: ${rows} rows x ${FEATURES + 2} columns, ${(fs.statSync(file).size / 2 ** 30).toFixed(2)} GiB (${((Date.now() - t) / 1000).toFixed(0)} s to make or find)`);
  const [killStage, killAfter] = (process.env.TEN_MILLION_KILL ?? '').split(':');
  const { api, close, killWorker, workerPeakRss } = await startEmbeddedStack({ MLOPS_DATA_ROOTS: os.tmpdir() }, Boolean(killStage));
  console.log(`embedded stack up (${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB)`);
  try {
    for (const kind of kinds) {
      const model = `ten-million-${kind}`;
      t = Date.now();
      const trainer = kind === 'gbdt' ? { kind, params: { maxIter: 100 } } : { kind };
      const { id } = await api.post<{ id: string }>('/v1/pipelines', { model, data: { uri: file }, target: 'label', trainer, approval: { mode: 'auto' } });
      const stages: Record<string, number> = {};
      let status: { state: string; stage: string; metrics?: Record<string, number>; error?: string } = { state: 'running', stage: 'ingest' };
      let stage = '';
      let entered = Date.now();
      let unanswered = 0;
      const peaks: number[] = [];
      let peak = 0;
      let killed = !killStage;
      while (!['deployed', 'rejected', 'failed'].includes(status.state)) {
        // the API shares this process with the worker: while a stage works on 10M rows on the main thread
        // (the canonical digest, statistics) a status request may go unanswered; count those and ask again
        try {
          status = await api.get(`/v1/pipelines/${id}`);
        } catch {
          unanswered++;
          await new Promise((r) => setTimeout(r, 2000));
          continue;
        }
        if (status.stage !== stage) {
          if (stage) stages[stage] = (Date.now() - entered) / 1000;
          stage = status.stage;
          entered = Date.now();
        }
        peak = workerPeakRss() ?? peak;
        if (!killed && stage === killStage && Date.now() - entered >= Number(killAfter) * 1000) {
          killed = true;
          peaks.push(peak);
          await killWorker();
          console.log(`${kind}: worker killed (SIGKILL) ${killAfter} s into ${stage}, a new one started`);
        }
        await new Promise((r) => setTimeout(r, 500));
      }
      const total = (Date.now() - t) / 1000;
      if (status.state !== 'deployed') throw new Error(`${model}: ${status.state}: ${status.error ?? ''}`);
      const instance = { ...Object.fromEntries(Array.from({ length: FEATURES }, (_, j) => [`f${j}`, 0.1])), plan: 'pro' };
      await api.post(`/v1/models/${model}/predict`, { instances: [instance] });
      const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(1)} GiB`;
      const memory = killStage ? `worker peak RSS ${[...peaks, peak].map(gib).join(' then ')}` : `peak RSS so far ${gib(process.resourceUsage().maxRSS * 1024)}`;
      console.log(`${kind}: deployed in ${total.toFixed(0)} s (auc ${status.metrics?.auc?.toFixed(4)}); stages: ${Object.entries(stages).map(([s, sec]) => `${s} ${sec.toFixed(0)} s`).join(', ')}; ${memory}; status requests unanswered ${unanswered}`);
      if (killStage) {
        const detail = await api.get<{ versions: unknown[]; deployments?: unknown[] }>(`/v1/models/${model}`);
        const { deployments } = await api.get<{ deployments: unknown[] }>(`/v1/models/${model}/deployments`);
        console.log(`${kind}: after the kill: ${detail.versions.length} model version(s), ${deployments.length} deployment(s)`);
        if (detail.versions.length !== 1 || deployments.length !== 1) throw new Error(`${model}: a killed worker left ${detail.versions.length} versions and ${deployments.length} deployments`);
      }
    }
  } finally {
    await close();
  }
}

main().catch((err) => { console.error(err); process.exitCode = 1; });
