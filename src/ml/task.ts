/** What kind of learning problem a target column poses (the families that solve each are in families/). */
import { labelCounts } from './target';
import { cellText, Column, columnLength } from './table';

export type Task = 'binary' | 'multiclass' | 'regression';
/** Most classes a classifier target may have; more usually means a numeric target or an id column. */
export const MAX_CLASSES = 50;
/** A numeric target with at most this many distinct whole numbers is read as classes. */
const MAX_INTEGER_CLASSES = 10;

/**
 * Reads the task off the target: two labels make a binary problem; text, or a few whole numbers,
 * make a multi-class one; other numbers make a regression.
 */
export function inferTask(column: Column): Task {
  const counts = labelCounts(column);
  if (counts.size <= 2) return 'binary';
  if (column.kind === 'string') return 'multiclass';
  const labels = [...counts.keys()].map(Number);
  return labels.length <= MAX_INTEGER_CLASSES && labels.every((v) => Number.isInteger(v)) ? 'multiclass' : 'regression';
}

/** Class labels in a stable order: numerically when all are numbers, else as text. */
export function orderedClasses(column: Column): string[] {
  const labels = [...labelCounts(column).keys()];
  const numeric = labels.every((l) => l !== '' && Number.isFinite(Number(l)));
  return labels.sort(numeric ? (a, b) => Number(a) - Number(b) : (a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Class index per row (NaN where the label is missing). */
export function classIndices(column: Column, classes: string[]): Float64Array {
  const index = new Map(classes.map((c, i) => [c, i]));
  const y = new Float64Array(columnLength(column));
  for (let i = 0; i < y.length; i++) {
    const label = cellText(column, i);
    y[i] = label === null ? NaN : index.get(label) ?? NaN;
  }
  return y;
}
