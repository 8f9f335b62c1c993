import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseCsv, toCanonicalCsv } from '../src/ml/csv';
import { cellText, DataFormatError } from '../src/ml/table';
import { chunksRunByLogisticHelpers, fitLogisticColumns, trainLogistic } from '../src/ml/logistic';
import { binaryMetrics, rocAuc } from '../src/ml/metrics';
import { exportLogisticToOnnx } from '../src/ml/onnx-export';
import { prepareData } from '../src/ml/prepare';
import { stratifiedSplit } from '../src/ml/split';
import { binaryTarget, choosePositiveClass } from '../src/ml/target';
import { syntheticLogistic } from './helpers/synthetic';

const DATASET = path.join(__dirname, '..', 'datasets', 'breast-cancer-wisconsin.csv');

describe('logistic regression', () => {
  it('recovers known coefficients from synthetic data', () => {
    const weights = [1.5, -2, 0.5, 0];
    const { table, features } = syntheticLogistic({ rows: 40_000, weights, bias: 0.3, seed: 7 });
    const data = prepareData(table, { target: 'label', numeric: features, task: 'binary', seed: 1 });
    assert.deepEqual(data.classes, ['no', 'yes']);
    const fit = fitLogisticColumns(data.x.train, data.y.train, { l2: 1e-8 });
    assert.ok(fit.converged);
    fit.weights.forEach((w, j) => assert.ok(Math.abs(w - weights[j]) < 0.08, `w${j} = ${w}, expected ${weights[j]}`));
    assert.ok(Math.abs(fit.bias - 0.3) < 0.08, `bias = ${fit.bias}`);
  });

  it('fits the same weights bit for bit on one thread and on helper threads, above the Hessian sample too', () => {
    // 120,000 training-size rows: every pass is cut into chunks, and the Hessian is estimated on a sample
    const { table, features } = syntheticLogistic({ rows: 150_000, weights: [1, -0.5, 0.25, 2, 0], bias: -0.2, seed: 5 });
    const data = prepareData(table, { target: 'label', numeric: features, task: 'binary', seed: 1 });
    assert.ok(data.y.train.length > 100_000);
    const one = fitLogisticColumns(data.x.train, data.y.train, { l2: 1e-4, threads: 1 });
    const helped = chunksRunByLogisticHelpers();
    const two = fitLogisticColumns(data.x.train, data.y.train, { l2: 1e-4, threads: 2 });
    assert.ok(chunksRunByLogisticHelpers() > helped, 'the helper thread ran chunks');
    assert.ok(one.converged && one.iterations > 2);
    assert.deepEqual(two, one);
    const l1 = (threads: number) => fitLogisticColumns(data.x.train, data.y.train, { l2: 0, l1: 1e-2, threads });
    const sparse = l1(1);
    assert.equal(sparse.weights[4], 0, 'the L1 fit drops the feature with no weight');
    assert.deepEqual(l1(2), sparse);
  });

  it('shrinks coefficients as the L2 strength grows', () => {
    const { table, features } = syntheticLogistic({ rows: 5_000, weights: [2, -1], bias: 0, seed: 3 });
    const data = prepareData(table, { target: 'label', numeric: features, task: 'binary', seed: 1 });
    const norm = (l2: number) => Math.hypot(...fitLogisticColumns(data.x.train, data.y.train, { l2 }).weights);
    assert.ok(norm(1) < norm(0.1) && norm(0.1) < norm(0.001));
  });

  it('is deterministic for a seed: the same ONNX bytes twice', () => {
    const table = parseCsv(fs.readFileSync(DATASET, 'utf8'));
    const features = table.columns.filter((c) => c.name !== 'diagnosis').map((c) => c.name);
    const train = () => {
      const d = prepareData(table, { target: 'diagnosis', numeric: features, task: 'binary', seed: 42 });
      return exportLogisticToOnnx(d.recipe, trainLogistic(d.x.train, d.y.train, d.x.validation, d.y.validation, { features, classes: d.classes as [string, string], l2Grid: [1e-3, 1e-2, 1e-1] }).model);
    };
    assert.deepEqual(Buffer.from(train()), Buffer.from(train()));
  });

  it('skips candidates an earlier attempt already scored, and picks the same winner', () => {
    const { table, features } = syntheticLogistic({ rows: 3_000, weights: [1, -1, 0.5], bias: 0, seed: 11 });
    const d = prepareData(table, { target: 'label', numeric: features, task: 'binary', seed: 2 });
    const grid = [1e-3, 1e-2, 1e-1, 1];
    const full = trainLogistic(d.x.train, d.y.train, d.x.validation, d.y.validation, { features, classes: d.classes as [string, string], l2Grid: grid });
    let fitted = 0;
    const resumed = trainLogistic(d.x.train, d.y.train, d.x.validation, d.y.validation, {
      features, classes: d.classes as [string, string], l2Grid: grid, done: full.search.slice(0, 3), onCandidate: () => fitted++,
    });
    assert.equal(fitted, 1);
    assert.deepEqual(resumed.model, full.model);
  });
});

describe('metrics', () => {
  it('matches hand-computed confusion-matrix metrics and log loss', () => {
    // threshold 0.5 -> predicted [1, 1, 0, 0, 1]; truth [1, 0, 1, 0, 1]: tp=2 fp=1 fn=1 tn=1
    const y = [1, 0, 1, 0, 1];
    const p = [0.9, 0.6, 0.4, 0.2, 0.7];
    const m = binaryMetrics(y, p);
    assert.equal(m.accuracy, 3 / 5);
    assert.equal(m.precision, 2 / 3);
    assert.equal(m.recall, 2 / 3);
    assert.ok(Math.abs(m.f1 - 2 / 3) < 1e-12);
    const logLoss = -(Math.log(0.9) + Math.log(0.4) + Math.log(0.4) + Math.log(0.8) + Math.log(0.7)) / 5;
    assert.ok(Math.abs(m.logLoss - logLoss) < 1e-12);
    // pairs (pos, neg): 0.9>0.6 0.9>0.2 0.4<0.6 0.4>0.2 0.7>0.6 0.7>0.2 -> 5 of 6
    assert.ok(Math.abs(m.auc - 5 / 6) < 1e-12);
  });

  it('counts tied scores as half in AUC', () => {
    assert.equal(rocAuc([1, 0], [0.5, 0.5]), 0.5);
    // pos {0.8, 0.5}, neg {0.5, 0.1}: 0.8 beats both, 0.5 ties one and beats one -> (2 + 1.5) / 4
    assert.equal(rocAuc([1, 1, 0, 0], [0.8, 0.5, 0.5, 0.1]), 3.5 / 4);
    assert.ok(Number.isNaN(rocAuc([1, 1], [0.2, 0.3])));
  });

  it('keeps log loss finite for confident mistakes', () => {
    assert.ok(Number.isFinite(binaryMetrics([1, 0], [0, 1]).logLoss));
  });
});

describe('data preparation', () => {
  it('splits reproducibly and keeps each class share in every part', () => {
    const y = Float64Array.from({ length: 1000 }, (_, i) => (i % 4 === 0 ? 1 : 0));
    const a = stratifiedSplit(y, { seed: 5, validationFraction: 0.15, testFraction: 0.15 });
    const b = stratifiedSplit(y, { seed: 5, validationFraction: 0.15, testFraction: 0.15 });
    assert.deepEqual(a, b);
    assert.equal(a.train.length + a.validation.length + a.test.length, 1000);
    const share = (rows: Int32Array) => rows.reduce((s, r) => s + y[r], 0) / rows.length;
    for (const part of [a.train, a.validation, a.test]) assert.ok(Math.abs(share(part) - 0.25) < 0.01);
    assert.notDeepEqual(a, stratifiedSplit(y, { seed: 6, validationFraction: 0.15, testFraction: 0.15 }));
  });

  it('picks the positive class: named, conventional, else the rarer', () => {
    assert.equal(choosePositiveClass(new Map([['0', 10], ['1', 90]])), '1');
    assert.equal(choosePositiveClass(new Map([['no', 3], ['yes', 9]])), 'yes');
    assert.equal(choosePositiveClass(new Map([['benign', 357], ['malignant', 212]])), 'malignant');
    assert.equal(choosePositiveClass(new Map([['a', 5], ['b', 5]]), 'a'), 'a');
    assert.throws(() => choosePositiveClass(new Map([['a', 5]]), 'z'), /does not occur/);
  });

  it('refuses a target that is not binary', () => {
    const table = parseCsv('x,y\n1,a\n2,b\n3,c\n');
    assert.throws(() => binaryTarget(table.columns[1]), /exactly 2 classes/);
  });
});

describe('CSV', () => {
  it('infers numeric and text columns and reads missing spellings', () => {
    const t = parseCsv('a,b,c\n1,x,\n2.5,y,NA\n,z,3\n');
    assert.equal(t.columns[0].kind, 'number');
    assert.equal(t.columns[1].kind, 'string');
    assert.equal(t.columns[2].kind, 'number');
    assert.ok(t.columns[0].kind === 'number' && Number.isNaN(t.columns[0].values[2]));
  });

  it('keeps the original spelling of numbers in a column that turns out to be text', () => {
    const t = parseCsv('code,y\n007,1\n1.50,0\nA-7,1\n,0\n');
    const code = t.columns[0];
    assert.ok(code.kind === 'string');
    assert.deepEqual([0, 1, 2, 3].map((i) => cellText(code, i)), ['007', '1.50', 'A-7', null]);
    assert.equal(t.rowCount, 4);
  });

  it('round-trips through the canonical form', () => {
    const text = 'a,b\n1,"hello, world"\n2,\n';
    assert.equal(toCanonicalCsv(parseCsv(text)), text);
    assert.equal(toCanonicalCsv(parseCsv('a,b\r\n1.0,"hello, world"\r\n2,NA\r\n')), text);
  });

  it('reads quoted fields with commas, escaped quotes and line breaks, CRLF ends and blank lines', () => {
    const t = parseCsv('\ufeffname,note\r\n"Smith, J","said ""hi"""\r\n\r\nLee,"two\nlines"\nKim,');
    assert.equal(t.rowCount, 3);
    assert.deepEqual([0, 1, 2].map((i) => cellText(t.columns[1], i)), ['said "hi"', 'two\nlines', null]);
    assert.equal(cellText(t.columns[0], 0), 'Smith, J');
    assert.equal(parseCsv('a,b\n').rowCount, 0, 'a header alone is a table with no rows');
  });

  it('rejects malformed files with a clear message', () => {
    assert.throws(() => parseCsv('a,b\n1,2\n3\n'), /line 3 has 1 fields; the header has 2/);
    assert.throws(() => parseCsv('a,b\n1,"x"y\n'), /characters after a closing quote/);
    assert.throws(() => parseCsv('a,b\n1,x"y\n'), /quote inside an unquoted field/);
    assert.throws(() => parseCsv('a,b\n1,"never closed\n2,3\n'), /opens on line 2 is never closed/);
    assert.throws(() => parseCsv(''), DataFormatError);
    assert.throws(() => parseCsv('a,b\n1,2,3\n'), /malformed CSV/);
    assert.throws(() => parseCsv('a,a\n1,2\n'), /repeats the column name "a"/);
    assert.throws(() => parseCsv('a,"b\n1,2\n'), /malformed CSV/);
  });
});
