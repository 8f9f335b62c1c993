/**
 * Per-slice evaluation metrics: each slice's metrics equal the metrics computed on that slice's rows
 * alone (binary, multi-class, regression), and the evaluation activity heartbeats after every slice.
 * Speed is not asserted here: bench/slices.ts measures it (figures in bench/RESULTS.md).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createPipelineActivities } from '../src/activities';
import { binaryMetrics, multiclassMetrics, regressionMetrics } from '../src/ml/metrics';
import { createRng } from '../src/ml/random';
import { groupRows, ScoredRows, SliceColumn, sliceMetrics, SliceProgress } from '../src/ml/slices';
import { Task } from '../src/ml/task';
import { LocalArtifactStore } from '../src/store/artifacts';
import { createTestDatabase, TestDatabase } from './helpers/database';
import { testSources } from './helpers/sources';
import { createRepositories } from '../src/store/repositories';

/** Scored rows of a task with a text column (some values missing) and a numeric one to slice by. */
function scoredRows(task: Task, n: number, seed: number): { scored: ScoredRows; region: (string | null)[]; tier: number[] } {
  const rng = createRng(seed);
  const width = task === 'regression' ? 1 : task === 'binary' ? 2 : 4;
  const y = new Float64Array(n);
  const outputs = new Float32Array(n * width);
  const region: (string | null)[] = [];
  const tier: number[] = [];
  for (let i = 0; i < n; i++) {
    region.push(rng() < 0.1 ? null : ['north', 'south', 'east', 'West', 'é'][Math.floor(rng() * 5)]);
    tier.push([1, 2, 10, 2.5][Math.floor(rng() * 4)]);
    if (task === 'regression') {
      y[i] = rng() * 10;
      outputs[i] = y[i] + rng() - 0.5;
    } else {
      y[i] = Math.floor(rng() * width);
      let total = 0;
      for (let c = 0; c < width; c++) { outputs[i * width + c] = rng() + (c === y[i] ? 0.5 : 0); total += outputs[i * width + c]; }
      for (let c = 0; c < width; c++) outputs[i * width + c] /= total;
    }
  }
  return { scored: { y, outputs, width }, region, tier };
}

/** The metrics of the rows where `keep` holds, by filtering plain arrays and calling the metric functions directly. */
function subsetMetrics(task: Task, { y, outputs, width }: ScoredRows, keep: (i: number) => boolean): Record<string, number> {
  const rows = [...y.keys()].filter(keep);
  const numbers = (m: object) => Object.fromEntries(Object.entries(m).filter(([, v]) => typeof v === 'number'));
  const ys = rows.map((i) => y[i]);
  if (task === 'binary') return numbers(binaryMetrics(ys, rows.map((i) => outputs[i * 2 + 1])));
  if (task === 'regression') return numbers(regressionMetrics(ys, rows.map((i) => outputs[i])));
  return numbers(multiclassMetrics(ys, rows.flatMap((i) => [...outputs.subarray(i * width, (i + 1) * width)]), width));
}

describe('per-slice metrics', () => {
  it('groups positions by key, keys sorted, positions ascending, every position once', () => {
    const keys = ['b', 'a', 'b', 'c', 'a', 'b', 'B'];
    const groups = groupRows(keys.length, (i) => keys[i]);
    assert.deepEqual(groups.map((g) => [g.key, [...g.rows]]), [['B', [6]], ['a', [1, 4]], ['b', [0, 2, 5]], ['c', [3]]]);
    assert.deepEqual(groupRows(0, () => 'x'), []);
  });

  for (const task of ['binary', 'multiclass', 'regression'] as Task[]) {
    it(`gives each ${task} slice the metrics of its rows alone`, async () => {
      const { scored, region, tier } = scoredRows(task, 3_000, task.length);
      const columns: SliceColumn[] = [
        { name: 'region', keyOf: (i) => region[i] ?? '(missing)' },
        { name: 'tier', keyOf: (i) => String(tier[i]) },
      ];
      const progress: SliceProgress[] = [];
      const slices = await sliceMetrics(task, scored, columns, (p) => { progress.push(p); });

      const expected = [
        ...['(missing)', 'West', 'east', 'north', 'south', 'é'].map((value) => ({ column: 'region', value, keep: (i: number) => (region[i] ?? '(missing)') === value })),
        ...['1', '10', '2', '2.5'].map((value) => ({ column: 'tier', value, keep: (i: number) => String(tier[i]) === value })),
      ];
      assert.deepEqual(slices.map((s) => [s.column, s.value]), expected.map((e) => [e.column, e.value]));
      for (const [k, e] of expected.entries()) {
        const metrics = subsetMetrics(task, scored, e.keep);
        assert.ok(metrics.n > 0);
        assert.equal(slices[k].n, metrics.n, `${e.column}=${e.value}`);
        assert.deepEqual(slices[k].metrics, metrics, `${e.column}=${e.value}`);
      }
      assert.equal(slices.filter((s) => s.column === 'tier').reduce((sum, s) => sum + s.n, 0), scored.y.length);
      // one progress report after each slice, numbered within its column
      assert.deepEqual(progress.map((p) => [p.column, p.value, p.slice, p.slices]), slices.map((s, k) => [s.column, s.value, k < 6 ? k + 1 : k - 5, s.column === 'region' ? 6 : 4]));
    });
  }
});

describe('the evaluation activity while slicing', () => {
  let db: TestDatabase;
  let dir: string;
  before(async () => {
    db = await createTestDatabase();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-slices-'));
    const rng = createRng(7);
    const lines = ['x1,x2,plan,label'];
    for (let i = 0; i < 600; i++) {
      const x1 = rng() * 4 - 2, x2 = rng() * 4 - 2;
      const plan = ['basic', 'pro', 'team'][i % 3];
      lines.push(`${x1.toFixed(4)},${x2.toFixed(4)},${i % 17 === 0 ? '' : plan},${rng() < 1 / (1 + Math.exp(-(2 * x1 - x2))) ? 'yes' : 'no'}`);
    }
    fs.writeFileSync(path.join(dir, 'data.csv'), `${lines.join('\n')}\n`);
  });
  after(async () => {
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('heartbeats after every slice of every column, and reports the slices', async () => {
    const activities = createPipelineActivities({ pool: db.pool, repos: createRepositories(db.pool), artifacts: new LocalArtifactStore(path.join(dir, 'artifacts')), sources: testSources() });
    const env = new MockActivityEnvironment();
    const heartbeats: { phase?: string; column?: string; value?: string }[] = [];
    env.on('heartbeat', (d) => heartbeats.push(d as (typeof heartbeats)[number]));
    const { datasetId } = (await env.run(activities.ingestDataset, { uri: path.join(dir, 'data.csv') })) as { datasetId: string };
    const sliceBy = ['plan'];
    type Checked = Awaited<ReturnType<typeof activities.validateDataset>>;
    const checked = (await env.run(activities.validateDataset, { datasetId, target: 'label', features: ['x1', 'x2'], sliceBy })) as Checked;
    const spec = { datasetId, target: 'label', features: checked.features, numeric: checked.numeric, categorical: checked.categorical, task: checked.task, kind: 'logistic' as const, seed: 3 };
    const { onnxDigest } = (await env.run(activities.trainModel, { ...spec, l2Grid: [0.01] })) as { onnxDigest: string };

    heartbeats.length = 0;
    type Evaluation = Awaited<ReturnType<typeof activities.evaluateModel>>;
    const evaluation = (await env.run(activities.evaluateModel, { ...spec, modelName: 'sliced', onnxDigest, sliceBy })) as Evaluation;
    assert.deepEqual(evaluation.slices!.map((s) => s.value), ['(missing)', 'basic', 'pro', 'team']);
    assert.equal(evaluation.slices!.reduce((sum, s) => sum + s.n, 0), evaluation.metrics.n);
    const slicing = heartbeats.filter((h) => h.phase === 'slicing');
    assert.deepEqual(slicing.map((h) => [h.column, h.value]), evaluation.slices!.map((s) => [s.column, s.value]));
    // the slicing heartbeats come between scoring and profiling
    const phases = heartbeats.map((h) => h.phase);
    assert.ok(phases.indexOf('scoring') < phases.indexOf('slicing') && phases.lastIndexOf('slicing') < phases.indexOf('profiling'), phases.join(','));
  });
});
