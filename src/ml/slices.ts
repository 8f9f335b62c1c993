/**
 * Evaluation metrics per slice: the scored test rows grouped by the value of a column, and the task's
 * metrics on each group. Grouping is a counting sort (one pass counts each key's rows, one places them
 * in a single index array), so it is linear in the rows; the slices of a column together then cost
 * what the overall metrics cost. Plain TypeScript: the activity passes a callback to heartbeat with.
 */
import { binaryMetrics, multiclassMetrics, regressionMetrics } from './metrics';
import { Task } from './task';

export type MetricRecord = Record<string, number>;

/** A model's outputs on scored rows: targets, and outputs row-major, `width` per row (1 for regression, the class count otherwise). */
export interface ScoredRows { y: Float64Array; outputs: Float64Array | Float32Array; width: number }

/** The numeric fields of a metrics object, as a plain record (the confusion matrix travels apart). */
function numbersOf(metrics: object): MetricRecord {
  return Object.fromEntries(Object.entries(metrics).filter(([, v]) => typeof v === 'number')) as MetricRecord;
}

/** The task's metrics on the scored rows at positions `rows` (all of them when absent). */
export function metricsOnRows(task: Task, scored: ScoredRows, rows?: ArrayLike<number>): { metrics: MetricRecord; confusion?: number[][] } {
  const { y, outputs, width } = scored;
  const n = rows ? rows.length : y.length;
  const at = rows ? (k: number) => rows[k] : (k: number) => k;
  const ys = new Float64Array(n);
  for (let k = 0; k < n; k++) ys[k] = y[at(k)];
  if (task === 'regression' || task === 'binary') {
    // binary outputs are [P(class 0), P(class 1)] per row; the score is the second
    const column = task === 'binary' ? 1 : 0;
    const picked = new Float64Array(n);
    for (let k = 0; k < n; k++) picked[k] = outputs[at(k) * width + column];
    return { metrics: numbersOf(task === 'binary' ? binaryMetrics(ys, picked) : regressionMetrics(ys, picked)) };
  }
  const probabilities = new Float64Array(n * width);
  for (let k = 0; k < n; k++) {
    const i = at(k);
    for (let c = 0; c < width; c++) probabilities[k * width + c] = outputs[i * width + c];
  }
  const { confusion, ...rest } = multiclassMetrics(ys, probabilities, width);
  return { metrics: numbersOf(rest), confusion };
}

export interface RowGroup { key: string; rows: Int32Array }

const byKey = (a: RowGroup, b: RowGroup) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/**
 * Positions 0..n-1 grouped by keyOf(position): the groups in code-unit order of their keys, positions
 * ascending within each. The groups are views of one Int32Array of n positions.
 */
export function groupRows(n: number, keyOf: (position: number) => string): RowGroup[] {
  const ids = new Int32Array(n);
  const index = new Map<string, number>();
  const keys: string[] = [];
  const counts: number[] = [];
  for (let i = 0; i < n; i++) {
    const key = keyOf(i);
    let id = index.get(key);
    if (id === undefined) {
      id = keys.length;
      index.set(key, id);
      keys.push(key);
      counts.push(0);
    }
    ids[i] = id;
    counts[id]++;
  }
  const starts = new Int32Array(keys.length + 1);
  for (let g = 0; g < keys.length; g++) starts[g + 1] = starts[g] + counts[g];
  const next = starts.slice(0, keys.length);
  const placed = new Int32Array(n);
  for (let i = 0; i < n; i++) placed[next[ids[i]]++] = i;
  return keys.map((key, g) => ({ key, rows: placed.subarray(starts[g], starts[g + 1]) })).sort(byKey);
}

/** A column to slice by: its name, and the slice a scored row (by position) belongs to. */
export interface SliceColumn { name: string; keyOf: (position: number) => string }

export interface SliceResult { column: string; value: string; n: number; metrics: MetricRecord }

/** Where slicing is, for progress reports (heartbeats): after each slice. */
export interface SliceProgress { column: string; value: string; slice: number; slices: number }

/**
 * The task's metrics on every slice of every column, in column order and value order within a column.
 * `onSlice` runs after each slice and is awaited, so a caller can heartbeat and let the event loop
 * deliver it before the next slice is computed.
 */
export async function sliceMetrics(task: Task, scored: ScoredRows, columns: SliceColumn[], onSlice?: (progress: SliceProgress) => void | Promise<void>): Promise<SliceResult[]> {
  const out: SliceResult[] = [];
  for (const column of columns) {
    const groups = groupRows(scored.y.length, column.keyOf);
    for (let g = 0; g < groups.length; g++) {
      const { key, rows } = groups[g];
      out.push({ column: column.name, value: key, n: rows.length, metrics: metricsOnRows(task, scored, rows).metrics });
      await onSlice?.({ column: column.name, value: key, slice: g + 1, slices: groups.length });
    }
  }
  return out;
}
