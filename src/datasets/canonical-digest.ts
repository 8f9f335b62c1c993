/**
 * A dataset version's id: the sha256 of a canonical binary encoding of its table, so the same data is
 * the same version whatever format it arrived in (CSV, JSON Lines, Parquet, a query) and however it is
 * stored. Computed column by column in blocks, never holding the whole encoding.
 *
 * The encoding (version 2; version 1 was the sha256 of the canonical CSV text, which is still the id of
 * versions stored before it): a header line `mlops-dataset/2 <rows> <columns>`, then per column its name
 * and kind, then its cells: numbers as little-endian float64 (every NaN as one missing value, -0 as 0),
 * text as the length-prefixed UTF-8 of each distinct value in order of first appearance followed by
 * every row's index into that list (-1 missing), so a dictionary's own order does not matter.
 */
import { createHash, type Hash } from 'node:crypto';
import type { Column, Table } from '../ml/table';
import { setImmediate as nextTurn } from 'node:timers/promises';

const BLOCK = 65_536;

export function datasetDigest(table: Table): string {
  const steps = digestSteps(table);
  for (let step = steps.next(); ; step = steps.next()) if (step.done) return step.value;
}

/**
 * `datasetDigest`, giving the event loop a turn after each column: 10M rows hash for seconds, and in
 * the one-process stack the API answers on this thread.
 */
export async function datasetDigestYielding(table: Table): Promise<string> {
  const steps = digestSteps(table);
  for (let step = steps.next(); ; step = steps.next()) {
    if (step.done) return step.value;
    await nextTurn();
  }
}

function* digestSteps(table: Table): Generator<void, string> {
  const hash = createHash('sha256');
  hash.update(`mlops-dataset/2 ${table.rowCount} ${table.columns.length}\n`);
  for (const column of table.columns) {
    hash.update(lengthPrefixed(`${column.name}\u0000${column.kind}`));
    if (column.kind === 'number') hashNumbers(hash, column.values, table.rowCount);
    else hashText(hash, column, table.rowCount);
    yield;
  }
  return hash.digest('hex');
}

function lengthPrefixed(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  const out = Buffer.alloc(4 + bytes.length);
  out.writeUInt32LE(bytes.length, 0);
  bytes.copy(out, 4);
  return out;
}

const CANONICAL_NAN = Buffer.from([0, 0, 0, 0, 0, 0, 0xf8, 0x7f]).readDoubleLE(0);

function hashNumbers(hash: Hash, values: Float64Array, rows: number): void {
  const block = new Float64Array(Math.min(BLOCK, Math.max(1, rows)));
  for (let start = 0; start < rows; start += BLOCK) {
    const n = Math.min(BLOCK, rows - start);
    for (let i = 0; i < n; i++) {
      const v = values[start + i];
      // NaN payloads and signs vary by source; -0 and 0 are the same number to every model
      block[i] = v !== v ? CANONICAL_NAN : v === 0 ? 0 : v;
    }
    hash.update(new Uint8Array(block.buffer, 0, n * 8));
  }
}

function hashText(hash: Hash, column: Extract<Column, { kind: 'string' }>, rows: number): void {
  // by value, not by code: two codes of one text are one value
  const order = new Int32Array(column.dictionary.length).fill(-1);
  const byText = new Map<string, number>();
  const firstSeen: string[] = [];
  const indexes = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    const code = column.codes[r];
    if (code < 0) { indexes[r] = -1; continue; }
    if (order[code] < 0) {
      const text = column.dictionary[code];
      let index = byText.get(text);
      if (index === undefined) { index = firstSeen.length; firstSeen.push(text); byText.set(text, index); }
      order[code] = index;
    }
    indexes[r] = order[code];
  }
  hash.update(lengthPrefixed(String(firstSeen.length)));
  for (const text of firstSeen) hash.update(lengthPrefixed(text));
  for (let start = 0; start < rows; start += BLOCK) {
    const n = Math.min(BLOCK, rows - start);
    hash.update(new Uint8Array(indexes.buffer, start * 4, n * 4));
  }
}
