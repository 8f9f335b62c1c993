/** CSV in and out. The canonical form is what dataset versions are hashed and stored as. */
import { parse } from 'csv-parse/sync';
import { cellText, ColumnBuilder, Table } from './table';

/** Thrown for input that is not a usable CSV table. */
export class CsvFormatError extends Error {}

/**
 * Parses CSV text with a header row into a columnar table. Records go straight into column builders
 * (csv-parse's on_record hook drops each one after use), so rows are never held as arrays of strings.
 */
export function parseCsv(text: string): Table {
  const { builders, rows } = readRecords(text, (names) => names.map((name) => new ColumnBuilder(name)));
  // A column that turned to text part-way is read again as text, so earlier cells keep their spelling.
  const flipped = builders.map((b, j) => (b.flipped ? j : -1)).filter((j) => j >= 0);
  if (flipped.length > 0) {
    const again = readRecords(text, (names) => names.map((name, j) => new ColumnBuilder(name, { text: flipped.includes(j) })), flipped);
    for (const j of flipped) builders[j] = again.builders[j];
  }
  return { rowCount: rows, columns: builders.map((b) => b.build()) };
}

/** Streams the records of `text` into builders made from the header; only `only` columns when given. */
function readRecords(text: string, make: (header: string[]) => ColumnBuilder[], only?: number[]): { builders: ColumnBuilder[]; rows: number } {
  let builders: ColumnBuilder[] | undefined;
  let rows = 0;
  try {
    parse(text, {
      bom: true, skip_empty_lines: true, relax_column_count: false, trim: false,
      on_record: (record: string[]) => {
        if (!builders) { builders = make(header(record)); return null; }
        rows++;
        if (only) for (const j of only) builders[j].add(record[j]);
        else for (let j = 0; j < builders.length; j++) builders[j].add(record[j]);
        return null;
      },
    });
  } catch (err) {
    if (err instanceof CsvFormatError) throw err;
    throw new CsvFormatError(`malformed CSV: ${(err as Error).message}`);
  }
  if (!builders) throw new CsvFormatError('CSV is empty: expected a header row');
  return { builders, rows };
}

function header(record: string[]): string[] {
  const names = record.map((h) => h.trim());
  const seen = new Set<string>();
  names.forEach((name, j) => {
    if (name === '') throw new CsvFormatError(`CSV header has an empty column name at position ${j + 1}`);
    if (seen.has(name)) throw new CsvFormatError(`CSV header repeats the column name "${name}"`);
    seen.add(name);
  });
  return names;
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
