/**
 * Scores a table with a model version's ONNX session, fed exactly as evaluation and predict feed it
 * (src/serving), and returns the table with the prediction's columns after the input's: a classifier's
 * `prediction` (the label predict answers: the most probable class, ties to the later one, or an
 * imported graph's own label) and `probability_<class>` per class; a regressor's `prediction` (the value).
 * No Temporal and no I/O here.
 */
import { isImported, type ModelSignature } from '../domain/model-version';
import { cellText, type Column, type Table } from '../ml/table';
import { layoutOf } from '../serving/feeds';
import type { Session } from '../serving/onnx-runner';
import { runTableRows } from '../serving/table-runs';

/** Rows per ONNX run: bounds the feed and output buffers whatever the chunk size. */
const RUN_ROWS = 8192;

export const PREDICTION_COLUMN = 'prediction';
export const probabilityColumn = (label: string) => `probability_${label}`;

/** The columns a version's answers add to the input's. */
export function predictionColumnNames(signature: ModelSignature): string[] {
  return signature.task === 'regression' ? [PREDICTION_COLUMN] : [PREDICTION_COLUMN, ...signature.classes.map(probabilityColumn)];
}

/** Why a dataset with these columns cannot be scored by the version (missing or mistyped features, clashing column names), or undefined. */
export function unscorableBecause(signature: ModelSignature, columns: readonly { name: string; kind: 'number' | 'string' }[]): string | undefined {
  const taken = predictionColumnNames(signature).filter((name) => columns.some((c) => c.name === name));
  if (taken.length > 0) return `the input already has column${taken.length > 1 ? 's' : ''} ${taken.map((n) => `"${n}"`).join(', ')}, which the output adds for the prediction; rename ${taken.length > 1 ? 'them' : 'it'} in the input`;
  const kinds = new Map(columns.map((c) => [c.name, c.kind]));
  const problems: string[] = [];
  for (const name of signature.numeric ?? signature.features) {
    if (!kinds.has(name)) problems.push(`"${name}" is missing`);
    else if (kinds.get(name) !== 'number') problems.push(`"${name}" holds text, but the model reads it as numbers`);
  }
  for (const name of signature.categorical ?? []) if (!kinds.has(name)) problems.push(`"${name}" is missing`);
  if (isImported(signature)) for (const input of signature.inputs) for (const name of input.columns ?? []) if (!kinds.has(name) && !problems.some((p) => p.startsWith(`"${name}"`))) problems.push(`"${name}" is missing`);
  const shown = problems.length > 5 ? [...problems.slice(0, 5), `and ${problems.length - 5} more`] : problems;
  return problems.length > 0 ? `the input does not fit the model's features: ${shown.join('; ')}` : undefined;
}

/** The input columns the version reads: its features, and an imported graph's inputs' columns. */
export function modelInputColumns(signature: ModelSignature): string[] {
  const names = new Set([...signature.features, ...(signature.numeric ?? []), ...(signature.categorical ?? [])]);
  if (isImported(signature)) for (const input of signature.inputs) for (const name of input.columns ?? []) names.add(name);
  return [...names];
}

/** The input table with the version's prediction columns appended. */
export async function scoreTable(session: Session, signature: ModelSignature, table: Table, onProgress?: (rowsDone: number) => Promise<void> | void): Promise<Table> {
  return { rowCount: table.rowCount, columns: [...table.columns, ...(await predictionColumns(session, signature, table, onProgress))] };
}

/** The version's prediction columns for the rows of a table (which needs only `modelInputColumns`). */
export async function predictionColumns(session: Session, signature: ModelSignature, table: Table, onProgress?: (rowsDone: number) => Promise<void> | void): Promise<Column[]> {
  const n = table.rowCount;
  const regression = signature.task === 'regression';
  const classes = signature.classes;
  const values = new Float64Array(regression ? n : 0);
  const probabilities = regression ? [] : classes.map(() => new Float64Array(n));
  const labelCodes = new Int32Array(regression ? 0 : n);
  const dictionary = [...classes];
  const index = new Map(classes.map((label, k) => [label, k]));
  for (let start = 0; start < n; start += RUN_ROWS) {
    const count = Math.min(RUN_ROWS, n - start);
    const rows = new Int32Array(count);
    for (let i = 0; i < count; i++) rows[i] = start + i;
    const answer = await runTableRows(session, isImported(signature) ? signature : layoutOf(signature), signature.task ?? 'binary', table, rows);
    if (regression) values.set(answer.values.subarray(0, count), start);
    else {
      const { values: p, width } = answer;
      if (width !== classes.length) throw new Error(`the model answered ${width} class probabilities, but its signature names ${classes.length} classes`);
      for (let i = 0; i < count; i++) {
        let best = 0;
        for (let k = 0; k < width; k++) {
          const v = p[i * width + k];
          probabilities[k][start + i] = v;
          if (v >= p[i * width + best]) best = k; // ties go to the later class, as in predict and evaluation
        }
        const own = answer.labels?.[i];
        let code = best;
        if (own !== undefined) {
          code = index.get(own) ?? -1;
          if (code < 0) { code = dictionary.length; dictionary.push(own); index.set(own, code); }
        }
        labelCodes[start + i] = code;
      }
    }
    await onProgress?.(start + count);
  }
  return regression
    ? [{ name: PREDICTION_COLUMN, kind: 'number', values }]
    : [{ name: PREDICTION_COLUMN, kind: 'string', codes: labelCodes, dictionary }, ...classes.map((label, k): Column => ({ name: probabilityColumn(label), kind: 'number', values: probabilities[k] }))];
}

/** One row of a table as a predict instance would send it: the model's features, numbers as numbers, missing as null. */
export function instanceOf(signature: ModelSignature, table: Table, row: number): Record<string, number | string | null> {
  const instance: Record<string, number | string | null> = {};
  for (const name of signature.features) {
    const column = table.columns.find((c) => c.name === name);
    if (!column) continue;
    if (column.kind === 'number') { const v = column.values[row]; instance[name] = Number.isNaN(v) ? null : v; } else instance[name] = cellText(column, row);
  }
  return instance;
}
