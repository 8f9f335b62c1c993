/**
 * What running training code as a registered trainer adds to its training time: LightGBM
 * (examples/trainers/lightgbm/train.py) on 200,000 rows x 10 numeric columns, once through the
 * platform's trainer activity (the dataset read from the artifact store, split, written as train.csv and
 * validation.csv, the process group run and watched, its log and model stored) and once as the same
 * script run directly by Python on the same input files. The two take turns.
 *
 *   PYTHONPATH=<a folder with lightgbm, onnxmltools, pandas> node --import tsx bench/custom_trainer.ts
 *
 * The tests install such a folder under .cache/tools/onnx-export/base-*; BENCH_TURNS (default 3) and
 * BENCH_ROWS (default 200000) change the run. The activity runs in Temporal's MockActivityEnvironment
 * with the store's two reads (the trainer's registration, the dataset's columns) answered in memory: the
 * figures are the activity's own work, not a database's.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createCustomTrainingActivities } from '../src/activities/custom-training';
import { toCanonicalCsv } from '../src/ml/csv';
import { createRng } from '../src/common/random';
import { LocalArtifactStore } from '../src/store/artifacts';
import type { Repositories } from '../src/store/repositories';
import type { Trainer } from '../src/store/trainers';
import type { Table } from '../src/ml/table';

const ROOT = path.join(__dirname, '..');
const SCRIPT = path.join(ROOT, 'examples', 'trainers', 'lightgbm', 'train.py');
const ROWS = Number(process.env.BENCH_ROWS ?? 200_000);
const TURNS = Number(process.env.BENCH_TURNS ?? 3);
const COLUMNS = 10;

/** A seeded binary problem: ten normal features, a label from a noisy linear score. */
function syntheticTable(): Table {
  const rng = createRng(20261205);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  const columns = Array.from({ length: COLUMNS }, () => new Float64Array(ROWS));
  const labels = new Int32Array(ROWS);
  for (let r = 0; r < ROWS; r++) {
    let score = 0;
    for (let c = 0; c < COLUMNS; c++) { columns[c][r] = Math.round(normal() * 1e4) / 1e4; score += (c % 3 === 0 ? 1 : -0.5) * columns[c][r]; }
    labels[r] = score + normal() > 0 ? 1 : 0;
  }
  return {
    rowCount: ROWS,
    columns: [
      ...columns.map((values, c) => ({ name: `x${c}`, kind: 'number' as const, values })),
      { name: 'label', kind: 'string' as const, codes: labels, dictionary: ['no', 'yes'] },
    ],
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  if (!process.env.PYTHONPATH) throw new Error('set PYTHONPATH to a folder with lightgbm, onnxmltools and pandas (see the header)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-trainer-'));
  try {
    const artifacts = new LocalArtifactStore(path.join(dir, 'artifacts'));
    const table = syntheticTable();
    const datasetId = await artifacts.put(Buffer.from(toCanonicalCsv(table)));
    const columns = table.columns.map((c) => ({ name: c.name, type: c.kind }));
    const inputs = path.join(dir, 'inputs');
    const trainer = (command: string[]): Trainer => ({ name: 'lightgbm', command, workdir: null, env: { PYTHONPATH: process.env.PYTHONPATH!, PYTHONDONTWRITEBYTECODE: '1' }, timeoutSeconds: 3600, createdBy: 'bench', createdAt: '', updatedAt: '' });
    let registered = trainer(['sh', '-c', `cp -r "$MLOPS_INPUT_DIR" ${JSON.stringify(inputs)}`]);
    const repos = { trainers: { getTrainer: async () => registered }, datasets: { getDataset: async () => ({ id: datasetId, columns }) } } as unknown as Repositories;
    const activities = createCustomTrainingActivities({ repos, artifacts });
    const input = { trainer: 'lightgbm', params: { n_estimators: 100 }, datasetId, target: 'label', task: 'binary' as const, seed: 42, runId: 'bench' };
    const env = new MockActivityEnvironment();
    // once to keep the exact files the platform writes: the direct runs read those
    await env.run(activities.trainWithTrainer, input).catch(() => undefined);
    registered = trainer(['python3', SCRIPT]);
    const direct = (): number => {
      const out = path.join(dir, 'direct-out');
      fs.rmSync(out, { recursive: true, force: true });
      fs.mkdirSync(out);
      const started = performance.now();
      const run = spawnSync('python3', [SCRIPT], { env: { PATH: process.env.PATH, PYTHONPATH: process.env.PYTHONPATH, PYTHONDONTWRITEBYTECODE: '1', MLOPS_INPUT_DIR: inputs, MLOPS_OUTPUT_DIR: out }, encoding: 'utf8' });
      if (run.status !== 0) throw new Error(`the direct run failed: ${run.stderr}`);
      return (performance.now() - started) / 1000;
    };
    const platform = async (): Promise<number> => {
      const started = performance.now();
      await env.run(activities.trainWithTrainer, input);
      return (performance.now() - started) / 1000;
    };
    // the activity around a trainer that does nothing (it fails for want of a model, after all the rest):
    // what the platform itself costs, apart from the trainer's run
    const overhead = async (): Promise<number> => {
      const saved = registered;
      registered = trainer(['true']);
      const started = performance.now();
      await env.run(activities.trainWithTrainer, input).catch(() => undefined);
      registered = saved;
      return (performance.now() - started) / 1000;
    };
    const times = { direct: [] as number[], platform: [] as number[], overhead: [] as number[] };
    for (let turn = 0; turn < TURNS; turn++) {
      times.direct.push(direct());
      times.platform.push(await platform());
      times.overhead.push(await overhead());
      process.stdout.write(`turn ${turn + 1}: direct ${times.direct[turn].toFixed(2)} s, platform ${times.platform[turn].toFixed(2)} s, platform around a no-op trainer ${times.overhead[turn].toFixed(2)} s\n`);
    }
    const ratio = median(times.platform) / median(times.direct);
    process.stdout.write(`${ROWS} rows x ${COLUMNS} columns, ${TURNS} turns, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}\n`);
    process.stdout.write(`median direct ${median(times.direct).toFixed(2)} s, platform ${median(times.platform).toFixed(2)} s, platform / direct ${ratio.toFixed(3)} (+${((ratio - 1) * 100).toFixed(1)}%)\n`);
    process.stdout.write(`median platform around a no-op trainer ${median(times.overhead).toFixed(2)} s = ${((median(times.overhead) / median(times.direct)) * 100).toFixed(1)}% of the direct training time\n`);
    process.stdout.write(`python ${execFileSync('python3', ['--version'], { encoding: 'utf8' }).trim()}, node ${process.version}\n`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
