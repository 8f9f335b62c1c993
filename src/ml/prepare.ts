/** The one recipe that turns a table into labelled train / validation / test matrices. */
import { designMatrix, Matrix, pick } from './features';
import { Split, stratifiedSplit } from './split';
import { binaryTarget } from './target';
import { getColumn, Table } from './table';

export interface PreparedData {
  features: string[];
  classes: [string, string];
  split: Split;
  x: { train: Matrix; validation: Matrix; test: Matrix };
  y: { train: Float64Array; validation: Float64Array; test: Float64Array };
}

export const DEFAULT_SPLIT = { validationFraction: 0.15, testFraction: 0.15 };

/** Deterministic for the same table, target, features, positive class and seed. */
export function prepareBinaryData(table: Table, o: { target: string; features: string[]; positiveClass?: string; seed: number }): PreparedData {
  const column = getColumn(table, o.target);
  if (!column) throw new Error(`target column "${o.target}" is not in the data`);
  const { classes, y } = binaryTarget(column, o.positiveClass);
  const split = stratifiedSplit(y, { seed: o.seed, ...DEFAULT_SPLIT });
  return {
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
