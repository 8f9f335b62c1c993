/** JSON Lines in: one JSON object per line, read into the same columnar table as CSV. */
import { CsvFormatError } from './csv';
import { Table, tableFromTextRows } from './table';

/**
 * Collects JSON records into a table. Columns are the union of keys in first-seen order; numbers,
 * strings and booleans become cells, null or an absent key a missing value; nested objects and arrays
 * are refused with the record's place in the message.
 */
export class RecordCollector {
  private header: string[] = [];
  private position = new Map<string, number>();
  private rows: (string | null)[][] = [];

  get count(): number {
    return this.rows.length;
  }

  add(record: unknown, where: string): void {
    if (record === null || typeof record !== 'object' || Array.isArray(record)) throw new CsvFormatError(`${where} is not a JSON object`);
    const row: (string | null)[] = new Array(this.header.length).fill(null);
    for (const [key, value] of Object.entries(record as Record<string, unknown>)) {
      let j = this.position.get(key);
      if (j === undefined) {
        j = this.header.length;
        this.header.push(key);
        this.position.set(key, j);
      }
      if (value !== null && typeof value === 'object') throw new CsvFormatError(`${where}, field "${key}" holds a nested ${Array.isArray(value) ? 'array' : 'object'}`);
      row[j] = value === null || value === undefined ? null : String(value);
    }
    this.rows.push(row);
  }

  build(emptyMessage: string): Table {
    if (this.header.length === 0) throw new CsvFormatError(emptyMessage);
    for (const row of this.rows) while (row.length < this.header.length) row.push(null);
    return tableFromTextRows(this.header, this.rows);
  }
}

/** Parses JSON Lines: one JSON object per line. */
export function parseJsonLines(text: string): Table {
  const collector = new RecordCollector();
  text.replace(/^\uFEFF/, '').split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch (err) {
      throw new CsvFormatError(`malformed JSON Lines: line ${i + 1}: ${(err as Error).message}`);
    }
    collector.add(record, `malformed JSON Lines: line ${i + 1}`);
  });
  return collector.build('JSON Lines input holds no records');
}

/** Fields under which paged JSON APIs commonly return their records. */
export const RECORD_FIELDS = ['items', 'data', 'results', 'records'];

/** The records of one JSON document: the document itself when it is an array, else its first record field. */
export function recordsOf(document: unknown): unknown[] | undefined {
  if (Array.isArray(document)) return document;
  if (document && typeof document === 'object') {
    for (const field of RECORD_FIELDS) {
      const value = (document as Record<string, unknown>)[field];
      if (Array.isArray(value)) return value;
    }
  }
  return undefined;
}
