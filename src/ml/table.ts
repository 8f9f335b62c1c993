/**
 * Columnar tables: one typed array per numeric column, dictionary codes per text column.
 * Missing numbers are NaN; missing text is code -1.
 */
export type NumericColumn = { name: string; kind: 'number'; values: Float64Array };
export type TextColumn = { name: string; kind: 'string'; codes: Int32Array; dictionary: string[] };
export type Column = NumericColumn | TextColumn;

export interface Table {
  rowCount: number;
  columns: Column[];
}

/** Input that cannot become a table (malformed CSV, JSON or Parquet, text that is not UTF-8): the data's fault, so no retry helps. */
export class DataFormatError extends Error {}

/** Cell spellings read as "no value". */
export const MISSING_TOKENS = new Set(['', 'na', 'n/a', 'nan', 'null', 'none', '?']);

export function isMissingToken(raw: string): boolean {
  return MISSING_TOKENS.has(raw.trim().toLowerCase());
}

export function getColumn(table: Table, name: string): Column | undefined {
  return table.columns.find((c) => c.name === name);
}

export function isMissing(column: Column, row: number): boolean {
  return column.kind === 'number' ? Number.isNaN(column.values[row]) : column.codes[row] < 0;
}

/** The cell as text, or null when missing; numbers keep their shortest round-trip spelling. */
export function cellText(column: Column, row: number): string | null {
  if (column.kind === 'number') {
    const v = column.values[row];
    return Number.isNaN(v) ? null : String(v);
  }
  const code = column.codes[row];
  return code < 0 ? null : column.dictionary[code];
}

/** Number of rows a column holds. */
export function columnLength(column: Column): number {
  return column.kind === 'number' ? column.values.length : column.codes.length;
}

/**
 * Builds one column cell by cell without holding rows: numbers go into a growing Float64Array until a
 * cell fails to parse as a number; then the column becomes dictionary-coded text. The numbers before
 * that point are converted with their canonical spelling, so a caller that still has the source (as
 * parseCsv does) re-reads a column that `flipped` as text to keep every original spelling.
 */
export class ColumnBuilder {
  private numbers: Float64Array | null;
  private codes: Int32Array | null = null;
  private dictionary: string[] = [];
  private index = new Map<string, number>();
  private length = 0;
  /** True when the column started numeric and turned to text part-way. */
  flipped = false;

  constructor(readonly name: string, o: { text?: boolean } = {}) {
    this.numbers = o.text ? null : new Float64Array(1024);
    if (o.text) this.codes = new Int32Array(1024);
  }

  add(raw: string | null | undefined): void {
    const i = this.length++;
    if (this.numbers) {
      if (i >= this.numbers.length) this.numbers = grow(this.numbers);
      // Fast path: most numeric cells start with a digit, sign or point and parse outright.
      const c = raw ? raw.charCodeAt(0) : 0;
      if ((c >= 48 && c <= 57) || c === 45 || c === 46) {
        const v = +raw!;
        if (Number.isFinite(v)) { this.numbers[i] = v; return; }
      }
      if (raw === null || raw === undefined || isMissingToken(raw)) { this.numbers[i] = NaN; return; }
      const v = Number(raw.trim());
      if (Number.isFinite(v)) { this.numbers[i] = v; return; }
      this.becomeText(i);
    }
    if (i >= this.codes!.length) this.codes = grow(this.codes!);
    this.codes![i] = raw === null || raw === undefined || isMissingToken(raw) ? -1 : this.code(raw.trim());
  }

  /**
   * A cell that arrives as a number (binary formats), taken as its CSV spelling would be without the
   * round trip through text: null and NaN are missing, and ±Infinity turns the column to text.
   */
  addNumber(value: number | null): void {
    if (this.numbers && value !== null && Number.isFinite(value)) {
      if (this.length >= this.numbers.length) this.numbers = grow(this.numbers);
      this.numbers[this.length++] = value;
      return;
    }
    this.add(value === null || Number.isNaN(value) ? null : String(value));
  }

  private code(text: string): number {
    let code = this.index.get(text);
    if (code === undefined) {
      code = this.dictionary.length;
      this.dictionary.push(text);
      this.index.set(text, code);
    }
    return code;
  }

  /** Converts the rows before `upTo` from numbers to text codes. */
  private becomeText(upTo: number): void {
    const numbers = this.numbers!;
    this.codes = new Int32Array(Math.max(numbers.length, 1024));
    for (let r = 0; r < upTo; r++) this.codes[r] = Number.isNaN(numbers[r]) ? -1 : this.code(String(numbers[r]));
    this.numbers = null;
    this.flipped = upTo > 0;
  }

  build(): Column {
    if (this.numbers) return { name: this.name, kind: 'number', values: fitted(this.numbers, this.length) };
    return { name: this.name, kind: 'string', codes: fitted(this.codes!, this.length), dictionary: this.dictionary };
  }
}

/**
 * The first `length` cells: a view when little capacity is unused (no copy of a large column at its
 * peak), else a compact copy.
 */
function fitted<T extends Float64Array | Int32Array>(array: T, length: number): T {
  return (length >= array.length * 0.75 ? array.subarray(0, length) : array.slice(0, length)) as T;
}

function grow<T extends Float64Array | Int32Array>(array: T): T {
  const bigger = new (array.constructor as new (n: number) => T)(array.length * 2);
  bigger.set(array);
  return bigger;
}

/**
 * Builds a table from rows of raw text cells. A column is numeric when every present cell parses as a
 * finite number; otherwise it is text.
 */
export function tableFromTextRows(header: string[], rows: (string | null)[][]): Table {
  const builders = header.map((name) => new ColumnBuilder(name));
  for (const row of rows) builders.forEach((b, j) => b.add(row[j]));
  return { rowCount: rows.length, columns: builders.map((b) => b.build()) };
}

/**
 * The table with records appended (e.g. examples labelled by people): each record gives a value per
 * column name, absent ones are missing; keys that are not columns are ignored. A text column stays
 * text, so appended numbers do not re-type it.
 */
export function appendRecords(table: Table, records: readonly Record<string, unknown>[]): Table {
  const columns = table.columns.map((column) => {
    const builder = new ColumnBuilder(column.name, { text: column.kind === 'string' });
    const n = columnLength(column);
    for (let row = 0; row < n; row++) builder.add(cellText(column, row));
    for (const record of records) {
      const v = record[column.name];
      builder.add(v === undefined || v === null ? null : String(v));
    }
    return builder.build();
  });
  return { rowCount: table.rowCount + records.length, columns };
}
