/**
 * The preprocessing recipe: learned on the training rows, applied identically in TypeScript (to train
 * and score) and inside the ONNX graph (to serve), so a served model takes raw features.
 *
 * Derived features (`name = expression`) are computed from the numeric inputs first.
 * Numeric features: impute missing values (mean, median, most frequent or a constant), then scale
 * (standard, min-max or none). Text features: one-hot over the categories seen in training; a missing
 * or unseen category encodes as all zeros. The output is one matrix: numeric block, then one-hot blocks.
 */
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
}

export interface NumericStep {
  name: string;
  impute: number;
  center: number;
  scale: number;
}

export interface CategoricalStep {
  name: string;
  categories: string[];
}

export interface FittedRecipe {
  spec: Required<Pick<RecipeSpec, 'impute' | 'scale'>> & { imputeValue?: number };
  /** Raw numeric columns the model reads (its `numeric` input), in order. */
  inputs: string[];
  /** Derived features, computed from the inputs before imputation; their steps follow the inputs'. */
  derived: string[];
  /** One step per input, then one per derived feature. */
  numeric: NumericStep[];
  categorical: CategoricalStep[];
}

/** Columns the recipe produces, in order: numeric names, then `name=category` per one-hot column. */
export function outputNames(recipe: FittedRecipe): string[] {
  return [...recipe.numeric.map((n) => n.name), ...recipe.categorical.flatMap((c) => c.categories.map((k) => `${c.name}=${k}`))];
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
    if (scaleKind === 'standard') return { name, impute: fill, center: imputedMean, scale: sd > 1e-12 ? sd : 1 };
    if (scaleKind === 'minmax') return { name, impute: fill, center: low, scale: high - low > 1e-12 ? high - low : 1 };
    return { name, impute: fill, center: 0, scale: 1 };
  });
  const categoricalSteps = categorical.map((name): CategoricalStep => {
    const column = getColumn(table, name);
    if (!column) throw new Error(`feature "${name}" is not in the data`);
    const seen = new Set<string>();
    for (let r = 0; r < rows.length; r++) { const t = cellText(column, rows[r]); if (t !== null) seen.add(t); }
    return { name, categories: [...seen].sort() };
  });
  return { spec: { impute, scale: scaleKind, ...(impute === 'constant' ? { imputeValue: spec.imputeValue ?? 0 } : {}) }, inputs, derived, numeric: numericSteps, categorical: categoricalSteps };
}

/** Applies the recipe to rows of a table: a row-major matrix of outputNames(recipe) columns. */
export function applyRecipe(recipe: FittedRecipe, source: Table, rows: Int32Array): Matrix {
  const table = withDerived(source, recipe.derived);
  const width = recipe.numeric.length + recipe.categorical.reduce((s, c) => s + c.categories.length, 0);
  const data = new Float64Array(rows.length * width);
  recipe.numeric.forEach((step, j) => {
    const column = getColumn(table, step.name);
    if (!column || column.kind !== 'number') throw new Error(`feature "${step.name}" is not a numeric column`);
    for (let r = 0; r < rows.length; r++) {
      const v = column.values[rows[r]];
      data[r * width + j] = ((Number.isNaN(v) ? step.impute : v) - step.center) / step.scale;
    }
  });
  let offset = recipe.numeric.length;
  for (const step of recipe.categorical) {
    const column = getColumn(table, step.name);
    if (!column) throw new Error(`feature "${step.name}" is not in the data`);
    const index = new Map(step.categories.map((c, k) => [c, k]));
    for (let r = 0; r < rows.length; r++) {
      const k = index.get(cellText(column, rows[r]) ?? '');
      if (k !== undefined) data[r * width + offset + k] = 1;
    }
    offset += step.categories.length;
  }
  return { rows: rows.length, cols: width, data };
}

/**
 * Applies the recipe straight into column-major arrays, the layout the fitting loops want: each output
 * column is written contiguously, with no row-major intermediate.
 */
export function applyRecipeColumns(recipe: FittedRecipe, source: Table, rows: Int32Array): Float64Array[] {
  const table = withDerived(source, recipe.derived);
  const out: Float64Array[] = [];
  for (const step of recipe.numeric) {
    const column = getColumn(table, step.name);
    if (!column || column.kind !== 'number') throw new Error(`feature "${step.name}" is not a numeric column`);
    const values = column.values;
    const col = new Float64Array(rows.length);
    for (let r = 0; r < rows.length; r++) { const v = values[rows[r]]; col[r] = ((v !== v ? step.impute : v) - step.center) / step.scale; }
    out.push(col);
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
