import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { scoreOnnx, targetSplit } from '../src/activities/pipeline';
import { parseCsv } from '../src/ml/csv';
import { binEdges, fitGbdt, predictGbdt, trainGbdt } from '../src/ml/gbdt';
import { chunksRunByHelpers, kernelMemory } from '../src/ml/gbdt-threads';
import { binaryMetrics, multiclassMetrics, regressionMetrics } from '../src/ml/metrics';
import { exportGbdtToOnnx } from '../src/ml/onnx-export';
import { prepareData } from '../src/ml/prepare';
import { createRng } from '../src/ml/random';
import { applyRecipe } from '../src/ml/recipe';
import { tableFeeds } from '../src/serving/feeds';
import { createSession, runClassifier, runRegressor } from '../src/serving/onnx-runner';

const read = (name: string) => parseCsv(fs.readFileSync(path.join(__dirname, '..', 'datasets', name), 'utf8'));
const iris = read('iris.csv');
const cancer = read('breast-cancer-wisconsin.csv');
const irisFeatures = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];
const cancerFeatures = cancer.columns.filter((c) => c.name !== 'diagnosis').map((c) => c.name);

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance = 1e-5) {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(actual[i] - expected[i]) <= tolerance * Math.max(1, Math.abs(expected[i])), `cell ${i}: ${actual[i]} vs ${expected[i]}`);
}

describe('gradient-boosted trees', () => {
  it('cuts features into float32 bin edges, one per gap between distinct values', () => {
    const edges = binEdges(Float64Array.from([3, 1, 2, 2, 1, 3]), 255, createRng(1));
    assert.deepEqual(Array.from(edges), [1.5, 2.5]);
    const many = binEdges(Float64Array.from({ length: 10_000 }, (_, i) => i * 0.1), 16, createRng(1));
    assert.ok(many.length <= 15 && many.length >= 10);
    for (let i = 1; i < many.length; i++) assert.ok(many[i] > many[i - 1]);
    assert.ok(Array.from(many).every((e) => Math.fround(e) === e));
    assert.equal(binEdges(Float64Array.from([7, 7, 7]), 255, createRng(1)).length, 0);
  });

  it('learns an interaction that no linear model can (XOR of two signs)', () => {
    const rng = createRng(3);
    const n = 4000;
    const a = Float64Array.from({ length: n }, () => rng() * 2 - 1);
    const b = Float64Array.from({ length: n }, () => rng() * 2 - 1);
    const label = Float64Array.from({ length: n }, (_, i) => (a[i] * b[i] > 0 ? 1 : 0));
    const table = { rowCount: n, columns: [{ name: 'a', kind: 'number' as const, values: a }, { name: 'b', kind: 'number' as const, values: b }, { name: 'y', kind: 'number' as const, values: label }] };
    const d = prepareData(table, { target: 'y', numeric: ['a', 'b'], task: 'binary', seed: 3 });
    const { model } = trainGbdt(d.x.train, d.y.train, d.x.validation, d.y.validation, { features: d.features, classes: d.classes, l2Grid: [1] });
    const probs = predictGbdt(model, d.x.test);
    const auc = binaryMetrics(d.y.test, Float64Array.from({ length: d.y.test.length }, (_, i) => probs[i * 2 + 1])).auc;
    assert.ok(auc > 0.98, `AUC ${auc}`);
    assert.ok(model.rounds > 5 && model.trees.length === model.rounds);
  });

  it('classifies breast cancer, repeats exactly, and the ONNX TreeEnsemble agrees to 1e-5', async () => {
    const d = prepareData(cancer, { target: 'diagnosis', numeric: cancerFeatures, task: 'binary', seed: 2 });
    const train = () => trainGbdt(d.x.train, d.y.train, d.x.validation, d.y.validation, { features: d.features, classes: d.classes, l2Grid: [0.1, 1], minSamplesLeaf: 10 });
    const { model, search } = train();
    assert.equal(search.length, 2);
    assert.deepEqual(train().model, model);
    const probs = predictGbdt(model, d.x.test);
    const auc = binaryMetrics(d.y.test, Float64Array.from({ length: d.y.test.length }, (_, i) => probs[i * 2 + 1])).auc;
    assert.ok(auc > 0.97, `AUC ${auc}`);
    const session = await createSession(exportGbdtToOnnx(d.recipe, model));
    const { probabilities } = await runClassifier(session, tableFeeds({ numeric: cancerFeatures, categorical: [] }, cancer, d.split.test));
    assertClose(probabilities, probs);
    await session.release();
  });

  it('is evaluated in runs of rows exactly as in one run (a long evaluation gives the event loop turns)', async () => {
    const d = prepareData(cancer, { target: 'diagnosis', numeric: cancerFeatures, task: 'binary', seed: 2 });
    const { model } = trainGbdt(d.x.train, d.y.train, d.x.validation, d.y.validation, { features: d.features, classes: d.classes, l2Grid: [1] });
    const onnx = exportGbdtToOnnx(d.recipe, model);
    const data = targetSplit(cancer, { datasetId: 'cancer', target: 'diagnosis', features: cancerFeatures, numeric: cancerFeatures, task: 'binary', seed: 2 });
    const layout = { numeric: cancerFeatures, categorical: [] };
    const whole = await scoreOnnx(onnx, layout, cancer, data);
    const inRuns = await scoreOnnx(onnx, layout, cancer, data, [], undefined, 17);
    assert.ok(data.split.test.length > 3 * 17, 'several runs, the last one short');
    assert.deepEqual(inRuns.scored, whole.scored);
    assert.deepEqual(inRuns.metrics, whole.metrics);
  });

  it('classifies iris with one tree per class per round, through the ONNX graph too', async () => {
    const d = prepareData(iris, { target: 'species', numeric: irisFeatures, task: 'multiclass', seed: 5 });
    const model = fitGbdt(d.x.train, d.y.train, d.x.validation, d.y.validation, { features: d.features, classes: d.classes, l2: 1, minSamplesLeaf: 5 });
    assert.equal(model.trees.length, model.rounds * 3);
    const expected = predictGbdt(model, applyRecipe(d.recipe, iris, d.split.test));
    assert.ok(multiclassMetrics(d.y.test, expected, 3).accuracy > 0.85);
    const session = await createSession(exportGbdtToOnnx(d.recipe, model));
    const { probabilities } = await runClassifier(session, tableFeeds({ numeric: irisFeatures, categorical: [] }, iris, d.split.test));
    assertClose(probabilities, expected);
    await session.release();
  });

  it('regresses with a categorical feature, missing values and a derived feature, through the ONNX graph too', async () => {
    const numeric = ['sepal_length', 'sepal_width', 'petal_length'];
    const recipe = { derive: ['area = sepal_length * sepal_width'], impute: 'median' as const };
    const withGaps = parseCsv(fs.readFileSync(path.join(__dirname, '..', 'datasets', 'iris.csv'), 'utf8').replace(/\n5\.1,/g, '\n,'));
    const d = prepareData(withGaps, { target: 'petal_width', numeric, categorical: ['species'], task: 'regression', seed: 1, recipe });
    const model = fitGbdt(d.x.train, d.y.train, d.x.validation, d.y.validation, { features: d.features, classes: [], l2: 1, minSamplesLeaf: 5 });
    const predicted = predictGbdt(model, d.x.test);
    assert.ok(regressionMetrics(d.y.test, predicted).r2 > 0.85);
    const session = await createSession(exportGbdtToOnnx(d.recipe, model));
    const actual = await runRegressor(session, tableFeeds({ numeric, categorical: ['species'] }, withGaps, d.split.test));
    assertClose(actual, predicted);
    await session.release();
  });

  it('grows the same trees bit for bit on one thread and on helper threads (binary and regression)', () => {
    // 80,000 rows x 4 features: the root's and the first children's histograms are built by row chunks
    // (past 256 KiB of bin codes), smaller leaves' by feature; partitions and gradients by row
    const rng = createRng(8);
    const n = 80_000;
    const cols = [0, 1, 2, 3].map(() => Float64Array.from({ length: n }, () => rng() * 2 - 1));
    const score = Float64Array.from({ length: n }, (_, i) => Math.sin(3 * cols[0][i]) + cols[1][i] * cols[2][i] + 0.3 * cols[3][i]);
    const label = Float64Array.from(score, (t) => (rng() < 1 / (1 + Math.exp(-2 * t)) ? 1 : 0));
    const none = { rows: 0, cols: 4, data: new Float64Array(0) };
    const features = ['a', 'b', 'c', 'd'];
    for (const [classes, y] of [[['0', '1'], label], [[], score]] as const) {
      const fit = (threads: number) => fitGbdt(cols, y, none, new Float64Array(0), { features, classes: [...classes], l2: 1, maxIter: 15, threads });
      const one = fit(1);
      const helped = chunksRunByHelpers();
      const two = fit(2);
      assert.ok(chunksRunByHelpers() > helped, 'the helper thread ran chunks');
      assert.equal(one.trees.length, 15);
      assert.ok(one.trees.every((t) => t.feature.filter((f) => f >= 0).length === 30), 'every tree grew its 31 leaves');
      assert.deepEqual(two, one);
    }
  });

  it('lays a fit out in one WebAssembly memory, and refuses one past 4 GiB before allocating it', () => {
    const memory = kernelMemory(1000, 3, 1, 31);
    const views = [memory.bins, memory.columns, memory.gh, memory.order, memory.scratch, memory.spare, memory.raw, memory.y, memory.rootCounts, memory.hists, memory.slots, memory.edges, memory.edgeCounts, memory.splits, memory.result];
    assert.ok(views.every((v) => v.buffer === memory.memory.buffer && v.byteOffset >= 65_536 && v.byteOffset % 8 === 0), 'every array after the first page, 8-byte aligned');
    const spans = views.map((v) => [v.byteOffset, v.byteOffset + v.byteLength]).sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < spans.length; i++) assert.ok(spans[i][0] >= spans[i - 1][1], 'no two arrays overlap');
    assert.throws(() => kernelMemory(20_000_000, 100, 1, 31), /20000000 rows x 100 features need 4\.\d GiB of working memory; the most is 4 GiB/);
  });
});
