/** Turns a label column into 0/1 targets for binary classification. */
import { cellText, Column, columnLength } from './table';

export interface BinaryTarget {
  /** [negative, positive] class labels, as text. */
  classes: [string, string];
  /** 1 for the positive class, 0 for the negative, NaN where the label is missing. */
  y: Float64Array;
}

const POSITIVE_SPELLINGS = ['1', 'true', 'yes', 'y', 'positive', 'pos'];

/** Distinct non-missing labels with their counts, in first-seen order. */
export function labelCounts(column: Column): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < columnLength(column); i++) {
    const label = cellText(column, i);
    if (label !== null) counts.set(label, (counts.get(label) ?? 0) + 1);
  }
  return counts;
}

/**
 * Chooses the positive class: the one the caller names; else a conventional "yes" spelling
 * (1, true, yes); else the rarer class, which is usually the event of interest (churn, fraud, disease).
 */
export function choosePositiveClass(counts: Map<string, number>, requested?: string): string {
  const labels = [...counts.keys()];
  if (requested !== undefined) {
    if (!counts.has(requested)) throw new Error(`positive class "${requested}" does not occur in the target; labels are ${labels.join(', ')}`);
    return requested;
  }
  const conventional = labels.find((l) => POSITIVE_SPELLINGS.includes(l.toLowerCase()));
  if (conventional !== undefined) return conventional;
  return [...labels].sort((a, b) => counts.get(a)! - counts.get(b)! || (a < b ? 1 : -1))[0];
}

export function binaryTarget(column: Column, positiveClass?: string): BinaryTarget {
  const counts = labelCounts(column);
  if (counts.size !== 2) throw new Error(`binary classification needs exactly 2 classes in "${column.name}", found ${counts.size}`);
  const positive = choosePositiveClass(counts, positiveClass);
  const negative = [...counts.keys()].find((l) => l !== positive)!;
  const y = new Float64Array(columnLength(column));
  for (let i = 0; i < y.length; i++) {
    const label = cellText(column, i);
    y[i] = label === null ? NaN : label === positive ? 1 : 0;
  }
  return { classes: [negative, positive], y };
}
