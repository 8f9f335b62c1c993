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
 * Builds a table from rows of raw text cells. A column is numeric when every present cell parses as a
 * finite number; otherwise it is text.
 */
export function tableFromTextRows(header: string[], rows: (string | null)[][]): Table {
  const rowCount = rows.length;
  const columns: Column[] = header.map((name, j) => {
    let numeric = true;
    for (let i = 0; i < rowCount && numeric; i++) {
      const raw = rows[i][j];
      if (raw === null || raw === undefined || isMissingToken(raw)) continue;
      const v = Number(raw.trim());
      if (!Number.isFinite(v)) numeric = false;
    }
    if (numeric) {
      const values = new Float64Array(rowCount);
      for (let i = 0; i < rowCount; i++) {
        const raw = rows[i][j];
        values[i] = raw === null || raw === undefined || isMissingToken(raw) ? NaN : Number(raw.trim());
      }
      return { name, kind: 'number', values };
    }
    const codes = new Int32Array(rowCount);
    const dictionary: string[] = [];
    const index = new Map<string, number>();
    for (let i = 0; i < rowCount; i++) {
      const raw = rows[i][j];
      if (raw === null || raw === undefined || isMissingToken(raw)) {
        codes[i] = -1;
        continue;
      }
      const text = raw.trim();
      let code = index.get(text);
      if (code === undefined) {
        code = dictionary.length;
        dictionary.push(text);
        index.set(text, code);
      }
      codes[i] = code;
    }
    return { name, kind: 'string', codes, dictionary };
  });
  return { rowCount, columns };
}
