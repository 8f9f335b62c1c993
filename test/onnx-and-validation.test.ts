import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { onnx } from 'onnx-proto';
import { parseCsv } from '../src/ml/csv';
import { predictProba, trainLogistic } from '../src/ml/logistic';
import { exportLogisticToOnnx } from '../src/ml/onnx-export';
import { prepareBinaryData } from '../src/ml/prepare';
import { validateForBinaryClassification } from '../src/ml/validate';
import { createSession, positiveProbabilities } from '../src/serving/onnx-runner';
import { syntheticLogistic } from './helpers/synthetic';

const DATASET = path.join(__dirname, '..', 'datasets', 'breast-cancer-wisconsin.csv');

describe('ONNX export', () => {
  it('agrees with the TypeScript model to 1e-5 on every row, missing values included', async () => {
    const table = parseCsv(fs.readFileSync(DATASET, 'utf8'));
    const features = table.columns.filter((c) => c.name !== 'diagnosis').map((c) => c.name);
    const d = prepareBinaryData(table, { target: 'diagnosis', features, seed: 42 });
    const { model } = trainLogistic(d.x.train, d.y.train, d.x.validation, d.y.validation, { features, classes: d.classes, l2Grid: [1e-3, 1e-2] });
    const session = await createSession(exportLogisticToOnnx(model));
    // every row of every split, plus copies of the test rows with some features knocked out
    const holes = { ...d.x.test, data: d.x.test.data.map((v, k) => (k % 7 === 0 ? NaN : v)) };
    for (const x of [d.x.train, d.x.validation, d.x.test, holes]) {
      const expected = predictProba(model, x);
      const actual = await positiveProbabilities(session, x);
      for (let i = 0; i < x.rows; i++) assert.ok(Math.abs(actual[i] - expected[i]) < 1e-5, `row ${i}: onnx ${actual[i]} vs ts ${expected[i]}`);
    }
    await session.release();
  });

  it('describes itself: raw-feature input, two-class output, metadata', () => {
    const { table, features } = syntheticLogistic({ rows: 500, weights: [1, -1], bias: 0, seed: 1 });
    const d = prepareBinaryData(table, { target: 'label', features, seed: 1 });
    const { model } = trainLogistic(d.x.train, d.y.train, d.x.validation, d.y.validation, { features, classes: d.classes, l2Grid: [0.01] });
    const decoded = onnx.ModelProto.decode(exportLogisticToOnnx(model));
    assert.equal(decoded.graph?.input?.[0].name, 'features');
    assert.equal(decoded.graph?.output?.[0].name, 'probabilities');
    const meta = Object.fromEntries((decoded.metadataProps ?? []).map((p) => [p.key, p.value]));
    assert.deepEqual(JSON.parse(meta.features), ['x1', 'x2']);
    assert.deepEqual(JSON.parse(meta.classes), ['no', 'yes']);
    assert.ok(decoded.graph?.node?.some((n) => n.opType === 'Where'), 'imputation is inside the graph');
  });
});

describe('dataset validation', () => {
  const csv = (rows: string[]) => parseCsv(rows.join('\n') + '\n');
  const many = (n: number, row: (i: number) => string) => Array.from({ length: n }, (_, i) => row(i));

  it('passes a good dataset, listing features and classes', () => {
    const r = validateForBinaryClassification(csv(['a,b,y', ...many(40, (i) => `${i},${i % 3},${i % 2 ? 'yes' : 'no'}`)]), { target: 'y' });
    assert.ok(r.ok);
    assert.deepEqual(r.features, ['a', 'b']);
    assert.deepEqual(r.classes.map((c) => c.count), [20, 20]);
  });

  it('reports a missing target with the columns that exist', () => {
    const r = validateForBinaryClassification(csv(['a,b', ...many(40, (i) => `${i},${i}`)]), { target: 'label' });
    assert.ok(!r.ok);
    assert.match(r.issues[0].message, /target column "label" is not in the data \(columns: a, b\)/);
  });

  it('reports too few rows, a non-binary target, rare classes and heavy missingness', () => {
    assert.ok(validateForBinaryClassification(csv(['a,y', '1,0', '2,1']), { target: 'y' }).issues.some((i) => i.code === 'too_few_rows'));
    assert.ok(validateForBinaryClassification(csv(['a,y', ...many(40, (i) => `${i},${i % 3}`)]), { target: 'y' }).issues.some((i) => i.code === 'not_binary'));
    assert.ok(validateForBinaryClassification(csv(['a,y', ...many(40, (i) => `${i},${i < 2 ? 1 : 0}`)]), { target: 'y' }).issues.some((i) => i.code === 'rare_class'));
    const holes = validateForBinaryClassification(csv(['a,b,y', ...many(40, (i) => `${i % 4 ? '' : i},${i},${i % 2}`)]), { target: 'y' });
    assert.ok(holes.issues.some((i) => i.code === 'too_many_missing' && i.column === 'a'));
  });

  it('refuses named features that are absent or text, and warns about ignored text columns', () => {
    const table = csv(['a,name,y', ...many(40, (i) => `${i},n${i},${i % 2}`)]);
    const named = validateForBinaryClassification(table, { target: 'y', features: ['a', 'name', 'zzz'] });
    assert.deepEqual(named.issues.filter((i) => i.severity === 'error').map((i) => i.code).sort(), ['feature_not_numeric', 'missing_feature']);
    const inferred = validateForBinaryClassification(table, { target: 'y' });
    assert.ok(inferred.ok);
    assert.ok(inferred.issues.some((i) => i.code === 'text_column_ignored' && i.column === 'name'));
  });
});
