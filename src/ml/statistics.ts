/**
 * Per-column statistics of a table (TFX StatisticsGen's role): saved with every dataset version so
 * later versions can be compared with it, and shown to people deciding about a model.
 */
import { sortedValues } from './drift';
import { Column, Table } from './table';

export interface NumericStatistics {
  name: string;
  type: 'number';
  count: number;
  missing: number;
  min: number | null;
  max: number | null;
  mean: number | null;
  std: number | null;
  /** Quantiles by linear interpolation between order statistics (numpy's default). */
  quantiles: Record<'p05' | 'p25' | 'p50' | 'p75' | 'p95', number | null>;
  distinct: number;
}

export interface TextStatistics {
  name: string;
  type: 'string';
  count: number;
  missing: number;
  distinct: number;
  /** The most frequent values, most frequent first (ties by value), at most ten. */
  top: { value: string; count: number }[];
}

export type ColumnStatistics = NumericStatistics | TextStatistics;

/** Quantile q in [0, 1] of ascending-sorted values, numpy 'linear' method. */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const position = (n - 1) * q;
  const lower = Math.floor(position);
  const upper = Math.min(lower + 1, n - 1);
  return sorted[lower] + (sorted[upper] - sorted[lower]) * (position - lower);
}

function numericStatistics(name: string, values: Float64Array): NumericStatistics {
  let sum = 0;
  for (let i = 0; i < values.length; i++) if (values[i] === values[i]) sum += values[i]; // not NaN
  // a radix sort: 10M values in a fraction of a second, where Float64Array.sort takes seconds
  const present = sortedValues(values);
  const count = present.length;
  const mean = count > 0 ? sum / count : NaN;
  let squares = 0;
  for (let i = 0; i < count; i++) squares += (present[i] - mean) ** 2;
  let distinct = count > 0 ? 1 : 0;
  for (let i = 1; i < count; i++) if (present[i] !== present[i - 1]) distinct++;
  const q = (p: number) => (count > 0 ? quantileSorted(present, p) : null);
  return {
    name,
    type: 'number',
    count,
    missing: values.length - count,
    min: count > 0 ? present[0] : null,
    max: count > 0 ? present[count - 1] : null,
    mean: count > 0 ? mean : null,
    // population standard deviation, as the standardisation in training uses
    std: count > 0 ? Math.sqrt(squares / count) : null,
    quantiles: { p05: q(0.05), p25: q(0.25), p50: q(0.5), p75: q(0.75), p95: q(0.95) },
    distinct,
  };
}

function textStatistics(name: string, codes: Int32Array, dictionary: string[]): TextStatistics {
  const counts = new Float64Array(dictionary.length);
  let missing = 0;
  for (let i = 0; i < codes.length; i++) codes[i] < 0 ? missing++ : counts[codes[i]]++;
  const top = dictionary
    .map((value, code) => ({ value, count: counts[code] }))
    .filter((t) => t.count > 0)
    .sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0))
    .slice(0, 10);
  return { name, type: 'string', count: codes.length - missing, missing, distinct: counts.filter((c) => c > 0).length, top };
}

export function columnStatistics(column: Column): ColumnStatistics {
  return column.kind === 'number' ? numericStatistics(column.name, column.values) : textStatistics(column.name, column.codes, column.dictionary);
}

export function tableStatistics(table: Table): ColumnStatistics[] {
  return table.columns.map(columnStatistics);
}
