/**
 * What changed between two dataset versions, from their saved statistics alone (no data is read):
 * columns added, removed or retyped, and per shared column the moves in missing share, range, mean
 * (also in the earlier version's standard deviations), spread, median and categories.
 */
import { SKEW_THRESHOLD } from './schema';
import type { ColumnStatistics } from './statistics';

interface Change { before: number | null; after: number | null }

export interface ColumnDiff {
  name: string;
  type: 'number' | 'string';
  missingRatio: Change;
  distinct: Change;
  /** Numbers only. */
  min?: Change;
  max?: Change;
  mean?: Change & { shiftInStd: number | null };
  std?: Change;
  median?: Change;
  /** Text only: frequent values that appeared or disappeared (statistics keep the top ten). */
  categories?: { added: string[]; removed: string[] };
  /** True when the mean moved by more than the skew threshold or categories changed. */
  notable: boolean;
}

export interface DatasetDiff {
  rows: Change;
  added: { name: string; type: string }[];
  removed: { name: string; type: string }[];
  retyped: { name: string; before: string; after: string }[];
  columns: ColumnDiff[];
}

const change = (before: number | null | undefined, after: number | null | undefined): Change => ({ before: before ?? null, after: after ?? null });
const missingRatio = (s: ColumnStatistics) => (s.count + s.missing > 0 ? s.missing / (s.count + s.missing) : 0);

export function diffStatistics(before: ColumnStatistics[], after: ColumnStatistics[], rows: { before: number; after: number }): DatasetDiff {
  const old = new Map(before.map((s) => [s.name, s]));
  const now = new Map(after.map((s) => [s.name, s]));
  const diff: DatasetDiff = {
    rows: change(rows.before, rows.after),
    added: after.filter((s) => !old.has(s.name)).map((s) => ({ name: s.name, type: s.type })),
    removed: before.filter((s) => !now.has(s.name)).map((s) => ({ name: s.name, type: s.type })),
    retyped: [],
    columns: [],
  };
  for (const b of before) {
    const a = now.get(b.name);
    if (!a) continue;
    if (a.type !== b.type) { diff.retyped.push({ name: b.name, before: b.type, after: a.type }); continue; }
    const column: ColumnDiff = { name: b.name, type: b.type, missingRatio: change(missingRatio(b), missingRatio(a)), distinct: change(b.distinct, a.distinct), notable: false };
    if (b.type === 'number' && a.type === 'number') {
      const shift = b.mean !== null && a.mean !== null && b.std ? (a.mean - b.mean) / b.std : null;
      Object.assign(column, { min: change(b.min, a.min), max: change(b.max, a.max), mean: { ...change(b.mean, a.mean), shiftInStd: shift }, std: change(b.std, a.std), median: change(b.quantiles.p50, a.quantiles.p50) });
      column.notable = shift !== null && Math.abs(shift) > SKEW_THRESHOLD;
    } else if (b.type === 'string' && a.type === 'string') {
      const was = new Set(b.top.map((t) => t.value));
      const is = new Set(a.top.map((t) => t.value));
      column.categories = { added: [...is].filter((v) => !was.has(v)).sort(), removed: [...was].filter((v) => !is.has(v)).sort() };
      column.notable = column.categories.added.length + column.categories.removed.length > 0;
    }
    column.notable ||= Math.abs(column.missingRatio.after! - column.missingRatio.before!) > 0.05;
    diff.columns.push(column);
  }
  return diff;
}
