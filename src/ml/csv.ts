/** CSV in and out. The canonical form is what dataset versions are hashed and stored as. */
import { cellText, ColumnBuilder, Table } from './table';

/** Thrown for input that is not a usable CSV table. */
export class CsvFormatError extends Error {}

/**
 * Parses CSV text with a header row into a columnar table. Fields go straight into column builders,
 * so rows are never held as arrays of strings.
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

/**
 * Streams the records of `text` into builders made from the header; only `only` columns when given.
 * A small RFC 4180 tokenizer (comma-separated, `"` quoting with `""` escapes, LF or CRLF line ends,
 * blank lines skipped) hands each field to its column as soon as it ends, so no record is ever built.
 * It replaced csv-parse, which spent 16 of 18 seconds on a 1M-row file (bench/ingest.ts);
 * like it, it refuses ragged rows and unterminated quotes.
 */
function readRecords(text: string, make: (header: string[]) => ColumnBuilder[], only?: number[]): { builders: ColumnBuilder[]; rows: number } {
  const QUOTE = 34, COMMA = 44, LF = 10, CR = 13;
  const n = text.length;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  let builders: ColumnBuilder[] | undefined;
  let headerFields: string[] = [];
  let wanted: boolean[] = [];
  let rows = 0;
  while (i < n) {
    // a blank line (LF or CRLF alone) is skipped
    if (text.charCodeAt(i) === LF) { i++; line++; continue; }
    if (text.charCodeAt(i) === CR && text.charCodeAt(i + 1) === LF) { i += 2; line++; continue; }
    const recordLine = line;
    let field = 0;
    for (;;) {
      let value: string;
      if (text.charCodeAt(i) === QUOTE) {
        let j = i + 1;
        let parts = '';
        for (;;) {
          const q = text.indexOf('"', j);
          if (q < 0) throw new CsvFormatError(`malformed CSV: the quoted field that opens on line ${recordLine} is never closed`);
          if (text.charCodeAt(q + 1) === QUOTE) { parts += text.slice(j, q + 1); j = q + 2; continue; }
          parts += text.slice(j, q);
          for (let k = j; k < q; k++) if (text.charCodeAt(k) === LF) line++;
          i = q + 1;
          break;
        }
        value = parts;
        const c = text.charCodeAt(i);
        if (i < n && c !== COMMA && c !== LF && !(c === CR && text.charCodeAt(i + 1) === LF)) {
          throw new CsvFormatError(`malformed CSV: line ${line} has characters after a closing quote`);
        }
      } else {
        let j = i;
        for (; j < n; j++) {
          const c = text.charCodeAt(j);
          if (c === COMMA || c === LF || (c === CR && text.charCodeAt(j + 1) === LF)) break;
          if (c === QUOTE) throw new CsvFormatError(`malformed CSV: line ${line} has a quote inside an unquoted field`);
        }
        value = text.slice(i, j);
        i = j;
      }
      if (!builders) headerFields.push(value);
      else if (field < builders.length) { if (wanted[field]) builders[field].add(value); }
      field++;
      const c = text.charCodeAt(i);
      if (c === COMMA) { i++; continue; }
      // end of record: LF, CRLF or end of text
      if (c === CR) i += 2; else if (i < n) i++;
      line++;
      break;
    }
    if (!builders) {
      builders = make(header(headerFields));
      wanted = builders.map((_, j) => !only || only.includes(j));
      headerFields = [];
      continue;
    }
    if (field !== builders.length) throw new CsvFormatError(`malformed CSV: line ${recordLine} has ${field} fields; the header has ${builders.length}`);
    rows++;
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
