import { fitGbdt } from '../src/ml/gbdt';
import { createRng } from '../src/ml/random';
const rows = 160000, cols = 10;
const rng = createRng(2026);
const normal = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
const train = Array.from({ length: cols }, () => new Float64Array(rows));
const y = new Float64Array(rows);
for (let i = 0; i < rows; i++) {
  const v = Array.from({ length: cols }, normal);
  v.forEach((value, j) => { train[j][i] = value; });
  const t = 1.5 * Math.sin(v[0] * 2) + v[1] * v[2] + (Math.abs(v[3]) > 1 ? 1 : -0.5) + 0.5 * v[4] - 0.3 * v[5 % cols];
  y[i] = rng() < 1 / (1 + Math.exp(-t)) ? 1 : 0;
}
const threads = Number(process.argv[2] ?? 1);
const features = Array.from({ length: cols }, (_, j) => `x${j}`);
const none = { rows: 0, cols, data: new Float64Array(0) };
for (let k = 0; k < 3; k++) {
const t0 = performance.now(); const c0 = process.cpuUsage();
fitGbdt(train, y, none, new Float64Array(0), { features, classes: ['0', '1'], l2: 0, maxIter: 100, learningRate: 0.1, maxLeafNodes: 31, minSamplesLeaf: 20, maxBins: 255, threads });
const c = process.cpuUsage(c0);
console.log(`threads ${threads}: ${((performance.now() - t0) / 1000).toFixed(2)} s wall, cpu ${((c.user + c.system) / 1e6).toFixed(2)} s`);
}
