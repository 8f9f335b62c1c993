/** CSV in and out. The canonical form is what dataset versions are hashed and stored as. */
import { parse } from 'csv-parse/sync';
import { cellText, Table, tableFromTextRows } from './table';

/** Thrown for input that is not a usable CSV table. */
export class CsvFormatError extends Error {}

/** Parses CSV text with a header row into a columnar table. */
export function parseCsv(text: string): Table {
  let records: string[][];
  try {
    records = parse(text, { bom: true, skip_empty_lines: true, relax_column_count: false, trim: false });
  } catch (err) {
    throw new CsvFormatError(`malformed CSV: ${(err as Error).message}`);
  }
  if (records.length === 0) throw new CsvFormatError('CSV is empty: expected a header row');
  const header = records[0].map((h) => h.trim());
  const seen = new Set<string>();
  header.forEach((name, j) => {
    if (name === '') throw new CsvFormatError(`CSV header has an empty column name at position ${j + 1}`);
    if (seen.has(name)) throw new CsvFormatError(`CSV header repeats the column name "${name}"`);
    seen.add(name);
  });
  return tableFromTextRows(header, records.slice(1));
}

function quote(text: string): string {
  return /[",\n\r]/.test(text) || text !== text.trim() ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Serialises a table as canonical CSV: LF line ends, minimal quoting, empty cell for missing. */
export function toCanonicalCsv(table: Table): string {
  const lines: string[] = [table.columns.map((c) => quote(c.name)).join(',')];
  for (let i = 0; i < table.rowCount; i++) {
    lines.push(table.columns.map((c) => { const t = cellText(c, i); return t === null ? '' : quote(t); }).join(','));
  }
  return lines.join('\n') + '\n';
}
