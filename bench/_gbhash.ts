import { createHash } from 'node:crypto';
import { fitGbdt } from '../src/ml/gbdt';
import { createRng } from '../src/ml/random';
const rows = 60000, cols = 10;
const rng = createRng(7);
const normal = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
const train = Array.from({ length: cols }, () => new Float64Array(rows));
const y = new Float64Array(rows);
for (let i = 0; i < rows; i++) {
  const v = Array.from({ length: cols }, normal);
  v.forEach((value, j) => { train[j][i] = value; });
  const t = 1.5 * Math.sin(v[0] * 2) + v[1] * v[2] + (Math.abs(v[3]) > 1 ? 1 : -0.5) + 0.5 * v[4];
  y[i] = rng() < 1 / (1 + Math.exp(-t)) ? 1 : 0;
}
const features = Array.from({ length: cols }, (_, j) => `x${j}`);
const none = { rows: 0, cols, data: new Float64Array(0) };
for (const threads of [1, 2]) {
  const m = fitGbdt(train, y, none, new Float64Array(0), { features, classes: ['0', '1'], l2: 0.5, maxIter: 30, threads });
  console.log(threads, createHash('sha256').update(JSON.stringify(m)).digest('hex').slice(0, 16));
}
