/**
 * The model's input features as drift profiling reads them, from either side: the training table (the
 * reference) or the instances served since (the current window, as logged JSON records).
 */
import type { ProfileColumn } from './reference-profile';
import { Table, getColumn, cellText } from './table';

export interface FeatureLayout {
  numeric: string[];
  categorical: string[];
}

/** The layout's columns of the table, restricted to `rows` (e.g. the training split). */
export function tableProfileColumns(table: Table, layout: FeatureLayout, rows: ArrayLike<number>): ProfileColumn[] {
  const out: ProfileColumn[] = [];
  for (const name of layout.numeric) {
    const column = getColumn(table, name);
    if (!column || column.kind !== 'number') throw new Error(`numeric feature "${name}" is not a numeric column of the table`);
    const values = new Float64Array(rows.length);
    for (let i = 0; i < rows.length; i++) values[i] = column.values[rows[i]];
    out.push({ name, kind: 'numeric', values });
  }
  for (const name of layout.categorical) {
    const column = getColumn(table, name);
    if (!column) throw new Error(`categorical feature "${name}" is not a column of the table`);
    const values = new Array<string | null>(rows.length);
    for (let i = 0; i < rows.length; i++) values[i] = cellText(column, rows[i]);
    out.push({ name, kind: 'categorical', values });
  }
  return out;
}

/**
 * The layout's features of served instances. What the API accepted is what the model saw, so a value
 * that is absent, null or not a finite number counts as missing rather than failing the check.
 */
export function instanceProfileColumns(instances: readonly Record<string, unknown>[], layout: FeatureLayout): ProfileColumn[] {
  const out: ProfileColumn[] = [];
  for (const name of layout.numeric) {
    const values = new Float64Array(instances.length);
    for (let i = 0; i < instances.length; i++) {
      const v = instances[i]?.[name];
      const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
      values[i] = Number.isFinite(n) ? n : NaN;
    }
    out.push({ name, kind: 'numeric', values });
  }
  for (const name of layout.categorical) {
    const values = instances.map((instance) => {
      const v = instance?.[name];
      return v === undefined || v === null || v === '' ? null : String(v);
    });
    out.push({ name, kind: 'categorical', values });
  }
  return out;
}
