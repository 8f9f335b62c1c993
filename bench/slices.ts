/**
 * Per-slice evaluation metrics on a large test split: the grouping evaluation used before (an array
 * copied per row, `[...(groups.get(v) ?? []), i]`, quadratic in a slice's size; reproduced below as it
 * was in src/activities/pipeline.ts at 8d72328) against src/ml/slices.ts (a counting sort, linear).
 * Both compute the same metrics per slice with metricsOnRows, and the results are checked to be equal.
 *
 *   node --import tsx bench/slices.ts [rows] [runs] [--skip-before]
 *
 * Data: binary scores on `rows` test rows (default 80,000), sliced by two text columns: `region`
 * (2 values, so slices of 40k rows: the before case's worst) and `segment` (50 values, the most
 * evaluation.sliceBy allows). Figures: bench/RESULTS.md.
 */
import { metricsOnRows, ScoredRows, SliceColumn, SliceResult, sliceMetrics } from '../src/ml/slices';
import { createRng } from '../src/ml/random';
import { Task } from '../src/ml/task';

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const rows = Number(args[0] ?? 80_000);
const runs = Number(args[1] ?? 3);
const skipBefore = process.argv.includes('--skip-before');
const task: Task = 'binary';

const rng = createRng(2026);
const y = new Float64Array(rows);
const outputs = new Float32Array(rows * 2);
const region: string[] = [];
const segment: string[] = [];
for (let i = 0; i < rows; i++) {
  y[i] = rng() < 0.3 ? 1 : 0;
  const p = Math.min(1, Math.max(0, 0.3 + (y[i] - 0.3) * 0.4 + (rng() - 0.5) * 0.6));
  outputs[i * 2] = 1 - p;
  outputs[i * 2 + 1] = p;
  region.push(rng() < 0.5 ? 'north' : 'south');
  segment.push(`s${Math.floor(rng() * 50)}`);
}
const scored: ScoredRows = { y, outputs, width: 2 };
const columns: SliceColumn[] = [
  { name: 'region', keyOf: (i) => region[i] },
  { name: 'segment', keyOf: (i) => segment[i] },
];

/** The grouping evaluateModel did before, kept only to measure it. */
function before(): SliceResult[] {
  const slices: SliceResult[] = [];
  for (const { name, keyOf } of columns) {
    const groups = new Map<string, number[]>();
    for (let i = 0; i < rows; i++) {
      const value = keyOf(i);
      groups.set(value, [...(groups.get(value) ?? []), i]);
    }
    for (const [value, picked] of [...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      slices.push({ column: name, value, n: picked.length, metrics: metricsOnRows(task, scored, picked).metrics });
    }
  }
  return slices;
}

const after = () => sliceMetrics(task, scored, columns);

async function time<T>(f: () => T | Promise<T>): Promise<{ seconds: number; result: T }> {
  const started = process.hrtime.bigint();
  const result = await f();
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, result };
}

async function main(): Promise<void> {
  console.log(`per-slice metrics, ${rows} binary test rows, slices of region (2) and segment (50); Node ${process.version}`);
  const overall = await time(() => metricsOnRows(task, scored));
  console.log(`  overall metrics once (the floor):   ${overall.seconds.toFixed(3)} s`);
  const afterTimes: number[] = [];
  let reference: SliceResult[] = [];
  for (let r = 0; r < runs; r++) {
    const t = await time(after);
    afterTimes.push(t.seconds);
    reference = t.result;
  }
  console.log(`  after  (counting sort), ${runs} runs: ${afterTimes.map((s) => s.toFixed(3)).join(' ')} s`);
  if (!skipBefore) {
    const t = await time(before);
    console.log(`  before (array copy per row), 1 run: ${t.seconds.toFixed(3)} s`);
    if (JSON.stringify(t.result) !== JSON.stringify(reference)) throw new Error('before and after differ');
    console.log('  the two agree on every slice');
  }
  console.log(`  slices: ${reference.length}`);
}

void main();
