/**
 * Logistic regression on synthetic rows (default 1M x 30), ours against scikit-learn's
 * LogisticRegression(solver="lbfgs") on the same rows, in the same run on the same machine.
 *
 *   python3 -m pip install --target /tmp/pyref scikit-learn     # once
 *   PYTHONPATH=/tmp/pyref node --import tsx bench/logistic.ts [rows] [cols]
 *
 * Both fit on the first 80% (standardised with its mean and std by our recipe, inside the timing) at the same L2
 * strength and report AUC on the last 20%. Figures: bench/RESULTS.md.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fitLogisticColumns } from '../src/ml/logistic';
import { applyRecipe, applyRecipeColumns, fitRecipe } from '../src/ml/recipe';
import { Table } from '../src/ml/table';
import { rocAuc } from '../src/ml/metrics';
import { createRng } from '../src/ml/random';

const rows = Number(process.argv[2] ?? 1_000_000);
const cols = Number(process.argv[3] ?? 30);
const l2 = 1e-4;

const rng = createRng(2026);
const normal = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
const weights = Array.from({ length: cols }, (_, j) => ((j % 7) - 3) / 3);
const x = new Float64Array(rows * cols);
const y = new Float64Array(rows);
for (let i = 0; i < rows; i++) {
  let t = -0.3;
  for (let j = 0; j < cols; j++) { const v = normal(); x[i * cols + j] = 5 + 2 * v; t += weights[j] * v; }
  y[i] = rng() < 1 / (1 + Math.exp(-t)) ? 1 : 0;
}
const prefix = path.join(os.tmpdir(), `bench-logistic-${rows}x${cols}`);
fs.writeFileSync(`${prefix}.x.f64`, Buffer.from(x.buffer));
fs.writeFileSync(`${prefix}.y.f64`, Buffer.from(y.buffer));

const split = Math.floor(rows * 0.8);
const names = Array.from({ length: cols }, (_, j) => `x${j}`);
const table: Table = { rowCount: rows, columns: names.map((name, j) => ({ name, kind: 'number' as const, values: Float64Array.from({ length: rows }, (_, i) => x[i * cols + j]) })) };
const trainRows = Int32Array.from({ length: split }, (_, i) => i);
const testRows = Int32Array.from({ length: rows - split }, (_, i) => split + i);
const started = process.hrtime.bigint();
const recipe = fitRecipe(table, trainRows, names, []);
const fit = fitLogisticColumns(applyRecipeColumns(recipe, table, trainRows), y.subarray(0, split), { l2 });
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const zt = applyRecipe(recipe, table, testRows);
const test = { rows: rows - split };
const score = new Float64Array(test.rows);
for (let i = 0; i < test.rows; i++) { let t = fit.bias; for (let j = 0; j < cols; j++) t += zt.data[i * cols + j] * fit.weights[j]; score[i] = t; }
const ours = { seconds, auc: rocAuc(y.subarray(split), score), iterations: fit.iterations };

const py = spawnSync('python3', [path.join(__dirname, 'logistic_sklearn.py'), prefix, String(rows), String(cols), String(l2)], { encoding: 'utf8' });
const theirs = py.status === 0 ? JSON.parse(py.stdout) : undefined;
fs.rmSync(`${prefix}.x.f64`); fs.rmSync(`${prefix}.y.f64`);

console.log(`logistic regression, ${rows} x ${cols}, l2=${l2}, ${os.cpus().length} cores (${os.cpus()[0]?.model})`);
console.log(`  ours (Newton, ${os.availableParallelism()} threads):  ${ours.seconds.toFixed(2)} s, AUC ${ours.auc.toFixed(5)}, ${ours.iterations} iterations`);
if (theirs) {
  console.log(`  scikit-learn (lbfgs, numpy): ${theirs.seconds.toFixed(2)} s, AUC ${theirs.auc.toFixed(5)}, ${theirs.iterations} iterations`);
  console.log(`  time ratio ours/sklearn: ${(ours.seconds / theirs.seconds).toFixed(2)}x; AUC difference ${(ours.auc - theirs.auc).toExponential(2)}`);
} else {
  console.log(`  scikit-learn not run: ${py.stderr.trim().split('\n').pop()} (install it: python3 -m pip install --target /tmp/pyref scikit-learn; PYTHONPATH=/tmp/pyref)`);
}
