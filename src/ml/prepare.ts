/** The one recipe that turns a table into labelled train / validation / test matrices. */
import { designMatrix, Matrix, pick } from './features';
import { Split, stratifiedSplit } from './split';
import { binaryTarget } from './target';
import { getColumn, Table } from './table';
import { classIndices, orderedClasses, Task } from './task';

export interface PreparedData {
  task: Task;
  features: string[];
  /** Class labels in output order (classification only); for binary, [negative, positive]. */
  classes: string[];
  split: Split;
  x: { train: Matrix; validation: Matrix; test: Matrix };
  /** Class index (classification) or value (regression) per row of each part. */
  y: { train: Float64Array; validation: Float64Array; test: Float64Array };
}

export const DEFAULT_SPLIT = { validationFraction: 0.15, testFraction: 0.15 };

export interface PrepareOptions {
  target: string;
  features: string[];
  task?: Task;
  positiveClass?: string;
  seed: number;
}

/** Deterministic for the same table, target, features, task, positive class and seed. */
export function prepareData(table: Table, o: PrepareOptions): PreparedData {
  const column = getColumn(table, o.target);
  if (!column) throw new Error(`target column "${o.target}" is not in the data`);
  const task = o.task ?? 'binary';
  let classes: string[] = [];
  let y: Float64Array;
  if (task === 'binary') ({ classes, y } = binaryTarget(column, o.positiveClass));
  else if (task === 'multiclass') { classes = orderedClasses(column); y = classIndices(column, classes); }
  else {
    if (column.kind !== 'number') throw new Error(`regression needs a numeric target; "${o.target}" holds text`);
    y = column.values;
  }
  // Classification splits keep each class's share; regression splits rows with a target at random.
  const strata = task === 'regression' ? y.map((v) => (Number.isNaN(v) ? NaN : 0)) : y;
  const split = stratifiedSplit(strata, { seed: o.seed, ...DEFAULT_SPLIT });
  return {
    task,
    features: o.features,
    classes,
    split,
    x: {
      train: designMatrix(table, o.features, split.train),
      validation: designMatrix(table, o.features, split.validation),
      test: designMatrix(table, o.features, split.test),
    },
    y: { train: pick(y, split.train), validation: pick(y, split.validation), test: pick(y, split.test) },
  };
}

/** Binary classification data (the classes are [negative, positive]). */
export function prepareBinaryData(table: Table, o: Omit<PrepareOptions, 'task'>): PreparedData & { classes: [string, string] } {
  return prepareData(table, { ...o, task: 'binary' }) as PreparedData & { classes: [string, string] };
}
