/** JSON Lines in: one JSON object per line, read into the same columnar table as CSV. */
import { CsvFormatError } from './csv';
import { Table, tableFromTextRows } from './table';

/**
 * Parses JSON Lines. Columns are the union of keys in first-seen order; numbers, strings and booleans
 * become cells, null or an absent key a missing value; nested objects and arrays are refused.
 */
export function parseJsonLines(text: string): Table {
  const header: string[] = [];
  const position = new Map<string, number>();
  const rows: (string | null)[][] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch (err) {
      throw new CsvFormatError(`malformed JSON Lines: line ${i + 1}: ${(err as Error).message}`);
    }
    if (record === null || typeof record !== 'object' || Array.isArray(record)) throw new CsvFormatError(`malformed JSON Lines: line ${i + 1} is not a JSON object`);
    const row: (string | null)[] = new Array(header.length).fill(null);
    for (const [key, value] of Object.entries(record as Record<string, unknown>)) {
      let j = position.get(key);
      if (j === undefined) {
        j = header.length;
        header.push(key);
        position.set(key, j);
      }
      if (value !== null && typeof value === 'object') throw new CsvFormatError(`malformed JSON Lines: line ${i + 1}, field "${key}" holds a nested ${Array.isArray(value) ? 'array' : 'object'}`);
      row[j] = value === null || value === undefined ? null : String(value);
    }
    rows.push(row);
  });
  if (header.length === 0) throw new CsvFormatError('JSON Lines input holds no records');
  for (const row of rows) while (row.length < header.length) row.push(null);
  return tableFromTextRows(header, rows);
}
