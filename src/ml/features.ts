/** Feature matrices: row-major Float64Array, NaN for missing values. */
import { getColumn, Table } from './table';

export interface Matrix {
  rows: number;
  cols: number;
  data: Float64Array;
}

/** Gathers the named numeric columns for the given rows. */
export function designMatrix(table: Table, features: string[], rows: Int32Array): Matrix {
  const cols = features.length;
  const data = new Float64Array(rows.length * cols);
  features.forEach((name, j) => {
    const column = getColumn(table, name);
    if (!column || column.kind !== 'number') throw new Error(`feature "${name}" is not a numeric column`);
    const values = column.values;
    for (let r = 0; r < rows.length; r++) data[r * cols + j] = values[rows[r]];
  });
  return { rows: rows.length, cols, data };
}

export function pick(values: Float64Array, rows: Int32Array): Float64Array {
  const out = new Float64Array(rows.length);
  for (let r = 0; r < rows.length; r++) out[r] = values[rows[r]];
  return out;
}
