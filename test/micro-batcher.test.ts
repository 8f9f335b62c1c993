/**
 * Micro-batching on a real ONNX session: a logistic model with a numeric and a text feature, so both
 * kinds of tensor are joined. Each request must get exactly the outputs it would get alone.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { trainLogistic } from '../src/ml/logistic';
import { exportLogisticToOnnx } from '../src/ml/onnx-export';
import { prepareData } from '../src/ml/prepare';
import type { InputLayout } from '../src/serving/feeds';
import type { Inputs } from '../src/serving/instances';
import { MicroBatcher, MicroBatchOptions, Outputs } from '../src/serving/micro-batcher';
import { createSession, runClassifier, Session } from '../src/serving/onnx-runner';
import { syntheticLogistic, syntheticWithPlan } from './helpers/synthetic';

const layout: InputLayout = { numeric: ['x2', 'x3'], categorical: ['plan'] };
const PLANS = ['basic', 'pro', 'team', 'never-seen', ''];

/** `rows` rows of made-up inputs, different for every `seed`. */
function inputsOf(rows: number, seed: number): Inputs {
  const numeric = Float32Array.from({ length: rows * 2 }, (_, i) => Math.sin(seed * 7.1 + i * 1.3) * 2);
  return { layout, rows, numeric, categorical: [Array.from({ length: rows }, (_, i) => PLANS[(seed + i) % PLANS.length])] };
}

describe('micro-batching', () => {
  let session: Session;
  const runs: number[] = [];
  const batcher = (o: MicroBatchOptions, s = () => session) => new MicroBatcher(async (feeds) => {
    const { probabilities, classes } = await runClassifier(s(), feeds);
    return { values: probabilities, width: classes };
  }, o, (rows) => runs.push(rows));

  before(async () => {
    const { table } = syntheticWithPlan({ rows: 2_000, seed: 5 });
    const d = prepareData(table, { target: 'label', numeric: ['x2', 'x3'], categorical: ['plan'], task: 'binary', seed: 2 });
    const { model } = trainLogistic(d.x.train, d.y.train, d.x.validation, d.y.validation, { features: d.features, classes: d.classes as [string, string], l2Grid: [1e-3] });
    session = await createSession(exportLogisticToOnnx(d.recipe, model));
  });
  after(async () => { await session.release(); });

  it('joins requests that arrive in one event-loop turn into one run, and gives each exactly its own rows', async () => {
    const requests = Array.from({ length: 12 }, (_, i) => inputsOf(1 + (i % 3), i));
    const alone: Outputs[] = [];
    for (const r of requests) alone.push(await batcher({ windowMs: 0, maxRows: 1 }).run(r));
    const b = batcher({ windowMs: 0, maxRows: 256 });
    runs.length = 0;
    const together = await Promise.all(requests.map((r) => b.run(r)));
    assert.deepEqual(runs, [requests.reduce((n, r) => n + r.rows, 0)], 'one run for all of them');
    together.forEach((t, i) => {
      assert.equal(t.width, 2);
      assert.equal(t.values.length, requests[i].rows * 2);
      assert.deepEqual(Array.from(t.values), Array.from(alone[i].values), `request ${i} gets what it gets alone`);
    });
  });
  it('with a window, a request arriving within it joins; one arriving after it starts the next run', async () => {
    const b = batcher({ windowMs: 40, maxRows: 256 });
    runs.length = 0;
    const first = b.run(inputsOf(1, 1));
    await new Promise((r) => setTimeout(r, 10));
    const second = b.run(inputsOf(2, 2));
    await Promise.all([first, second]);
    assert.deepEqual(runs, [3]);
    await b.run(inputsOf(1, 3));
    assert.deepEqual(runs, [3, 1]);
  });

  it('closes a batch when the next request would overflow it; a request as large as a batch runs alone', async () => {
    const b = batcher({ windowMs: 0, maxRows: 4 });
    runs.length = 0;
    const answers = await Promise.all([b.run(inputsOf(2, 1)), b.run(inputsOf(2, 2)), b.run(inputsOf(2, 3)), b.run(inputsOf(5, 4))]);
    assert.deepEqual(runs.sort((a, b) => a - b), [2, 4, 5]);
    assert.deepEqual(answers.map((a) => a.values.length / a.width), [2, 2, 2, 5]);
  });

  it('a failed run fails every request in it, a malformed one fails alone, and the next batch runs', async () => {
    let current = session;
    const b = batcher({ windowMs: 0, maxRows: 256 }, () => current);
    const gone = await createSession(exportLogisticToOnnxOf());
    await gone.release();
    current = gone;
    const failed = await Promise.allSettled([b.run(inputsOf(1, 1)), b.run(inputsOf(1, 2))]);
    assert.deepEqual(failed.map((f) => f.status), ['rejected', 'rejected']);
    current = session;
    // a request whose arrays do not match its row count cannot become a tensor: its batch fails, nothing else
    const malformed = { ...inputsOf(2, 1), rows: 3 };
    const mixed = await Promise.allSettled([b.run(malformed), b.run(inputsOf(1, 2))]);
    assert.deepEqual(mixed.map((f) => f.status), ['rejected', 'rejected']);
    const after = await Promise.all([b.run(inputsOf(1, 3)), b.run(inputsOf(2, 4))]);
    assert.deepEqual(after.map((a) => a.values.length), [2, 4]);
  });
});

/** A second, throwaway model's bytes. */
function exportLogisticToOnnxOf(): Uint8Array {
  const { table, features } = syntheticLogistic({ rows: 300, weights: [1, -1], bias: 0, seed: 3 });
  const d = prepareData(table, { target: 'label', numeric: features, task: 'binary', seed: 1 });
  const { model } = trainLogistic(d.x.train, d.y.train, d.x.validation, d.y.validation, { features, classes: d.classes as [string, string], l2Grid: [0.01] });
  return exportLogisticToOnnx(d.recipe, model);
}
