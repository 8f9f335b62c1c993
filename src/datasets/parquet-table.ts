/**
 * Tables (src/ml/table.ts) to and from Parquet through DuckDB, column by column: numbers as DOUBLE
 * (missing as null), text as VARCHAR. Numbers move as whole typed-array blocks of 2,048 rows (DuckDB's
 * vector size) in both directions; only text goes cell by cell.
 */
import fs from 'node:fs/promises';
import bindings from '@duckdb/node-bindings';
import { DuckDBConnection, DuckDBDataChunk, DuckDBDoubleType, DuckDBVarCharType } from '@duckdb/node-api';
import type { Column, Table } from '../ml/table';
import { duckdb, sqlName, sqlString } from './duckdb';
import { setImmediate as nextTurn } from 'node:timers/promises';

const VECTOR = 2048;

/** Which rows and columns to read; all by default. */
export interface TableSlice {
  columns?: readonly string[];
  offset?: number;
  limit?: number;
}

/**
 * Writes the table to a Parquet file (row groups of 122,880 rows); replaces the file. ZSTD by default
 * (dataset versions: smaller); Snappy writes faster (batch scoring's parts).
 */
export async function writeParquet(table: Table, file: string, o: { compression?: 'zstd' | 'snappy' } = {}): Promise<void> {
  const connection = await duckdb();
  const temporary: string[] = [];
  try {
    const name = await appendTable(connection, table, temporary);
    await fs.rm(file, { force: true });
    await connection.run(`COPY temp.${name} TO ${sqlString(file)} (FORMAT parquet, COMPRESSION ${o.compression ?? 'zstd'})`);
  } finally {
    await dropAndClose(connection, temporary);
  }
}

/** Drops the connection's temporary tables (their memory goes back at once) and closes it. */
async function dropAndClose(connection: DuckDBConnection, tables: string[]): Promise<void> {
  for (const name of tables) await connection.run(`DROP TABLE IF EXISTS temp.${name}`).catch(() => undefined);
  connection.closeSync();
}

/** Appends a table to a new temporary table of the connection, named in `temporary` for dropping; answers its name. */
async function appendTable(connection: DuckDBConnection, table: Table, temporary: string[]): Promise<string> {
  const name = `t_${process.pid}_${Math.random().toString(36).slice(2)}`;
  const columns = table.columns.map((c) => `${sqlName(c.name)} ${c.kind === 'number' ? 'DOUBLE' : 'VARCHAR'}`);
  await connection.run(`CREATE TEMP TABLE ${name} (${columns.join(', ')})`);
  temporary.push(name);
  const appender = await connection.createAppender(name, 'main', 'temp');
  const types = table.columns.map((c) => (c.kind === 'number' ? DuckDBDoubleType.instance : DuckDBVarCharType.instance));
  const chunk = DuckDBDataChunk.create(types, VECTOR);
  for (let start = 0; start < table.rowCount; start += VECTOR) {
    const n = Math.min(VECTOR, table.rowCount - start);
    chunk.reset();
    table.columns.forEach((column, c) => fillVector(bindings.data_chunk_get_vector(chunk.chunk, c), column, start, n));
    bindings.data_chunk_set_size(chunk.chunk, n);
    appender.appendDataChunk(chunk);
    // a turn of the event loop now and then: heartbeats and (in `mlops up`) API requests share this thread
    if ((start / VECTOR) % 64 === 63) await nextTurn();
  }
  appender.closeSync();
  return name;
}

/**
 * Rows [offset, offset + limit) of a Parquet file, held in DuckDB while `work` runs (a batch chunk):
 * `read` brings some of their columns into JavaScript, `writeBeside` writes them with more columns
 * after them as a new Parquet file. The rows are read from the file once, and the columns JavaScript
 * never needs go from file to file on DuckDB's own threads.
 */
export async function withParquetRows<T>(file: string, offset: number, limit: number, work: (rows: ParquetRows) => Promise<T>): Promise<T> {
  const connection = await duckdb();
  const name = `rows_${process.pid}_${Math.random().toString(36).slice(2)}`;
  const temporary = [name];
  try {
    // sorted once here; a table keeps the order its rows went in (DuckDB preserves insertion order)
    await connection.run(`CREATE TEMP TABLE ${name} AS SELECT * EXCLUDE (file_row_number) FROM read_parquet(${sqlString(file)}, file_row_number = true)
      WHERE file_row_number >= ${Math.floor(offset)} AND file_row_number < ${Math.floor(offset + limit)} ORDER BY file_row_number`);
    const described = await connection.runAndReadAll(`DESCRIBE temp.${name}`);
    const schema = described.getRowObjects().map((r) => ({ name: String(r.column_name), type: String(r.column_type) }));
    const count = Number((await connection.runAndReadAll(`SELECT count(*) FROM temp.${name}`)).getRows()[0][0]);
    return await work({
      rowCount: count,
      read: (columns) => readQuery(connection, `temp.${name}`, schema, { columns }, count),
      async writeBeside(table, out) {
        if (table.rowCount !== count) throw new Error(`${table.rowCount} rows cannot go beside ${count}`);
        const after = await appendTable(connection, table, temporary);
        await fs.rm(out, { force: true });
        // snappy, and small dictionaries only: DuckDB otherwise tries a dictionary for every column of
        // distinct doubles before giving up, a third of the write
        await connection.run(`COPY (SELECT * FROM temp.${name} POSITIONAL JOIN temp.${after}) TO ${sqlString(out)} (FORMAT parquet, COMPRESSION snappy, DICTIONARY_SIZE_LIMIT 4096)`);
      },
    });
  } finally {
    await dropAndClose(connection, temporary);
  }
}

/** See `withParquetRows`. */
export interface ParquetRows {
  rowCount: number;
  read(columns: readonly string[]): Promise<Table>;
  /** Writes these rows, then the table's columns after them, to a Parquet file (replaced). */
  writeBeside(table: Table, file: string): Promise<void>;
}

/** One column's rows [start, start + n) into a DuckDB vector; NaN and missing text become null. */
function fillVector(vector: bindings.Vector, column: Column, start: number, n: number): void {
  const valid = new Uint8Array(Math.ceil(n / 64) * 8).fill(0xff);
  let missing = false;
  if (column.kind === 'number') {
    const values = column.values.subarray(start, start + n);
    for (let i = 0; i < n; i++) if (values[i] !== values[i]) { valid[i >> 3] &= ~(1 << (i & 7)); missing = true; }
    const copy = values.byteOffset % 8 === 0 ? values : values.slice();
    bindings.copy_data_to_vector(vector, 0, copy.buffer as ArrayBuffer, copy.byteOffset, n * 8);
  } else {
    for (let i = 0; i < n; i++) {
      const code = column.codes[start + i];
      if (code < 0) { valid[i >> 3] &= ~(1 << (i & 7)); missing = true; } else bindings.vector_assign_string_element(vector, i, column.dictionary[code]);
    }
  }
  if (missing) {
    bindings.vector_ensure_validity_writable(vector);
    bindings.copy_data_to_vector_validity(vector, 0, valid.buffer, 0, valid.byteLength);
  }
}

/** Reads a Parquet file (or the rows and columns of `slice`) into a table. */
export async function readParquet(file: string, slice: TableSlice = {}): Promise<Table> {
  const connection = await duckdb();
  try {
    const described = await connection.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${sqlString(file)})`);
    const schema = described.getRowObjects().map((r) => ({ name: String(r.column_name), type: String(r.column_type) }));
    const total = Number((await connection.runAndReadAll(`SELECT count(*) FROM read_parquet(${sqlString(file)})`)).getRows()[0][0]);
    const offset = Math.min(total, Math.max(0, Math.floor(slice.offset ?? 0)));
    const rows = Math.min(total - offset, slice.limit === undefined ? total : Math.max(0, Math.floor(slice.limit)));
    // the rows by their number in the file: the range is exact, and the order the file's whatever the threads did
    const relation = `(SELECT * FROM read_parquet(${sqlString(file)}, file_row_number = true) WHERE file_row_number >= ${offset} AND file_row_number < ${offset + rows} ORDER BY file_row_number)`;
    return await readQuery(connection, relation, schema, { columns: slice.columns }, rows);
  } finally {
    connection.closeSync();
  }
}

const NUMERIC = /^(DOUBLE|FLOAT|REAL|DECIMAL.*|(U?(TINY|SMALL|BIG|HUGE)?INT(EGER)?)|INTEGER|BIGINT|SMALLINT|TINYINT|UBIGINT|UINTEGER|USMALLINT|UTINYINT|HUGEINT|UHUGEINT)$/;

/**
 * Rows of a relation DuckDB can read (a file reader call) as a table: numeric types as numbers, every
 * other type as its text; a numeric column with no row is still numeric.
 */
export async function readQuery(connection: Awaited<ReturnType<typeof duckdb>>, relation: string, schema: { name: string; type: string }[], slice: TableSlice = {}, knownCount?: number): Promise<Table> {
  const wanted = slice.columns ? schema.filter((c) => slice.columns!.includes(c.name)) : schema;
  const numeric = wanted.map((c) => NUMERIC.test(c.type));
  const select = wanted.map((c, j) => (numeric[j] ? `CAST(${sqlName(c.name)} AS DOUBLE)` : `CAST(${sqlName(c.name)} AS VARCHAR)`));
  const range = slice.limit !== undefined || slice.offset !== undefined ? ` LIMIT ${Math.max(0, Math.floor(slice.limit ?? 2 ** 53))} OFFSET ${Math.max(0, Math.floor(slice.offset ?? 0))}` : '';
  // columns grow as chunks arrive; sized once when the caller knows the count
  let capacity = Math.max(knownCount ?? VECTOR, 1);
  const numbers = numeric.map((isNumber) => (isNumber ? new Float64Array(capacity) : undefined));
  const codes = numeric.map((isNumber) => (isNumber ? undefined : new Int32Array(capacity)));
  const dictionaries = wanted.map(() => [] as string[]);
  const indexes = wanted.map(() => new Map<string, number>());
  // Materialised, never streamed: a streamed result of a scan on several threads came back with its row
  // groups out of order, and one that fails part-way (a CSV cell that is not a number) ends early with no
  // error. A materialised result throws; only an ORDER BY keeps a file's order (a test saw a materialised
  // scan of one file with its row groups out of order without one).
  const sql = `SELECT ${select.join(', ') || '1'} FROM ${relation}${range}`;
  const result = await connection.run(sql);
  let row = 0;
  let chunks = 0;
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    const n = chunk.rowCount;
    if (row + n > capacity) {
      capacity = Math.max(capacity * 2, row + n);
      // column by column with a turn between: at 10M rows each copy moves hundreds of megabytes
      for (let j = 0; j < wanted.length; j++) {
        const [a, b] = numeric[j] ? [numbers[j]!, numbers[j] = new Float64Array(capacity)] : [codes[j]!, codes[j] = new Int32Array(capacity)];
        b.set(a.subarray(0, row));
        if (capacity > 1 << 20) await nextTurn();
      }
    }
    for (let j = 0; j < wanted.length; j++) {
      const vector = bindings.data_chunk_get_vector(chunk.chunk, j);
      const validity = bindings.vector_get_validity(vector, Math.ceil(n / 64) * 8);
      const isValid = (i: number) => !validity || (validity[i >> 3] & (1 << (i & 7))) !== 0;
      if (numeric[j]) {
        const target = numbers[j]!;
        const data = bindings.vector_get_data(vector, n * 8);
        if (data.byteOffset % 8 === 0) target.set(new Float64Array(data.buffer, data.byteOffset, n), row);
        else target.set(new Float64Array(data.slice().buffer, 0, n), row);
        if (validity) for (let i = 0; i < n; i++) if (!isValid(i)) target[row + i] = NaN;
      } else {
        const target = codes[j]!;
        const cells = chunk.getColumnVector(j);
        const dictionary = dictionaries[j];
        const index = indexes[j];
        for (let i = 0; i < n; i++) {
          const text = isValid(i) ? (cells.getItem(i) as string) : null;
          if (text === null) { target[row + i] = -1; continue; }
          let code = index.get(text);
          if (code === undefined) { code = dictionary.length; dictionary.push(text); index.set(text, code); }
          target[row + i] = code;
        }
      }
    }
    row += n;
    // a materialised result's chunks resolve as microtasks, which never let timers or sockets run: give
    // the event loop a turn now and then, or a 10M-row read holds up every request of the process
    if (++chunks % 64 === 0) await nextTurn();
  }
  if (knownCount !== undefined && row !== knownCount) throw new Error(`${relation} gave ${row} rows, not the ${knownCount} expected`);
  const fit = <T extends Float64Array | Int32Array>(a: T): T => (row === a.length ? a : row >= a.length * 0.75 ? a.subarray(0, row) : a.slice(0, row)) as T;
  const columns: Column[] = [];
  for (let j = 0; j < wanted.length; j++) {
    const name = wanted[j].name;
    columns.push(numeric[j] ? { name, kind: 'number', values: fit(numbers[j]!) } : { name, kind: 'string', codes: fit(codes[j]!), dictionary: dictionaries[j] });
    if (row > 1 << 20) await nextTurn();
  }
  return { rowCount: row, columns };
}
