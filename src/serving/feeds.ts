/**
 * Inputs of a served model, built the same way from JSON rows (serving) and from table rows
 * (evaluation), so what is evaluated is exactly what is served.
 */
import * as ort from 'onnxruntime-node';
import { categoricalInput, NUMERIC_INPUT } from '../ml/onnx-export';
import { cellText, getColumn, Table } from '../ml/table';

export interface InputLayout {
  numeric: string[];
  categorical: string[];
  /** Name of the numeric input; models registered before text features existed call it `features`. */
  numericInput?: string;
}

/** The input layout of a model from its signature (or of a run from its feature spec). */
export function layoutOf(spec: { features: string[]; numeric?: string[]; categorical?: string[]; input?: string }): InputLayout {
  return { numeric: spec.numeric ?? spec.features, categorical: spec.categorical ?? [], numericInput: spec.input };
}

export type Feeds = Record<string, ort.Tensor>;

/** Tensors for `rows` rows: numeric values row-major (NaN = missing), categories per feature ('' = missing). */
export function feedsFor(layout: InputLayout, rows: number, numeric: Float32Array, categorical: string[][]): Feeds {
  const feeds: Feeds = {};
  if (layout.numeric.length > 0) feeds[layout.numericInput ?? NUMERIC_INPUT] = new ort.Tensor('float32', numeric, [rows, layout.numeric.length]);
  layout.categorical.forEach((_, i) => { feeds[categoricalInput(i)] = new ort.Tensor('string', categorical[i], [rows]); });
  return feeds;
}

/** Feeds for the given rows of a table. */
export function tableFeeds(layout: InputLayout, table: Table, rows: Int32Array): Feeds {
  const dn = layout.numeric.length;
  const numeric = new Float32Array(rows.length * dn);
  layout.numeric.forEach((name, j) => {
    const column = getColumn(table, name);
    if (!column || column.kind !== 'number') throw new Error(`feature "${name}" is not a numeric column`);
    for (let r = 0; r < rows.length; r++) numeric[r * dn + j] = column.values[rows[r]];
  });
  const categorical = layout.categorical.map((name) => {
    const column = getColumn(table, name);
    if (!column) throw new Error(`feature "${name}" is not in the data`);
    return Array.from(rows, (r) => cellText(column, r) ?? '');
  });
  return feedsFor(layout, rows.length, numeric, categorical);
}
