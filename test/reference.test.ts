/**
 * Our numerics against reference implementations: fixtures computed once with scikit-learn and numpy
 * by scripts/reference/make_fixtures.py (see its header to regenerate them).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseCsv } from '../src/ml/csv';
import { fitLogisticColumns } from '../src/ml/logistic';
import { binaryMetrics } from '../src/ml/metrics';
import { applyRecipeColumns, fitRecipe } from '../src/ml/recipe';
import { fitRidgeColumns } from '../src/ml/ridge';
import { fitSoftmaxColumns } from '../src/ml/softmax';
import { tableStatistics } from '../src/ml/statistics';
import { classIndices, orderedClasses } from '../src/ml/task';
import { binaryTarget } from '../src/ml/target';
import { getColumn, Table } from '../src/ml/table';

const reference = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'reference', 'sklearn.json'), 'utf8'));
const table = parseCsv(fs.readFileSync(path.join(__dirname, '..', 'datasets', 'breast-cancer-wisconsin.csv'), 'utf8'));
const features = table.columns.filter((c) => c.name !== 'diagnosis').map((c) => c.name);

/** Every row of the named columns, standardised by the recipe (mean, population std) as the fixtures were. */
function standardized(t: Table, names: string[]): Float64Array[] {
  const all = Int32Array.from({ length: t.rowCount }, (_, i) => i);
  return applyRecipeColumns(fitRecipe(t, all, names, [], { scale: 'standard' }), t, all);
}

describe('against scikit-learn and numpy', () => {
  it('fits the same logistic regression coefficients (within 1e-4) at equal regularisation', () => {
    const z = standardized(table, features);
    const { y } = binaryTarget(getColumn(table, 'diagnosis')!, 'malignant');
    for (const ref of reference.logistic as { l2: number; coef: number[]; intercept: number }[]) {
      const fit = fitLogisticColumns(z, y, { l2: ref.l2 });
      const worst = Math.max(Math.abs(fit.bias - ref.intercept), ...ref.coef.map((c, j) => Math.abs(fit.weights[j] - c)));
      assert.ok(worst < 1e-4, `l2=${ref.l2}: largest difference ${worst}`);
      if (process.env.SHOW_REFERENCE_DIFF) console.log(`l2=${ref.l2}: largest coefficient difference ${worst.toExponential(2)}`);
    }
  });

  it('fits the same L1-penalised coefficients as saga (within 1e-4), zeros exactly where it has them', () => {
    const z = standardized(table, features);
    const { y } = binaryTarget(getColumn(table, 'diagnosis')!, 'malignant');
    for (const ref of reference.logisticL1 as { l1: number; coef: number[]; intercept: number }[]) {
      const fit = fitLogisticColumns(z, y, { l2: 0, l1: ref.l1 });
      const worst = Math.max(Math.abs(fit.bias - ref.intercept), ...ref.coef.map((c, j) => Math.abs(fit.weights[j] - c)));
      assert.ok(worst < 1e-4, `l1=${ref.l1}: largest difference ${worst}`);
      const zeros = (w: ArrayLike<number>) => Array.from(w, (v, j) => (v === 0 ? j : -1)).filter((j) => j >= 0);
      assert.ok(zeros(ref.coef).length > 0, 'the reference is sparse');
      assert.deepEqual(zeros(fit.weights), zeros(ref.coef), `l1=${ref.l1}: the same coefficients are zero`);
      if (process.env.SHOW_REFERENCE_DIFF) console.log(`l1=${ref.l1}: largest coefficient difference ${worst.toExponential(2)}, ${zeros(ref.coef).length} zeros`);
    }
  });

  it('fits the same multinomial (softmax) coefficients on iris (within 1e-4)', () => {
    const iris = parseCsv(fs.readFileSync(path.join(__dirname, '..', 'datasets', 'iris.csv'), 'utf8'));
    const names = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];
    const z = standardized(iris, names);
    const species = getColumn(iris, 'species')!;
    for (const ref of reference.softmax as { l2: number; classes: string[]; coef: number[][]; intercept: number[] }[]) {
      assert.deepEqual(orderedClasses(species), ref.classes);
      const fit = fitSoftmaxColumns(z, classIndices(species, ref.classes), 3, { l2: ref.l2 });
      const diffs = ref.coef.flatMap((row, k) => row.map((c, j) => Math.abs(fit.weights[k][j] - c))).concat(ref.intercept.map((b, k) => Math.abs(fit.bias[k] - b)));
      const worst = Math.max(...diffs);
      assert.ok(worst < 1e-4, `l2=${ref.l2}: largest difference ${worst}`);
      if (process.env.SHOW_REFERENCE_DIFF) console.log(`softmax l2=${ref.l2}: largest coefficient difference ${worst.toExponential(2)}`);
    }
  });

  it('fits the same ridge regression coefficients (within 1e-6)', () => {
    const others = features.filter((f) => f !== 'radius_mean');
    const z = standardized(table, others);
    const radius = getColumn(table, 'radius_mean')!;
    const y = radius.kind === 'number' ? radius.values : new Float64Array();
    for (const ref of reference.ridge as { l2: number; coef: number[]; intercept: number }[]) {
      const fit = fitRidgeColumns(z, y, ref.l2);
      const worst = Math.max(Math.abs(fit.bias - ref.intercept), ...ref.coef.map((c, j) => Math.abs(fit.weights[j] - c)));
      assert.ok(worst < 1e-6, `l2=${ref.l2}: largest difference ${worst}`);
      if (process.env.SHOW_REFERENCE_DIFF) console.log(`ridge l2=${ref.l2}: largest coefficient difference ${worst.toExponential(2)}`);
    }
  });

  it('computes ROC AUC and average precision with ties, Brier score, log loss and threshold metrics as scikit-learn does', () => {
    const r = reference.metrics;
    const m = binaryMetrics(r.y, r.score);
    for (const key of ['auc', 'prAuc', 'brier', 'logLoss', 'accuracy', 'precision', 'recall', 'f1'] as const) {
      assert.ok(Math.abs(m[key] - r[key]) < 1e-12, `${key}: ${m[key]} vs ${r[key]}`);
    }
  });

  it('computes quantiles as numpy does', () => {
    for (const stats of tableStatistics(table)) {
      if (stats.type !== 'number') continue;
      const expected = reference.quantiles[stats.name] as Record<string, number>;
      for (const [key, value] of Object.entries(expected)) {
        const actual = stats.quantiles[key as keyof typeof stats.quantiles]!;
        assert.ok(Math.abs(actual - value) <= 1e-12 * Math.max(1, Math.abs(value)), `${stats.name} ${key}: ${actual} vs ${value}`);
      }
    }
  });
});
