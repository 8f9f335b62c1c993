/**
 * The preprocessing recipe: learned on the training rows, applied identically in TypeScript (to train
 * and score) and inside the ONNX graph (to serve), so a served model takes raw features.
 *
 * Derived features (`name = expression`) are computed from the numeric inputs first.
 * Numeric features: impute missing values (mean, median, most frequent or a constant), optionally clip
 * or flag outliers, then scale (standard, min-max or none). Text features: one-hot over the categories seen in training; a missing
 * or unseen category encodes as all zeros. The output is one matrix: numeric block, then one-hot blocks.
 */
import { sharedFloats } from './row-threads';
import { evaluateDerived, ExpressionError, parseDerived } from './expressions';
import { Matrix } from './features';
import { quantileSorted } from './statistics';
import { cellText, getColumn, Table } from './table';

export interface RecipeSpec {
  /** Derived numeric features, `name = expression` over numeric columns (see expressions.ts). */
  derive?: string[];
  impute?: 'mean' | 'median' | 'most_frequent' | 'constant';
  /** The value `impute: "constant"` fills in. */
  imputeValue?: number;
  scale?: 'standard' | 'minmax' | 'none';
  /**
   * Outliers of numeric features, bounded by the interquartile range (q1 − k·IQR, q3 + k·IQR; k = 1.5)
   * or the z-score (mean ± k·sd; k = 3) of the training rows: `clip` them to the bounds, `drop` training
   * rows that have any (validation and test rows stay), or `flag` them with one 0/1 feature per column.
   */
  outliers?: { method?: 'iqr' | 'zscore'; action: 'clip' | 'drop' | 'flag'; threshold?: number };
}

export interface NumericStep {
  name: string;
  impute: number;
  center: number;
  scale: number;
  /** Outlier bounds, when the recipe handles outliers. */
  lower?: number;
  upper?: number;
}

export interface CategoricalStep {
  name: string;
  categories: string[];
}

export interface FittedRecipe {
  spec: Required<Pick<RecipeSpec, 'impute' | 'scale'>> & Pick<RecipeSpec, 'imputeValue' | 'outliers'>;
  /** Raw numeric columns the model reads (its `numeric` input), in order. */
  inputs: string[];
  /** Derived features, computed from the inputs before imputation; their steps follow the inputs'. */
  derived: string[];
  /** One step per input, then one per derived feature. */
  numeric: NumericStep[];
  categorical: CategoricalStep[];
}

/** Whether the recipe adds a 0/1 outlier flag per numeric feature. */
export const flagsOutliers = (recipe: FittedRecipe) => recipe.spec.outliers?.action === 'flag';

/** Columns the recipe produces, in order: numeric names, outlier flags, then `name=category` per one-hot column. */
export function outputNames(recipe: FittedRecipe): string[] {
  return [
    ...recipe.numeric.map((n) => n.name),
    ...(flagsOutliers(recipe) ? recipe.numeric.map((n) => `${n.name}_outlier`) : []),
    ...recipe.categorical.flatMap((c) => c.categories.map((k) => `${c.name}=${k}`)),
  ];
}

/** Bounds outside which a value is an outlier, from the present training values. */
function outlierBounds(values: Float64Array, o: NonNullable<RecipeSpec['outliers']>): { lower: number; upper: number } {
  if (values.length === 0) return { lower: -Infinity, upper: Infinity };
  if ((o.method ?? 'iqr') === 'iqr') {
    const sorted = Float64Array.from(values).sort();
    const q1 = quantileSorted(sorted, 0.25), q3 = quantileSorted(sorted, 0.75);
    const k = o.threshold ?? 1.5;
    return { lower: q1 - k * (q3 - q1), upper: q3 + k * (q3 - q1) };
  }
  let sum = 0;
  for (const v of values) sum += v;
  const mean = sum / values.length;
  let squares = 0;
  for (const v of values) squares += (v - mean) ** 2;
  const k = o.threshold ?? 3;
  const sd = Math.sqrt(squares / values.length);
  return { lower: mean - k * sd, upper: mean + k * sd };
}

/** Training rows whose numeric features all lie within the recipe's bounds (missing values pass). */
export function rowsWithinBounds(recipe: FittedRecipe, source: Table, rows: Int32Array): Int32Array {
  const table = withDerived(source, recipe.derived);
  const keep: number[] = [];
  const columns = recipe.numeric.map((step) => (getColumn(table, step.name) as { values: Float64Array }).values);
  for (const r of rows) {
    if (recipe.numeric.every((step, j) => { const v = columns[j][r]; return !(v < step.lower!) && !(v > step.upper!); })) keep.push(r);
  }
  return Int32Array.from(keep);
}

function present(values: Float64Array, rows: Int32Array): Float64Array {
  let n = 0;
  for (let r = 0; r < rows.length; r++) if (values[rows[r]] === values[rows[r]]) n++; // v === v: not NaN
  const out = new Float64Array(n);
  for (let r = 0, k = 0; r < rows.length; r++) { const v = values[rows[r]]; if (v === v) out[k++] = v; }
  return out;
}

function mostFrequent(sorted: Float64Array): number {
  let best = sorted[0], bestCount = 0, run = 0;
  for (let i = 0; i < sorted.length; i++) {
    run = i > 0 && sorted[i] === sorted[i - 1] ? run + 1 : 1;
    if (run > bestCount) { bestCount = run; best = sorted[i]; }
  }
  return best;
}

/** The table with each derived feature appended as a numeric column (computed for every row). */
export function withDerived(table: Table, derived: string[]): Table {
  if (derived.length === 0) return table;
  const columns = [...table.columns];
  for (const text of derived) {
    const feature = parseDerived(text);
    const values = evaluateDerived(feature, (name) => {
      const column = columns.find((c) => c.name === name);
      if (!column || column.kind !== 'number') throw new ExpressionError(`the expression for "${feature.name}" reads "${name}", which is not a numeric column`);
      return column.values;
    }, table.rowCount);
    columns.push({ name: feature.name, kind: 'number', values });
  }
  return { rowCount: table.rowCount, columns };
}

/** Learns every step from the training rows only, so validation and test rows stay unseen. */
export function fitRecipe(source: Table, rows: Int32Array, numeric: string[], categorical: string[], spec: RecipeSpec = {}): FittedRecipe {
  const impute = spec.impute ?? 'mean';
  const scaleKind = spec.scale ?? 'standard';
  const derived = spec.derive ?? [];
  const features = derived.map(parseDerived);
  const inputs = [...numeric];
  for (const f of features) for (const name of f.inputs) if (!inputs.includes(name) && !features.some((g) => g.name === name)) inputs.push(name);
  const table = withDerived(source, derived);
  const numericSteps = [...inputs, ...features.map((f) => f.name)].map((name): NumericStep => {
    const column = getColumn(table, name);
    if (!column || column.kind !== 'number') throw new Error(`feature "${name}" is not a numeric column`);
    const values = present(column.values, rows);
    const bounds = spec.outliers ? outlierBounds(values, spec.outliers) : undefined;
    if (bounds && spec.outliers!.action === 'clip') for (let i = 0; i < values.length; i++) values[i] = Math.min(Math.max(values[i], bounds.lower), bounds.upper);
    // Only the median and the most frequent value need sorted values; sorting is the costly part.
    if (impute === 'median' || impute === 'most_frequent') values.sort();
    const n = values.length;
    let sum = 0, min = Infinity, max = -Infinity;
    for (let i = 0; i < n; i++) { const v = values[i]; sum += v; if (v < min) min = v; if (v > max) max = v; }
    const mean = n > 0 ? sum / n : 0;
    let fill: number;
    if (impute === 'constant') fill = spec.imputeValue ?? 0;
    else if (n === 0) fill = 0;
    else if (impute === 'median') fill = quantileSorted(values, 0.5);
    else if (impute === 'most_frequent') fill = mostFrequent(values);
    else fill = mean;
    // Statistics of the imputed column: imputed cells count at the fill value.
    const missing = rows.length - n;
    const total = rows.length;
    const imputedMean = total > 0 ? (mean * n + fill * missing) / total : 0;
    let squares = missing * (fill - imputedMean) ** 2;
    for (let i = 0; i < n; i++) squares += (values[i] - imputedMean) ** 2;
    const sd = total > 0 ? Math.sqrt(squares / total) : 0;
    const low = missing > 0 ? Math.min(min, fill) : n > 0 ? min : fill;
    const high = missing > 0 ? Math.max(max, fill) : n > 0 ? max : fill;
    const step = { name, impute: fill, ...bounds };
    if (scaleKind === 'standard') return { ...step, center: imputedMean, scale: sd > 1e-12 ? sd : 1 };
    if (scaleKind === 'minmax') return { ...step, center: low, scale: high - low > 1e-12 ? high - low : 1 };
    return { ...step, center: 0, scale: 1 };
  });
  const categoricalSteps = categorical.map((name): CategoricalStep => {
    const column = getColumn(table, name);
    if (!column) throw new Error(`feature "${name}" is not in the data`);
    const seen = new Set<string>();
    for (let r = 0; r < rows.length; r++) { const t = cellText(column, rows[r]); if (t !== null) seen.add(t); }
    return { name, categories: [...seen].sort() };
  });
  return {
    spec: { impute, scale: scaleKind, ...(impute === 'constant' ? { imputeValue: spec.imputeValue ?? 0 } : {}), ...(spec.outliers ? { outliers: spec.outliers } : {}) },
    inputs, derived, numeric: numericSteps, categorical: categoricalSteps,
  };
}

/** Applies the recipe to rows of a table: a row-major matrix of outputNames(recipe) columns. */
export function applyRecipe(recipe: FittedRecipe, source: Table, rows: Int32Array): Matrix {
  const columns = applyRecipeColumns(recipe, source, rows);
  const width = columns.length;
  const data = new Float64Array(rows.length * width);
  columns.forEach((col, j) => { for (let r = 0; r < rows.length; r++) data[r * width + j] = col[r]; });
  return { rows: rows.length, cols: width, data };
}

/**
 * Applies the recipe straight into column-major arrays, the layout the fitting loops want: each output
 * column is written contiguously, with no row-major intermediate.
 */
export function applyRecipeColumns(recipe: FittedRecipe, source: Table, rows: Int32Array): Float64Array[] {
  const table = withDerived(source, recipe.derived);
  const clip = recipe.spec.outliers?.action === 'clip';
  const out: Float64Array[] = [];
  const raw = recipe.numeric.map((step) => {
    const column = getColumn(table, step.name);
    if (!column || column.kind !== 'number') throw new Error(`feature "${step.name}" is not a numeric column`);
    return column.values;
  });
  recipe.numeric.forEach((step, j) => {
    const values = raw[j];
    // on shared memory: the fitting loops read it from helper threads (row-threads.ts) without a copy
    const col = sharedFloats(rows.length);
    // plain locals: this loop runs once per training cell (10M rows x 30 columns at the top end)
    const { impute, center, scale } = step;
    const lower = clip ? step.lower! : -Infinity;
    const upper = clip ? step.upper! : Infinity;
    for (let r = 0; r < rows.length; r++) {
      let v = values[rows[r]];
      if (v !== v) v = impute; // NaN: missing
      if (v < lower) v = lower;
      else if (v > upper) v = upper;
      col[r] = (v - center) / scale;
    }
    out.push(col);
  });
  if (flagsOutliers(recipe)) {
    recipe.numeric.forEach((step, j) => {
      const values = raw[j];
      out.push(Float64Array.from(rows, (row) => (values[row] < step.lower! || values[row] > step.upper! ? 1 : 0)));
    });
  }
  for (const step of recipe.categorical) {
    const column = getColumn(table, step.name);
    if (!column) throw new Error(`feature "${step.name}" is not in the data`);
    const blocks = step.categories.map(() => new Float64Array(rows.length));
    const index = new Map(step.categories.map((c, k) => [c, k]));
    for (let r = 0; r < rows.length; r++) { const k = index.get(cellText(column, rows[r]) ?? ''); if (k !== undefined) blocks[k][r] = 1; }
    out.push(...blocks);
  }
  return out;
}
