/**
 * Gradient-boosted trees on synthetic rows with interactions (default 200k x 10), ours against
 * scikit-learn's HistGradientBoostingClassifier on the same rows, in the same run on the same machine.
 *
 *   python3 -m pip install --target /tmp/pyref scikit-learn     # once
 *   PYTHONPATH=/tmp/pyref node --import tsx bench/gbdt.ts [rows] [cols] [rounds]
 *
 * Both fit 100 rounds (no early stopping) on the first 80% with the same settings (learning rate 0.1,
 * 31 leaves, 20 rows per leaf, 255 bins, no L2) and report AUC on the last 20%, each with every core and
 * with one thread. Figures: bench/RESULTS.md.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fitGbdt, predictGbdt } from '../src/ml/gbdt';
import { rocAuc } from '../src/ml/metrics';
import { createRng } from '../src/ml/random';

const rows = Number(process.argv[2] ?? 200_000);
const cols = Number(process.argv[3] ?? 10);
const rounds = Number(process.argv[4] ?? 100);

const rng = createRng(2026);
const normal = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
const x = new Float64Array(rows * cols);
const y = new Float64Array(rows);
for (let i = 0; i < rows; i++) {
  const v = Array.from({ length: cols }, normal);
  v.forEach((value, j) => { x[i * cols + j] = value; });
  // thresholds, an interaction and a curve: what trees learn and a linear model does not
  const t = 1.5 * Math.sin(v[0] * 2) + v[1] * v[2] + (Math.abs(v[3]) > 1 ? 1 : -0.5) + 0.5 * v[4] - 0.3 * v[5 % cols];
  y[i] = rng() < 1 / (1 + Math.exp(-t)) ? 1 : 0;
}
const prefix = path.join(os.tmpdir(), `bench-gbdt-${rows}x${cols}`);
fs.writeFileSync(`${prefix}.x.f64`, Buffer.from(x.buffer));
fs.writeFileSync(`${prefix}.y.f64`, Buffer.from(y.buffer));

const split = Math.floor(rows * 0.8);
const features = Array.from({ length: cols }, (_, j) => `x${j}`);
const train = features.map((_, j) => Float64Array.from({ length: split }, (_, i) => x[i * cols + j]));
const test = { rows: rows - split, cols, data: x.subarray(split * cols) };
const none = { rows: 0, cols, data: new Float64Array(0) };
/** Our fit with the given number of threads: seconds, test AUC and rounds. */
function oursWith(threads: number) {
  const started = process.hrtime.bigint();
  const model = fitGbdt(train, y.subarray(0, split), none, new Float64Array(0), {
    features, classes: ['0', '1'], l2: 0, maxIter: rounds, learningRate: 0.1, maxLeafNodes: 31, minSamplesLeaf: 20, maxBins: 255, threads,
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const probabilities = predictGbdt(model, test);
  return { seconds, auc: rocAuc(y.subarray(split), Float64Array.from({ length: test.rows }, (_, i) => probabilities[i * 2 + 1])), rounds: model.rounds };
}
const sklearn = (threads: number) => {
  const py = spawnSync('python3', [path.join(__dirname, 'gbdt_sklearn.py'), prefix, String(rows), String(cols), String(rounds), String(threads)], { encoding: 'utf8' });
  return py.status === 0 ? JSON.parse(py.stdout) : { error: py.stderr.trim().split('\n').pop() };
};
const cores = os.cpus().length;
// the first fit in a process also starts the helper threads and warms the JIT; a worker process pays
// that once, so the second fit is what its later trainings cost
const oursCold = oursWith(cores);
const ours = oursWith(cores);
const oursOneThread = oursWith(1);
const theirs = sklearn(cores);
const theirsOneThread = theirs.error ? undefined : sklearn(1);
fs.rmSync(`${prefix}.x.f64`); fs.rmSync(`${prefix}.y.f64`);

console.log(`gradient-boosted trees, ${rows} x ${cols}, ${rounds} rounds, ${cores} cores (${os.cpus()[0]?.model})`);
console.log(`  ours, ${cores} threads, first fit in the process: ${oursCold.seconds.toFixed(2)} s`);
console.log(`  ours, ${cores} threads: ${ours.seconds.toFixed(2)} s, AUC ${ours.auc.toFixed(5)}, ${ours.rounds} rounds`);
console.log(`  ours, 1 thread:  ${oursOneThread.seconds.toFixed(2)} s, AUC ${oursOneThread.auc.toFixed(5)} (the same model)`);
if (theirsOneThread) {
  console.log(`  scikit-learn HistGradientBoosting, ${cores} threads: ${theirs.seconds.toFixed(2)} s, AUC ${theirs.auc.toFixed(5)}, ${theirs.rounds} rounds`);
  console.log(`  scikit-learn HistGradientBoosting, 1 thread:  ${theirsOneThread.seconds.toFixed(2)} s`);
  console.log(`  time ratio ours/sklearn: ${(ours.seconds / theirs.seconds).toFixed(2)}x (${cores} threads each; first fit ${(oursCold.seconds / theirs.seconds).toFixed(2)}x), ${(oursOneThread.seconds / theirsOneThread.seconds).toFixed(2)}x (1 thread each); AUC difference ${(ours.auc - theirs.auc).toExponential(2)}`);
} else {
  console.log(`  scikit-learn not run: ${theirs.error} (install it: python3 -m pip install --target /tmp/pyref scikit-learn; PYTHONPATH=/tmp/pyref)`);
}
