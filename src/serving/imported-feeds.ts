/**
 * Inputs of an imported model (signature.source === 'import'), built the same way from JSON rows
 * (serving, the smoke test, the import's own trial run) and from table rows (evaluation), as feeds.ts
 * does for our own graphs. An imported graph names its own inputs and element types (see
 * domain/imported-model.ts), so rows are first read column by column, at full precision, and only
 * then cast to what each input takes: float32, float64, int64, int32 or string.
 *
 * Missing numbers (`null` in JSON, an empty cell in a table) reach float inputs as NaN, which is what
 * skl2onnx's Imputer and LightGBM's trees expect; integer inputs cannot hold a missing value, so such a
 * row is refused. Missing text reaches string inputs as ''.
 */
import * as ort from 'onnxruntime-node';
import type { ImportedElementType, ImportedInput } from '../domain/imported-model';
import { ApiError } from '../errors';
import { cellText, getColumn, Table } from '../ml/table';
import type { Feeds } from './feeds';

const MAX_REPORTED_PROBLEMS = 20;

/** Rows read column by column: numbers (NaN where missing) or text (null where missing). */
export interface ImportedRows {
  rows: number;
  columns: Map<string, Float64Array | (string | null)[]>;
}

/** What an imported signature contributes to reading rows. */
export interface ImportedLayout {
  inputs: readonly ImportedInput[];
  /** Columns a row may carry that the model ignores (the target, unused columns). */
  unused?: readonly string[];
}

const isNumeric = (type: ImportedElementType) => type !== 'string';
const isInteger = (type: ImportedElementType) => type === 'int64' || type === 'int32';

/** How each fed column is read, worked out once per layout rather than per request. */
interface ColumnPlan {
  /** Every fed column once, in input order. */
  names: string[];
  /** Read as a number (it feeds a numeric input) or as text. */
  numeric: Set<string>;
  /** Feeds an integer input: a whole number is required. */
  integer: Set<string>;
  known: Set<string>;
}

const plans = new WeakMap<ImportedLayout, ColumnPlan>();

function planOf(layout: ImportedLayout): ColumnPlan {
  let plan = plans.get(layout);
  if (!plan) {
    const names = [...new Set(layout.inputs.flatMap((i) => i.columns))];
    const numeric = new Set(layout.inputs.filter((i) => isNumeric(i.type)).flatMap((i) => i.columns));
    const integer = new Set(layout.inputs.filter((i) => isInteger(i.type)).flatMap((i) => i.columns));
    plan = { names, numeric, integer, known: new Set([...names, ...(layout.unused ?? [])]) };
    plans.set(layout, plan);
  }
  return plan;
}

/** The columns an imported model reads as numbers and as text: its features in the signature's terms. */
export function columnKinds(inputs: readonly ImportedInput[]): { features: string[]; numeric: string[]; categorical: string[] } {
  const plan = planOf({ inputs });
  return { features: plan.names, numeric: plan.names.filter((c) => plan.numeric.has(c)), categorical: plan.names.filter((c) => !plan.numeric.has(c)) };
}

/**
 * Checks JSON instances against an imported model's columns and reads them, or explains every problem
 * (up to 20) in one 400, as checkInstances does for our own models.
 */
export function checkImportedInstances(instances: unknown, layout: ImportedLayout, maxBatch: number): ImportedRows {
  if (!Array.isArray(instances)) throw new ApiError('invalid_request', '"instances" must be an array of objects, one per row');
  if (instances.length === 0) throw new ApiError('invalid_request', '"instances" is empty; send at least one row');
  if (instances.length > maxBatch) throw new ApiError('invalid_request', `"instances" has ${instances.length} rows; at most ${maxBatch} are allowed per request`);
  const plan = planOf(layout);
  const n = instances.length;
  const columns = new Map<string, Float64Array | (string | null)[]>(
    plan.names.map((c) => [c, plan.numeric.has(c) ? new Float64Array(n) : new Array<string | null>(n).fill(null)]),
  );
  const problems: string[] = [];
  for (let i = 0; i < n && problems.length < MAX_REPORTED_PROBLEMS; i++) {
    const row = instances[i];
    if (row === null || typeof row !== 'object' || Array.isArray(row)) {
      problems.push(`instances[${i}] must be an object mapping feature names to values`);
      continue;
    }
    const record = row as Record<string, unknown>;
    // the lists of what is missing or unknown are built only for a row that has a problem: this runs on every request
    let extra = false;
    for (const k in record) if (!plan.known.has(k)) { extra = true; break; }
    let present = 0;
    for (const name of plan.names) if (record[name] !== undefined) present++;
    if (present < plan.names.length) problems.push(`instances[${i}] is missing feature(s): ${plan.names.filter((c) => record[c] === undefined).join(', ')}`);
    if (extra) problems.push(`instances[${i}] has unknown feature(s): ${Object.keys(record).filter((k) => !plan.known.has(k)).join(', ')} (the model takes ${plan.names.join(', ')})`);
    for (const name of plan.names) {
      const value = record[name];
      if (value === undefined) continue;
      const column = columns.get(name)!;
      if (column instanceof Float64Array) {
        if (value === null) {
          if (plan.integer.has(name)) problems.push(`instances[${i}].${name} is null, but it feeds an integer input of the model, which cannot take a missing value`);
          column[i] = NaN;
        } else if (typeof value === 'number' && Number.isFinite(value)) {
          if (plan.integer.has(name) && !Number.isInteger(value)) problems.push(`instances[${i}].${name} must be a whole number (it feeds an integer input), got ${value}`);
          column[i] = value;
        } else {
          problems.push(`instances[${i}].${name} must be a number or null, got ${typeof value === 'number' ? String(value) : typeof value}`);
        }
      } else if (typeof value === 'string') column[i] = value.trim();
      else if (typeof value === 'number' && Number.isFinite(value)) column[i] = String(value);
      else if (value !== null) problems.push(`instances[${i}].${name} must be a string or null, got ${typeof value}`);
    }
  }
  if (problems.length > 0) throw new ApiError('invalid_request', `invalid instances: ${problems[0]}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''}`, { problems });
  return { rows: n, columns };
}

/** The given rows of a table, read for an imported model (evaluation and smoke samples). */
export function importedTableRows(layout: ImportedLayout, table: Table, rows: ArrayLike<number>): ImportedRows {
  const plan = planOf(layout);
  const columns = new Map<string, Float64Array | (string | null)[]>();
  for (const name of plan.names) {
    const column = getColumn(table, name);
    if (!column) throw new Error(`the model reads column "${name}", which is not in the data`);
    if (plan.numeric.has(name)) {
      if (column.kind !== 'number') throw new Error(`the model reads column "${name}" as numbers, but it holds text`);
      columns.set(name, Float64Array.from(rows, (r) => column.values[r]));
    } else {
      columns.set(name, Array.from(rows, (r) => cellText(column, r)));
    }
  }
  return { rows: rows.length, columns };
}

/** The instances (one object per row, null where missing) of table rows, as a client would send them. */
export function importedInstances(layout: ImportedLayout, table: Table, rows: ArrayLike<number>): Record<string, number | string | null>[] {
  const data = importedTableRows(layout, table, rows);
  return Array.from({ length: data.rows }, (_, r) => {
    const instance: Record<string, number | string | null> = {};
    for (const [name, values] of data.columns) {
      const v = values[r];
      instance[name] = typeof v === 'number' ? (Number.isNaN(v) ? null : v) : v;
    }
    return instance;
  });
}

/** Several requests' rows as one batch, in order. */
export function joinImportedRows(parts: readonly ImportedRows[]): ImportedRows {
  const rows = parts.reduce((n, p) => n + p.rows, 0);
  const columns = new Map<string, Float64Array | (string | null)[]>();
  for (const name of parts[0].columns.keys()) {
    const pieces = parts.map((p) => p.columns.get(name)!);
    if (pieces[0] instanceof Float64Array) {
      const joined = new Float64Array(rows);
      let at = 0;
      for (const piece of pieces as Float64Array[]) { joined.set(piece, at); at += piece.length; }
      columns.set(name, joined);
    } else {
      columns.set(name, (pieces as (string | null)[][]).flat());
    }
  }
  return { rows, columns };
}

/** The input tensors of an imported graph for these rows: each input takes its columns, cast to its element type. */
export function importedFeeds(inputs: readonly ImportedInput[], data: ImportedRows): Feeds {
  const feeds: Feeds = {};
  const n = data.rows;
  for (const input of inputs) {
    const k = input.columns.length;
    const dims = input.rank === 1 ? [n] : [n, k];
    const sources = input.columns.map((c) => {
      const values = data.columns.get(c);
      if (!values) throw new Error(`column "${c}" of input "${input.name}" was not read`);
      return values;
    });
    if (input.type === 'string') {
      const text = new Array<string>(n * k);
      sources.forEach((values, j) => {
        for (let r = 0; r < n; r++) {
          const v = values[r];
          text[r * k + j] = typeof v === 'number' ? (Number.isNaN(v) ? '' : String(v)) : v ?? '';
        }
      });
      feeds[input.name] = new ort.Tensor('string', text, dims);
      continue;
    }
    const numbers = sources.map((values, j) => {
      if (!(values instanceof Float64Array)) throw new Error(`column "${input.columns[j]}" holds text, but input "${input.name}" takes ${input.type}`);
      return values;
    });
    feeds[input.name] = new ort.Tensor(input.type, castInterleaved(input, numbers, n), dims);
  }
  return feeds;
}

/** Row-major [n, k] values of the k columns, in the input's element type. */
function castInterleaved(input: ImportedInput, columns: Float64Array[], n: number): Float32Array | Float64Array | BigInt64Array | Int32Array {
  const k = columns.length;
  switch (input.type) {
    case 'float32':
    case 'float64': {
      const out = input.type === 'float32' ? new Float32Array(n * k) : new Float64Array(n * k);
      columns.forEach((values, j) => { for (let r = 0; r < n; r++) out[r * k + j] = values[r]; });
      return out;
    }
    case 'int64':
    case 'int32': {
      const out = input.type === 'int64' ? new BigInt64Array(n * k) : new Int32Array(n * k);
      columns.forEach((values, j) => {
        for (let r = 0; r < n; r++) {
          const v = values[r];
          if (!Number.isInteger(v)) throw new Error(`column "${input.columns[j]}" has ${Number.isNaN(v) ? 'a missing value' : `the fractional value ${v}`} in row ${r}, but input "${input.name}" takes ${input.type}`);
          if (out instanceof BigInt64Array) out[r * k + j] = BigInt(v); else out[r * k + j] = v;
        }
      });
      return out;
    }
    default:
      throw new Error(`input "${input.name}" has element type ${input.type as string}`);
  }
}
