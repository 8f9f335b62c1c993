/** The one recipe that turns a table into labelled, preprocessed train / validation / test matrices. */
import { Matrix } from './features';
import { applyRecipe, applyRecipeColumns, FittedRecipe, fitRecipe, outputNames, RecipeSpec, rowsWithinBounds } from './recipe';
import { Split, stratifiedSplit } from './split';
import { binaryTarget } from './target';
import { getColumn, Table } from './table';
import { classIndices, orderedClasses, Task } from './task';

export interface PreparedData {
  task: Task;
  /** Class labels in output order (classification only); for binary, [negative, positive]. */
  classes: string[];
  split: Split;
  /** Preprocessing learned on the training rows. */
  recipe: FittedRecipe;
  /** Names of the preprocessed columns (numeric features, then one column per category). */
  features: string[];
  /** Training rows column-major (for fitting); validation and test rows row-major (for scoring). */
  x: { train: Float64Array[]; validation: Matrix; test: Matrix };
  /** Class index (classification) or value (regression) per row of each part. */
  y: { train: Float64Array; validation: Float64Array; test: Float64Array };
}

export const DEFAULT_SPLIT = { validationFraction: 0.15, testFraction: 0.15 };

export interface PrepareOptions {
  target: string;
  /** Raw numeric features, and raw text features to one-hot encode. */
  numeric: string[];
  categorical?: string[];
  task?: Task;
  positiveClass?: string;
  seed: number;
  recipe?: RecipeSpec;
}

/** The target as class indices or values, and the class labels. */
export function encodeTarget(table: Table, o: Pick<PrepareOptions, 'target' | 'task' | 'positiveClass'>): { classes: string[]; y: Float64Array } {
  const column = getColumn(table, o.target);
  if (!column) throw new Error(`target column "${o.target}" is not in the data`);
  const task = o.task ?? 'binary';
  if (task === 'binary') return binaryTarget(column, o.positiveClass);
  if (task === 'multiclass') { const classes = orderedClasses(column); return { classes, y: classIndices(column, classes) }; }
  if (column.kind !== 'number') throw new Error(`regression needs a numeric target; "${o.target}" holds text`);
  return { classes: [], y: column.values };
}

/** The seeded split: classification keeps each class's share in every part; regression splits at random. */
export function splitRows(y: Float64Array, task: Task, seed: number): Split {
  const strata = task === 'regression' ? y.map((v) => (Number.isNaN(v) ? NaN : 0)) : y;
  return stratifiedSplit(strata, { seed, ...DEFAULT_SPLIT });
}

/** Deterministic for the same table, options and seed. */
export function prepareData(table: Table, o: PrepareOptions): PreparedData {
  const task = o.task ?? 'binary';
  const { classes, y } = encodeTarget(table, o);
  const split = splitRows(y, task, o.seed);
  let recipe = fitRecipe(table, split.train, o.numeric, o.categorical ?? [], o.recipe);
  if (recipe.spec.outliers?.action === 'drop') {
    // Outlying training rows are left out, and the recipe is learned again on the rows that stay.
    const bounds = recipe.numeric;
    split.train = rowsWithinBounds(recipe, table, split.train);
    const refit = fitRecipe(table, split.train, o.numeric, o.categorical ?? [], { ...o.recipe, outliers: undefined });
    recipe = { ...refit, spec: { ...refit.spec, outliers: o.recipe!.outliers }, numeric: refit.numeric.map((n, j) => ({ ...n, lower: bounds[j].lower, upper: bounds[j].upper })) };
  }
  const pick = (rows: Int32Array) => Float64Array.from(rows, (r) => y[r]);
  return {
    task,
    classes,
    split,
    recipe,
    features: outputNames(recipe),
    x: { train: applyRecipeColumns(recipe, table, split.train), validation: applyRecipe(recipe, table, split.validation), test: applyRecipe(recipe, table, split.test) },
    y: { train: pick(split.train), validation: pick(split.validation), test: pick(split.test) },
  };
}
