import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseCsv } from '../src/ml/csv';
import { binaryMetrics, multiclassMetrics, regressionMetrics } from '../src/ml/metrics';
import { predictMlp, trainMlp } from '../src/ml/mlp';
import { exportMlpToOnnx } from '../src/ml/onnx-export';
import { prepareData } from '../src/ml/prepare';
import { applyRecipe } from '../src/ml/recipe';
import { tableFeeds } from '../src/serving/feeds';
import { createSession, runClassifier, runRegressor } from '../src/serving/onnx-runner';

const read = (name: string) => parseCsv(fs.readFileSync(path.join(__dirname, '..', 'datasets', name), 'utf8'));
const iris = read('iris.csv');
const cancer = read('breast-cancer-wisconsin.csv');
const irisFeatures = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];
const cancerFeatures = cancer.columns.filter((c) => c.name !== 'diagnosis').map((c) => c.name);

describe('multilayer perceptron', () => {
  it('learns iris (two hidden layers) and the ONNX graph agrees to 1e-5', async () => {
    const d = prepareData(iris, { target: 'species', numeric: irisFeatures, task: 'multiclass', seed: 5 });
    const { model } = trainMlp(d.x.train, d.y.train, d.x.validation, d.y.validation, { features: d.features, classes: d.classes, l2Grid: [1e-4], hidden: [16, 8], epochs: 300, seed: 5 });
    assert.ok(multiclassMetrics(d.y.test, predictMlp(model, d.x.test), 3).accuracy > 0.85);
    const session = await createSession(exportMlpToOnnx(d.recipe, model));
    const rows = d.split.test;
    const expected = predictMlp(model, applyRecipe(d.recipe, iris, rows));
    const { probabilities } = await runClassifier(session, tableFeeds({ numeric: irisFeatures, categorical: [] }, iris, rows));
    for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(probabilities[i] - expected[i]) < 1e-5, `cell ${i}`);
    await session.release();
  });

  it('classifies two classes through a two-way softmax', async () => {
    const d = prepareData(cancer, { target: 'diagnosis', numeric: cancerFeatures, task: 'binary', seed: 2 });
    const { model, search } = trainMlp(d.x.train, d.y.train, d.x.validation, d.y.validation, { features: d.features, classes: d.classes, l2Grid: [1e-3, 1e-2], hidden: [16], seed: 2 });
    assert.equal(search.length, 2);
    const probs = predictMlp(model, d.x.test);
    assert.ok(binaryMetrics(d.y.test, Float64Array.from({ length: d.y.test.length }, (_, i) => probs[i * 2 + 1])).auc > 0.97);
    const session = await createSession(exportMlpToOnnx(d.recipe, model));
    const { probabilities } = await runClassifier(session, tableFeeds({ numeric: cancerFeatures, categorical: [] }, cancer, d.split.test));
    for (let i = 0; i < probs.length; i++) assert.ok(Math.abs(probabilities[i] - probs[i]) < 1e-5, `cell ${i}`);
    await session.release();
  });

  it('regresses with a linear output, and repeats exactly for a seed', async () => {
    const numeric = ['sepal_length', 'sepal_width', 'petal_length'];
    const d = prepareData(iris, { target: 'petal_width', numeric, categorical: ['species'], task: 'regression', seed: 1 });
    const train = () => trainMlp(d.x.train, d.y.train, d.x.validation, d.y.validation, { features: d.features, classes: [], l2Grid: [1e-4], hidden: [8], seed: 1 }).model;
    const model = train();
    assert.deepEqual(train(), model);
    const predicted = predictMlp(model, d.x.test);
    assert.ok(regressionMetrics(d.y.test, predicted).r2 > 0.85);
    const session = await createSession(exportMlpToOnnx(d.recipe, model));
    const actual = await runRegressor(session, tableFeeds({ numeric, categorical: ['species'] }, iris, d.split.test));
    for (let i = 0; i < predicted.length; i++) assert.ok(Math.abs(actual[i] - predicted[i]) <= 1e-5 * Math.max(1, Math.abs(predicted[i])), `row ${i}`);
    await session.release();
  });
});
