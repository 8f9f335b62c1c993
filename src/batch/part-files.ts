/**
 * Writes one scored chunk (a Table: the input's columns and the prediction's) as a part file of a batch
 * output, CSV or Parquet. Numbers round-trip exactly in both: CSV cells carry JavaScript's shortest
 * round-trip spelling, Parquet columns are DOUBLE. Missing values are empty CSV cells and Parquet nulls.
 */
import fs from 'node:fs/promises';
import { duckdb, sqlString } from '../datasets/duckdb';
import { writeParquet, type ParquetRows } from '../datasets/parquet-table';
import type { Table } from '../ml/table';

export type OutputFormat = 'parquet' | 'csv';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['parquet', 'csv'];

/** A CSV field as RFC 4180 wants it: quoted when it holds a comma, quote, line break or edge space. */
export function csvField(text: string): string {
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The table as RFC 4180 CSV (CRLF line ends, a header row). */
export function tableCsv(table: Table): string {
  const lines: string[] = [table.columns.map((c) => csvField(c.name)).join(',')];
  const cells = table.columns.map((column) => {
    if (column.kind === 'number') return (r: number) => { const v = column.values[r]; return Number.isNaN(v) ? '' : String(v); };
    const quoted = column.dictionary.map(csvField);
    return (r: number) => { const code = column.codes[r]; return code < 0 ? '' : quoted[code]; };
  });
  for (let r = 0; r < table.rowCount; r++) {
    let line = '';
    for (let j = 0; j < cells.length; j++) line += (j ? ',' : '') + cells[j](r);
    lines.push(line);
  }
  return `${lines.join('\r\n')}\r\n`;
}

/**
 * Writes a part file in the format asked for (a file there is replaced); Parquet Snappy-compressed,
 * which wrote faster than ZSTD here. With `input` (Parquet only), the part's first columns are those
 * rows' columns, and `table` holds the columns after them.
 */
export async function writePart(table: Table, file: string, format: OutputFormat, input?: ParquetRows): Promise<void> {
  if (input) {
    if (format !== 'parquet') throw new Error('only a Parquet part is written beside rows held in DuckDB');
    await input.writeBeside(table, file);
  } else if (format === 'csv') await fs.writeFile(file, tableCsv(table));
  else await writeParquet(table, file, { compression: 'snappy' });
}

/** Reads a Parquet file's rows as objects (tests and tools: numbers as numbers, missing as null). */
export async function readParquetRows(file: string): Promise<Record<string, unknown>[]> {
  const connection = await duckdb();
  try {
    const reader = await connection.runAndReadAll(`SELECT * EXCLUDE (file_row_number) FROM read_parquet(${sqlString(file)}, file_row_number = true) ORDER BY file_row_number`);
    return reader.getRowObjectsJS() as Record<string, unknown>[];
  } finally {
    connection.closeSync();
  }
}
