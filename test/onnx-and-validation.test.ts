import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { onnx } from 'onnx-proto';
import { parseCsv } from '../src/ml/csv';
import { predictProba, trainLogistic } from '../src/ml/logistic';
import { exportLogisticToOnnx, exportRidgeToOnnx, exportSoftmaxToOnnx } from '../src/ml/onnx-export';
import { prepareData } from '../src/ml/prepare';
import { multiclassMetrics, regressionMetrics } from '../src/ml/metrics';
import { predictRidge, trainRidge } from '../src/ml/ridge';
import { predictSoftmax, trainSoftmax } from '../src/ml/softmax';
import { inferTask, orderedClasses } from '../src/ml/task';
import { validateForTraining, ValidationRules } from '../src/ml/validate';

/** Validation for binary classification by logistic regression. */
const validateBinary = (table: Table, rules: ValidationRules) => validateForTraining(table, { ...rules, kind: 'logistic' });
import { Matrix } from '../src/ml/features';
import { PreparedData } from '../src/ml/prepare';
import { applyRecipe, fitRecipe, RecipeSpec } from '../src/ml/recipe';
import { Column, Table } from '../src/ml/table';
import { Feeds, InputLayout, tableFeeds } from '../src/serving/feeds';
import { createSession, runClassifier, runRegressor, Session } from '../src/serving/onnx-runner';
import { syntheticLogistic } from './helpers/synthetic';

const DATASET = path.join(__dirname, '..', 'datasets', 'breast-cancer-wisconsin.csv');

/** A copy of a table with some cells missing and, in text columns, some categories never seen in training. */
function damaged(table: Table): Table {
  return {
    rowCount: table.rowCount,
    columns: table.columns.map((c): Column => c.kind === 'number'
      ? { ...c, values: c.values.map((v, i) => (i % 7 === 0 ? NaN : v)) }
      : { ...c, dictionary: [...c.dictionary, 'never-seen'], codes: c.codes.map((code, i) => (i % 7 === 0 ? -1 : i % 11 === 0 ? c.dictionary.length : code)) }),
  };
}

/** ONNX on raw table rows (as serving feeds them) against the TypeScript model on recipe-applied rows. */
async function assertParity(table: Table, d: PreparedData, layout: InputLayout, bytes: Uint8Array, ts: (x: Matrix) => ArrayLike<number>, onnxRun: (s: Session, f: Feeds) => Promise<ArrayLike<number>>, relative = false) {
  const session = await createSession(bytes);
  try {
    for (const t of [table, damaged(table)]) {
      for (const rows of [d.split.train, d.split.validation, d.split.test]) {
        const expected = ts(applyRecipe(d.recipe, t, rows));
        const actual = await onnxRun(session, tableFeeds(layout, t, rows));
        assert.equal(actual.length, expected.length);
        for (let i = 0; i < expected.length; i++) {
          const tolerance = 1e-5 * (relative ? Math.max(1, Math.abs(expected[i])) : 1);
          assert.ok(Math.abs(actual[i] - expected[i]) <= tolerance, `cell ${i}: onnx ${actual[i]} vs ts ${expected[i]}`);
        }
      }
    }
  } finally {
    await session.release();
  }
}

const positive = async (s: Session, f: Feeds) => { const r = await runClassifier(s, f); return Float64Array.from({ length: r.probabilities.length / r.classes }, (_, i) => r.probabilities[i * r.classes + 1]); };
const allProbabilities = async (s: Session, f: Feeds) => (await runClassifier(s, f)).probabilities;

describe('ONNX export', () => {
  it('logistic: agrees with the TypeScript model to 1e-5 on every row, missing values included', async () => {
    const table = parseCsv(fs.readFileSync(DATASET, 'utf8'));
    const features = table.columns.filter((c) => c.name !== 'diagnosis').map((c) => c.name);
    const d = prepareData(table, { target: 'diagnosis', numeric: features, task: 'binary', seed: 42 });
    const { model } = trainLogistic(d.x.train, d.y.train, d.x.validation, d.y.validation, { features: d.features, classes: d.classes as [string, string], l2Grid: [1e-3, 1e-2] });
    await assertParity(table, d, { numeric: features, categorical: [] }, exportLogisticToOnnx(d.recipe, model), (x) => predictProba(model, x), positive);
  });

  it('one-hot encodes text features inside the graph; unseen and missing categories encode as zeros', async () => {
    const { table } = syntheticLogistic({ rows: 3_000, weights: [2, -1, 0.5], bias: 0, seed: 5 });
    const x1 = table.columns[0];
    assert.ok(x1.kind === 'number');
    // a text feature that carries x1's sign: the model must learn from it through the one-hot columns
    table.columns.push({ name: 'plan', kind: 'string', dictionary: ['basic', 'pro', 'team'], codes: Int32Array.from(x1.values, (v, i) => (v > 0.5 ? 1 : v > -0.5 ? (i % 2 ? 2 : 0) : 0)) });
    const d = prepareData(table, { target: 'label', numeric: ['x2', 'x3'], categorical: ['plan'], task: 'binary', seed: 2 });
    assert.deepEqual(d.features, ['x2', 'x3', 'plan=basic', 'plan=pro', 'plan=team']);
    const { model } = trainLogistic(d.x.train, d.y.train, d.x.validation, d.y.validation, { features: d.features, classes: d.classes as [string, string], l2Grid: [1e-3] });
    assert.ok(model.weights[3] > model.weights[2] + 1, 'plan=pro (high x1) raises the odds');
    const bytes = exportLogisticToOnnx(d.recipe, model);
    await assertParity(table, d, { numeric: ['x2', 'x3'], categorical: ['plan'] }, bytes, (x) => predictProba(model, x), positive);
    const decoded = onnx.ModelProto.decode(bytes);
    assert.deepEqual(decoded.graph?.input?.map((i) => i.name), ['numeric', 'categorical_0']);
    assert.ok(decoded.graph?.node?.some((n) => n.opType === 'OneHotEncoder' && n.domain === 'ai.onnx.ml'));
  });

  it('applies the declared imputation and scaling', () => {
    const table = parseCsv('a,y\n1,0\n2,1\n2,0\n,1\n10,1\n');
    const rows = Int32Array.from([0, 1, 2, 3, 4]);
    const value = (spec: RecipeSpec) => { const r = fitRecipe(table, rows, ['a'], [], spec); return [r.numeric[0].impute, applyRecipe(r, table, rows).data[3]]; };
    assert.deepEqual(value({ impute: 'median', scale: 'none' }), [2, 2]);
    assert.deepEqual(value({ impute: 'most_frequent', scale: 'none' }), [2, 2]);
    assert.deepEqual(value({ impute: 'constant', imputeValue: -1, scale: 'none' }), [-1, -1]);
    assert.deepEqual(value({ impute: 'mean', scale: 'minmax' }), [3.75, (3.75 - 1) / 9]);
    const standard = fitRecipe(table, rows, ['a'], [], {});
    const z = applyRecipe(standard, table, rows).data;
    assert.ok(Math.abs(z.reduce((s, v) => s + v, 0)) < 1e-12, 'standardised training column has mean 0');
  });

  it('handles outliers: clip and flag inside the graph (ONNX parity), drop only training rows', async () => {
    const table = parseCsv(fs.readFileSync(DATASET, 'utf8'));
    const features = table.columns.filter((c) => c.name !== 'diagnosis').map((c) => c.name);
    const layout = { numeric: features, categorical: [] };
    for (const [method, action] of [['iqr', 'clip'], ['zscore', 'flag']] as const) {
      const d = prepareData(table, { target: 'diagnosis', numeric: features, task: 'binary', seed: 4, recipe: { outliers: { method, action } } });
      assert.equal(d.features.length, action === 'flag' ? 60 : 30);
      const { model } = trainLogistic(d.x.train, d.y.train, d.x.validation, d.y.validation, { features: d.features, classes: d.classes as [string, string], l2Grid: [1e-2] });
      await assertParity(table, d, layout, exportLogisticToOnnx(d.recipe, model), (x) => predictProba(model, x), positive);
    }
    const plain = prepareData(table, { target: 'diagnosis', numeric: features, task: 'binary', seed: 4 });
    const dropped = prepareData(table, { target: 'diagnosis', numeric: features, task: 'binary', seed: 4, recipe: { outliers: { action: 'drop' } } });
    assert.ok(dropped.split.train.length < plain.split.train.length, 'outlying training rows are left out');
    assert.deepEqual(dropped.split.test, plain.split.test, 'test rows are untouched');
  });

  it('bounds outliers by the interquartile range and clips to the bounds', () => {
    const table = parseCsv('a,y\n1,0\n2,1\n3,0\n4,1\n100,1\n');
    const rows = Int32Array.from([0, 1, 2, 3, 4]);
    const recipe = fitRecipe(table, rows, ['a'], [], { scale: 'none', outliers: { action: 'clip' } });
    assert.deepEqual([recipe.numeric[0].lower, recipe.numeric[0].upper], [-1, 7]);
    assert.deepEqual(Array.from(applyRecipe(recipe, table, rows).data), [1, 2, 3, 4, 7]);
    const flagged = fitRecipe(table, rows, ['a'], [], { scale: 'none', outliers: { action: 'flag' } });
    assert.deepEqual(Array.from(applyRecipe(flagged, table, rows).data), [1, 0, 2, 0, 3, 0, 4, 0, 100, 1]);
  });

  it('describes itself: raw-feature inputs, two-class output, metadata', () => {
    const { table, features } = syntheticLogistic({ rows: 500, weights: [1, -1], bias: 0, seed: 1 });
    const d = prepareData(table, { target: 'label', numeric: features, task: 'binary', seed: 1 });
    const { model } = trainLogistic(d.x.train, d.y.train, d.x.validation, d.y.validation, { features, classes: d.classes as [string, string], l2Grid: [0.01] });
    const decoded = onnx.ModelProto.decode(exportLogisticToOnnx(d.recipe, model));
    assert.equal(decoded.graph?.input?.[0].name, 'numeric');
    assert.equal(decoded.graph?.output?.[0].name, 'probabilities');
    const meta = Object.fromEntries((decoded.metadataProps ?? []).map((p) => [p.key, p.value]));
    assert.deepEqual(JSON.parse(meta.numeric), ['x1', 'x2']);
    assert.deepEqual(JSON.parse(meta.classes), ['no', 'yes']);
    assert.ok(decoded.graph?.node?.some((n) => n.opType === 'Where'), 'imputation is inside the graph');
  });
});

describe('ONNX export of softmax and ridge', () => {
  const iris = parseCsv(fs.readFileSync(path.join(__dirname, '..', 'datasets', 'iris.csv'), 'utf8'));
  const irisFeatures = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];

  it('softmax: ONNX probabilities agree with TypeScript to 1e-5 on every row', async () => {
    const d = prepareData(iris, { target: 'species', numeric: irisFeatures, task: 'multiclass', seed: 3 });
    assert.deepEqual(d.classes, ['setosa', 'versicolor', 'virginica']);
    const { model } = trainSoftmax(d.x.train, d.y.train, d.x.validation, d.y.validation, { features: d.features, classes: d.classes as [string, string], l2Grid: [1e-2] });
    await assertParity(iris, d, { numeric: irisFeatures, categorical: [] }, exportSoftmaxToOnnx(d.recipe, model), (x) => predictSoftmax(model, x), allProbabilities);
    const m = multiclassMetrics(d.y.test, predictSoftmax(model, d.x.test), 3);
    assert.ok(m.accuracy > 0.85, `iris test accuracy ${m.accuracy}`);
  });

  it('ridge: ONNX predictions agree with TypeScript to 1e-5 relative on every row', async () => {
    const table = parseCsv(fs.readFileSync(DATASET, 'utf8'));
    const features = table.columns.filter((c) => c.name !== 'diagnosis' && c.name !== 'area_mean').map((c) => c.name);
    const d = prepareData(table, { target: 'area_mean', numeric: features, categorical: ['diagnosis'], task: 'regression', seed: 3 });
    const { model } = trainRidge(d.x.train, d.y.train, d.x.validation, d.y.validation, { features: d.features, l2Grid: [1e-3, 1e-1] });
    await assertParity(table, d, { numeric: features, categorical: ['diagnosis'] }, exportRidgeToOnnx(d.recipe, model), (x) => predictRidge(model, x), runRegressor, true);
    assert.ok(regressionMetrics(d.y.test, predictRidge(model, d.x.test)).r2 > 0.95);
  });
});

describe('task inference and metrics', () => {
  const column = (text: string) => parseCsv(`y\n${text.split(',').join('\n')}\n`).columns[0];
  it('reads binary, multi-class and regression targets', () => {
    assert.equal(inferTask(column('yes,no,yes')), 'binary');
    assert.equal(inferTask(column('0,1,1,0')), 'binary');
    assert.equal(inferTask(column('a,b,c')), 'multiclass');
    assert.equal(inferTask(column('1,2,3,2')), 'multiclass');
    assert.equal(inferTask(column('1.5,2.25,3,4')), 'regression');
    assert.equal(inferTask(column(Array.from({ length: 30 }, (_, i) => i).join(','))), 'regression');
    assert.deepEqual(orderedClasses(column('10,2,1,2')), ['1', '2', '10']);
  });

  it('computes multi-class metrics as by hand', () => {
    // truth 0,1,2,2 ; predicted 0,2,2,2
    const probs = [0.8, 0.1, 0.1, 0.2, 0.3, 0.5, 0.1, 0.1, 0.8, 0.3, 0.3, 0.4];
    const m = multiclassMetrics([0, 1, 2, 2], probs, 3);
    assert.deepEqual(m.confusion, [[1, 0, 0], [0, 0, 1], [0, 0, 2]]);
    assert.equal(m.accuracy, 0.75);
    // precision: 1, 0, 2/3; recall: 1, 0, 1; f1: 1, 0, 0.8
    assert.ok(Math.abs(m.macroF1 - 1.8 / 3) < 1e-12);
    assert.ok(Math.abs(m.logLoss - -(Math.log(0.8) + Math.log(0.3) + Math.log(0.8) + Math.log(0.4)) / 4) < 1e-12);
  });

  it('computes regression metrics as by hand', () => {
    const m = regressionMetrics([1, 2, 3], [1, 2, 5]);
    assert.ok(Math.abs(m.rmse - Math.sqrt(4 / 3)) < 1e-12);
    assert.ok(Math.abs(m.mae - 2 / 3) < 1e-12);
    assert.ok(Math.abs(m.r2 - (1 - 4 / 2)) < 1e-12);
  });
});

describe('dataset validation', () => {
  const csv = (rows: string[]) => parseCsv(rows.join('\n') + '\n');
  const many = (n: number, row: (i: number) => string) => Array.from({ length: n }, (_, i) => row(i));

  it('passes a good dataset, listing features and classes', () => {
    const r = validateBinary(csv(['a,b,y', ...many(40, (i) => `${i},${i % 3},${i % 2 ? 'yes' : 'no'}`)]), { target: 'y' });
    assert.ok(r.ok);
    assert.deepEqual(r.features, ['a', 'b']);
    assert.deepEqual(r.classes.map((c) => c.count), [20, 20]);
  });

  it('reports a missing target with the columns that exist', () => {
    const r = validateBinary(csv(['a,b', ...many(40, (i) => `${i},${i}`)]), { target: 'label' });
    assert.ok(!r.ok);
    assert.match(r.issues[0].message, /target column "label" is not in the data \(columns: a, b\)/);
  });

  it('reports too few rows, a non-binary target, rare classes and heavy missingness', () => {
    assert.ok(validateBinary(csv(['a,y', '1,0', '2,1']), { target: 'y' }).issues.some((i) => i.code === 'too_few_rows'));
    assert.ok(validateBinary(csv(['a,y', ...many(40, (i) => `${i},${i % 3}`)]), { target: 'y' }).issues.some((i) => i.code === 'not_binary'));
    assert.ok(validateBinary(csv(['a,y', ...many(40, (i) => `${i},${i < 2 ? 1 : 0}`)]), { target: 'y' }).issues.some((i) => i.code === 'rare_class'));
    const holes = validateBinary(csv(['a,b,y', ...many(40, (i) => `${i % 4 ? '' : i},${i},${i % 2}`)]), { target: 'y' });
    assert.ok(holes.issues.some((i) => i.code === 'too_many_missing' && i.column === 'a'));
  });

  it('infers the task and checks the requested model family against it', () => {
    const three = csv(['a,y', ...many(60, (i) => `${i},${['r', 'g', 'b'][i % 3]}`)]);
    assert.equal(validateForTraining(three, { target: 'y' }).kind, 'softmax');
    const numeric = csv(['a,y', ...many(60, (i) => `${i},${i * 1.5 + 0.25}`)]);
    const r = validateForTraining(numeric, { target: 'y' });
    assert.deepEqual([r.task, r.kind, r.ok], ['regression', 'ridge', true]);
    assert.match(validateForTraining(three, { target: 'y', kind: 'ridge' }).issues[0].message, /"ridge" learns regression targets/);
    assert.match(validateForTraining(numeric, { target: 'y', kind: 'logistic' }).issues[0].message, /"logistic" learns binary targets, but "y" has a numeric target/);
    const one = csv(['a,y', ...many(30, (i) => `${i},same`)]);
    assert.ok(validateForTraining(one, { target: 'y' }).issues.some((i) => i.code === 'one_class'));
    const flat = csv(['a,y', ...many(30, (i) => `${i},1.5`)]);
    assert.ok(!validateForTraining(flat, { target: 'y', kind: 'ridge' }).ok);
  });

  it('checks the slicing columns of the evaluation', () => {
    const table = csv(['a,region,id,y', ...many(60, (i) => `${i},${['n', 's'][i % 2]},id${i},${i % 2}`)]);
    const codes = (sliceBy: string[]) => validateForTraining(table, { target: 'y', sliceBy }).issues.filter((i) => i.severity === 'error').map((i) => i.code);
    assert.deepEqual(codes(['region']), []);
    assert.deepEqual(codes(['nope']), ['unknown_slice_column']);
    assert.deepEqual(codes(['id']), ['too_many_slices']);
  });

  it('refuses named features that are absent or identifier-like text, and warns about ignored text columns', () => {
    const table = csv(['a,name,y', ...many(40, (i) => `${i},n${i},${i % 2}`)]);
    const named = validateBinary(table, { target: 'y', features: ['a', 'name', 'zzz'] });
    assert.deepEqual(named.issues.filter((i) => i.severity === 'error').map((i) => i.code).sort(), ['missing_feature', 'too_many_categories']);
    const inferred = validateBinary(table, { target: 'y' });
    assert.ok(inferred.ok);
    assert.ok(inferred.issues.some((i) => i.code === 'text_column_ignored' && i.column === 'name'));
  });
});
