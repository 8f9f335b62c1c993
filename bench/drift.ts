/**
 * Drift statistics over 1M rows x 30 features against a reference of the same size (used in full, not
 * sampled): per feature the two-sample KS test (statistic and p-value, 'auto', which is asymptotic at
 * this size) and PSI over ten reference-quantile bins. Ours against scipy.stats.ks_2samp plus a numpy
 * PSI (bench/drift_scipy.py, a child process reading the same rows), timed in the same run, and the
 * results checked to agree to 1e-9.
 *
 *   python3 -m pip install --target /tmp/pyref scipy numpy     # once
 *   PYTHONPATH=/tmp/pyref node --import tsx bench/drift.ts [rows] [cols] [runs]
 *
 * Data: standard normals at several scales; every fifth feature's current values shifted by 0.02
 * standard deviations (a drift the KS test notices at this size, which sends the p-value through the
 * exact Smirnov sum), every sixth rounded to one decimal (ties). Figures: bench/RESULTS.md.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { binCountsSorted, ks2SampSorted, psi, quantileEdgesSorted, sortedValues } from '../src/ml/drift';
import { createRng } from '../src/ml/random';

const rows = Number(process.argv[2] ?? 1_000_000);
const cols = Number(process.argv[3] ?? 30);
const runs = Number(process.argv[4] ?? 3);
const bins = 10;

const rng = createRng(2026);
const normal = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
const reference: Float64Array[] = [];
const current: Float64Array[] = [];
for (let j = 0; j < cols; j++) {
  const scale = [1, 10, 0.01, 250][j % 4];
  const shift = j % 5 === 4 ? 0.02 : 0;
  const tidy = j % 6 === 0 ? (v: number) => Math.round(v * 10) / 10 : (v: number) => v;
  reference.push(Float64Array.from({ length: rows }, () => tidy(normal() * scale)));
  current.push(Float64Array.from({ length: rows }, () => tidy((normal() + shift) * scale)));
}
const prefix = path.join(os.tmpdir(), `bench-drift-${process.pid}-${rows}x${cols}`);
const write = (file: string, columns: Float64Array[]) => {
  const fd = fs.openSync(file, 'w');
  for (const c of columns) fs.writeSync(fd, new Uint8Array(c.buffer, c.byteOffset, c.byteLength));
  fs.closeSync(fd);
};
write(`${prefix}.ref.f64`, reference);
write(`${prefix}.cur.f64`, current);

interface FeatureResult { statistic: number; pvalue: number; psi: number }
function ours(): { seconds: number; sort: number; rest: number; features: FeatureResult[] } {
  const features: FeatureResult[] = [];
  let sort = 0;
  const started = process.hrtime.bigint();
  for (let j = 0; j < cols; j++) {
    const t0 = process.hrtime.bigint();
    const a = sortedValues(reference[j]);
    const b = sortedValues(current[j]);
    sort += Number(process.hrtime.bigint() - t0) / 1e9;
    const ks = ks2SampSorted(a, b, 'auto');
    const edges = quantileEdgesSorted(a, bins);
    features.push({ statistic: ks.statistic, pvalue: ks.pvalue, psi: psi(binCountsSorted(a, edges), binCountsSorted(b, edges)) });
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { seconds, sort, rest: seconds - sort, features };
}

function scipy(): { timings: { seconds: number; ks: number; psi: number }[]; features: FeatureResult[] } | { error: string } {
  const py = spawnSync('python3', [path.join(__dirname, 'drift_scipy.py'), prefix, String(rows), String(cols), String(bins), '1'], { encoding: 'utf8', maxBuffer: 1 << 26 });
  return py.status === 0 ? JSON.parse(py.stdout) : { error: py.stderr.trim().split('\n').pop() ?? `exit ${py.status}` };
}

const relative = (x: number, y: number) => (x === y ? 0 : Math.abs(x - y) / Math.max(Math.abs(y), 1e-300));
console.log(`drift statistics, KS + PSI, ${rows} x ${cols} current against ${rows} x ${cols} reference, ${os.cpus().length} cores (${os.cpus()[0]?.model})`);
try {
  for (let run = 1; run <= runs; run++) {
    const mine = ours();
    const theirs = scipy();
    if ('error' in theirs) {
      console.log(`  run ${run}: ours ${mine.seconds.toFixed(2)} s; scipy not run: ${theirs.error} (python3 -m pip install --target /tmp/pyref scipy numpy; PYTHONPATH=/tmp/pyref)`);
      continue;
    }
    const t = theirs.timings[0];
    let worst = { statistic: 0, pvalue: 0, psi: 0 };
    mine.features.forEach((f, j) => {
      const r = theirs.features[j];
      worst = { statistic: Math.max(worst.statistic, relative(f.statistic, r.statistic)), pvalue: Math.max(worst.pvalue, relative(f.pvalue, r.pvalue)), psi: Math.max(worst.psi, relative(f.psi, r.psi)) };
    });
    const agree = worst.statistic <= 1e-9 && worst.pvalue <= 1e-9 && worst.psi <= 1e-9;
    console.log(`  run ${run}: ours ${mine.seconds.toFixed(2)} s (sorting ${mine.sort.toFixed(2)} s, KS walk + p-values + PSI ${mine.rest.toFixed(2)} s); ` +
      `scipy + numpy ${t.seconds.toFixed(2)} s (ks_2samp ${t.ks.toFixed(2)} s, PSI ${t.psi.toFixed(2)} s); ratio ${(mine.seconds / t.seconds).toFixed(2)}x; ` +
      `largest relative difference: statistic ${worst.statistic.toExponential(1)}, p-value ${worst.pvalue.toExponential(1)}, PSI ${worst.psi.toExponential(1)} ${agree ? '(agree to 1e-9)' : '(DISAGREE)'}`);
    if (run === runs) {
      const ps = mine.features.map((f) => f.pvalue);
      console.log(`  p-values from ${Math.min(...ps).toExponential(2)} to ${Math.max(...ps).toFixed(3)}; drifted features (every fifth): PSI ${mine.features.filter((_, j) => j % 5 === 4).map((f) => f.psi.toExponential(1)).join(', ')}`);
    }
  }
} finally {
  fs.rmSync(`${prefix}.ref.f64`, { force: true });
  fs.rmSync(`${prefix}.cur.f64`, { force: true });
}
