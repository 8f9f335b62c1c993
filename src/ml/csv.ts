/** CSV in and out. The canonical form is what dataset versions are hashed and stored as. */
import { cellText, ColumnBuilder, DataFormatError, Table } from './table';

/**
 * Parses CSV text with a header row into a columnar table. Fields go straight into column builders,
 * so rows are never held as arrays of strings.
 */
export function parseCsv(text: string): Table {
  return parseChunks(() => [text]);
}

/**
 * Parses CSV arriving in chunks (e.g. decoded from a file stream), holding only the columns and the
 * unfinished tail of the current chunk. `open` is called again for a second pass when a column turned
 * from numbers to text part-way (it is re-read as text so earlier cells keep their spelling).
 */
export async function parseCsvStream(open: () => AsyncIterable<string>): Promise<Table> {
  const pass = async (reader: RecordReader) => {
    const splitter = new RecordSplitter();
    for await (const chunk of open()) reader.push(splitter.push(chunk));
    reader.push(splitter.end());
    return reader.end();
  };
  const first = await pass(new RecordReader(numericFirst));
  const flipped = flippedColumns(first);
  return assemble(first, flipped, flipped.length > 0 ? await pass(flippedReader(flipped)) : undefined);
}

function parseChunks(chunks: () => Iterable<string>): Table {
  const pass = (reader: RecordReader) => { for (const chunk of chunks()) reader.push(chunk); return reader.end(); };
  const first = pass(new RecordReader(numericFirst));
  const flipped = flippedColumns(first);
  return assemble(first, flipped, flipped.length > 0 ? pass(flippedReader(flipped)) : undefined);
}

type Pass = { builders: ColumnBuilder[]; rows: number };
const numericFirst = (names: string[]) => names.map((name) => new ColumnBuilder(name));
const flippedReader = (flipped: number[]) => new RecordReader((names) => names.map((name, j) => new ColumnBuilder(name, { text: flipped.includes(j) })), flipped);
const flippedColumns = (first: Pass) => first.builders.map((b, j) => (b.flipped ? j : -1)).filter((j) => j >= 0);

/** The first pass's columns, with those that turned to text taken from the second pass. */
function assemble(first: Pass, flipped: number[], again?: Pass): Table {
  for (const j of flipped) first.builders[j] = again!.builders[j];
  return { rowCount: first.rows, columns: first.builders.map((b) => b.build()) };
}

/**
 * Cuts a stream of text into runs of whole records: each push returns the text up to the last line end
 * that is outside quotes (quotes balance from a record's start), keeping the rest for the next push.
 */
export class RecordSplitter {
  private carry = '';

  push(chunk: string): string {
    const text = this.carry + chunk;
    let end = text.lastIndexOf('\n');
    let quotes = 0;
    for (let q = text.indexOf('"'); q >= 0 && q < end; q = text.indexOf('"', q + 1)) quotes++;
    // an odd number of quotes before the last line end: it sits inside a quoted field; look earlier
    while (end >= 0 && quotes % 2 === 1) {
      const previous = text.lastIndexOf('\n', end - 1);
      for (let q = text.indexOf('"', previous + 1); q >= 0 && q < end; q = text.indexOf('"', q + 1)) quotes--;
      end = previous;
    }
    this.carry = text.slice(end + 1);
    return text.slice(0, end + 1);
  }

  end(): string {
    const rest = this.carry;
    this.carry = '';
    return rest;
  }
}

/**
 * Streams records into builders made from the header; only `only` columns when given. Each push must
 * hold whole records (RecordSplitter). A small RFC 4180 tokenizer (comma-separated, `"` quoting with
 * `""` escapes, LF or CRLF line ends, blank lines skipped) hands each field to its column as soon as it
 * ends, so no record is ever built. It replaced csv-parse, which spent 16 of 18 seconds on a 1M-row
 * file (bench/ingest.ts); like it, it refuses ragged rows and unterminated quotes.
 */
class RecordReader {
  private builders: ColumnBuilder[] | undefined;
  private wanted: boolean[] = [];
  private rows = 0;
  private line = 1;
  private started = false;

  constructor(private readonly make: (header: string[]) => ColumnBuilder[], private readonly only?: number[]) {}

  push(text: string): void {
    const QUOTE = 34, COMMA = 44, LF = 10, CR = 13;
    const n = text.length;
    let i = 0;
    if (!this.started && n > 0) { this.started = true; if (text.charCodeAt(0) === 0xfeff) i = 1; }
    let line = this.line;
    let headerFields: string[] = [];
    while (i < n) {
      // a blank line (LF or CRLF alone) is skipped
      if (text.charCodeAt(i) === LF) { i++; line++; continue; }
      if (text.charCodeAt(i) === CR && text.charCodeAt(i + 1) === LF) { i += 2; line++; continue; }
      const recordLine = line;
      const builders = this.builders;
      const wanted = this.wanted;
      let field = 0;
      for (;;) {
        let value: string;
        if (text.charCodeAt(i) === QUOTE) {
          let j = i + 1;
          let parts = '';
          for (;;) {
            const q = text.indexOf('"', j);
            if (q < 0) throw new DataFormatError(`malformed CSV: the quoted field that opens on line ${recordLine} is never closed`);
            if (text.charCodeAt(q + 1) === QUOTE) { parts += text.slice(j, q + 1); j = q + 2; continue; }
            parts += text.slice(j, q);
            for (let k = j; k < q; k++) if (text.charCodeAt(k) === LF) line++;
            i = q + 1;
            break;
          }
          value = parts;
          const c = text.charCodeAt(i);
          if (i < n && c !== COMMA && c !== LF && !(c === CR && text.charCodeAt(i + 1) === LF)) {
            throw new DataFormatError(`malformed CSV: line ${line} has characters after a closing quote`);
          }
        } else {
          let j = i;
          for (; j < n; j++) {
            const c = text.charCodeAt(j);
            if (c === COMMA || c === LF || (c === CR && text.charCodeAt(j + 1) === LF)) break;
            if (c === QUOTE) throw new DataFormatError(`malformed CSV: line ${line} has a quote inside an unquoted field`);
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
        this.builders = this.make(header(headerFields));
        this.wanted = this.builders.map((_, j) => !this.only || this.only.includes(j));
        headerFields = [];
        continue;
      }
      if (field !== builders.length) throw new DataFormatError(`malformed CSV: line ${recordLine} has ${field} fields; the header has ${builders.length}`);
      this.rows++;
    }
    this.line = line;
  }

  end(): { builders: ColumnBuilder[]; rows: number } {
    if (!this.builders) throw new DataFormatError('CSV is empty: expected a header row');
    return { builders: this.builders, rows: this.rows };
  }
}

/** Thrown to stop reading once the header is read: not a failure. */
class HeaderRead extends Error {}

/** The header's column names (trimmed and checked as parsing checks them), from text holding at least the header record. */
export function csvHeader(text: string): string[] {
  let names: string[] | undefined;
  const reader = new RecordReader((h) => { names = h; throw new HeaderRead(); });
  try {
    reader.push(text);
  } catch (err) {
    if (!(err instanceof HeaderRead)) throw err;
  }
  if (!names) throw new DataFormatError('CSV is empty: expected a header row');
  return names;
}

function header(record: string[]): string[] {
  const names = record.map((h) => h.trim());
  const seen = new Set<string>();
  names.forEach((name, j) => {
    if (name === '') throw new DataFormatError(`CSV header has an empty column name at position ${j + 1}`);
    if (seen.has(name)) throw new DataFormatError(`CSV header repeats the column name "${name}"`);
    seen.add(name);
  });
  return names;
}

function quote(text: string): string {
  return /[",\n\r]/.test(text) || text !== text.trim() ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Serialises a table as canonical CSV: LF line ends, minimal quoting, empty cell for missing. */
export function toCanonicalCsv(table: Table): string {
  return [...canonicalCsvChunks(table)].join('');
}

/**
 * Canonical CSV in chunks of whole lines (the header first), of the given rows in that order or of all
 * rows: for files larger than one string can hold.
 */
export function* canonicalCsvChunks(table: Table, rows?: ArrayLike<number>, linesPerChunk = 10_000): Generator<string> {
  yield table.columns.map((c) => quote(c.name)).join(',') + '\n';
  const count = rows ? rows.length : table.rowCount;
  for (let start = 0; start < count; start += linesPerChunk) {
    const lines: string[] = [];
    for (let k = start; k < Math.min(count, start + linesPerChunk); k++) {
      const i = rows ? rows[k] : k;
      lines.push(table.columns.map((c) => { const t = cellText(c, i); return t === null ? '' : quote(t); }).join(','));
    }
    yield lines.join('\n') + '\n';
  }
}
