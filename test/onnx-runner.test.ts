/**
 * Our sessions use onnxruntime-node's native session directly (src/serving/onnx-runner.ts). These tests
 * hold that path to the package's public InferenceSession, so an upgrade of the pinned package that
 * changes the native object fails here, not in serving.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { trainLogistic } from '../src/ml/logistic';
import { exportLogisticToOnnx, exportRidgeToOnnx, OUTPUT_NAME, REGRESSION_OUTPUT } from '../src/ml/onnx-export';
import { prepareData } from '../src/ml/prepare';
import { trainRidge } from '../src/ml/ridge';
import { feedsFor, InputLayout } from '../src/serving/feeds';
import { createSession, runClassifier, runRegressor, SESSION_OPTIONS } from '../src/serving/onnx-runner';
import { syntheticWithPlan } from './helpers/synthetic';

const layout: InputLayout = { numeric: ['x2', 'x3'], categorical: ['plan'] };
const PLANS = ['basic', 'pro', 'team', 'never-seen', ''];

/** Feeds of `rows` made-up rows, with a missing value and an unseen category among them. */
function feedsOf(rows: number) {
  const numeric = Float32Array.from({ length: rows * 2 }, (_, i) => (i === 3 ? NaN : Math.sin(i * 1.7) * 2));
  return feedsFor(layout, rows, numeric, [Array.from({ length: rows }, (_, i) => PLANS[i % PLANS.length])]);
}

describe('ONNX sessions', () => {
  let classifier: Uint8Array;
  let regressor: Uint8Array;

  before(() => {
    const { table } = syntheticWithPlan({ rows: 1_000, seed: 9 });
    const d = prepareData(table, { target: 'label', numeric: ['x2', 'x3'], categorical: ['plan'], task: 'binary', seed: 3 });
    const { model } = trainLogistic(d.x.train, d.y.train, d.x.validation, d.y.validation, { features: d.features, classes: d.classes as [string, string], l2Grid: [1e-3] });
    classifier = exportLogisticToOnnx(d.recipe, model);
    const r = prepareData(table, { target: 'x1', numeric: ['x2', 'x3'], categorical: ['plan'], task: 'regression', seed: 3 });
    regressor = exportRidgeToOnnx(r.recipe, trainRidge(r.x.train, r.y.train, r.x.validation, r.y.validation, { features: r.features, l2Grid: [1e-2] }).model);
  });

  it('answer exactly as onnxruntime-node\'s public InferenceSession does', async () => {
    for (const rows of [1, 7, 300]) {
      const ours = await createSession(classifier);
      const theirs = await ort.InferenceSession.create(classifier, SESSION_OPTIONS);
      const got = await runClassifier(ours, feedsOf(rows));
      const want = (await theirs.run(feedsOf(rows)))[OUTPUT_NAME];
      assert.deepEqual(Array.from(got.probabilities), Array.from(want.data as Float32Array));
      assert.equal(got.classes, Number(want.dims[1]));
      assert.equal(got.probabilities.length, rows * 2);
      await ours.release();
      await theirs.release();
    }
    const ours = await createSession(regressor);
    const theirs = await ort.InferenceSession.create(regressor, SESSION_OPTIONS);
    const got = await runRegressor(ours, feedsOf(50));
    const want = (await theirs.run(feedsOf(50)))[REGRESSION_OUTPUT].data as Float32Array;
    assert.deepEqual(Array.from(got), Array.from(want));
    assert.ok(got.some((v) => v !== got[0]), 'the regressor answers differently for different rows');
    await ours.release();
    await theirs.release();
  });

  it('answer within the caller\'s turn of the event loop', async () => {
    const session = await createSession(classifier);
    let turnEnded = false;
    setImmediate(() => { turnEnded = true; });
    const { probabilities } = await runClassifier(session, feedsOf(4));
    assert.equal(turnEnded, false, 'the run waited for a later event-loop turn');
    assert.equal(probabilities.length, 8);
    await session.release();
  });

  it('refuse what they cannot run, with a clear error', async () => {
    await assert.rejects(createSession(Uint8Array.from([1, 2, 3, 4])), /protobuf|parse|load/i);
    const session = await createSession(classifier);
    const { categorical_0: _dropped, ...partial } = feedsOf(2) as Record<string, ort.Tensor>;
    assert.equal(_dropped instanceof ort.Tensor, true);
    await assert.rejects(runClassifier(session, partial), /input 'categorical_0' is missing/);
    await session.release();
    await session.release(); // twice is harmless
    await assert.rejects(runClassifier(session, feedsOf(2)), /released/);
  });
});
