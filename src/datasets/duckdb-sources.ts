/**
 * Local files read by DuckDB on every core: CSV, Parquet files and folders of Parquet files (hive-style
 * partitions become columns). The table is what the platform's own readers give for the same bytes:
 * a column is numeric when every present cell is a finite number, cells are trimmed, the same spellings
 * are missing (src/ml/table.ts, MISSING_TOKENS), booleans are text. Where DuckDB's reading of a CSV could
 * differ (a one-column file, whose blank lines DuckDB keeps; an empty file) or where it fails, the CSV
 * reader declines (undefined) and the caller reads with the platform's own parser, which also words the
 * errors (line numbers, ragged rows, quotes, encodings).
 */
import fs from 'node:fs/promises';
import { setImmediate as nextTurn } from 'node:timers/promises';
import path from 'node:path';
import { csvHeader, RecordSplitter } from '../ml/csv';
import { DataFormatError, MISSING_TOKENS, Table } from '../ml/table';
import { duckdb, sqlName, sqlString } from './duckdb';
import { readQuery } from './parquet-table';

type Connection = Awaited<ReturnType<typeof duckdb>>;

/** The whitespace JavaScript's trim removes that CSV cells hold in practice. */
const TRIM = sqlString(' \t\n\r\u000b\f\u00a0\ufeff');
const MISSING = [...MISSING_TOKENS].map(sqlString).join(', ');

/** The column DuckDB names each row's file in, while rows are put in order. */
const FILE_INDEX = '__mlops_file';

const NUMERIC_TYPE = /^(DOUBLE|FLOAT|REAL|DECIMAL.*|U?(TINY|SMALL|BIG|HUGE)?INT(EGER)?|UBIGINT|UINTEGER|USMALLINT|UTINYINT|HUGEINT|UHUGEINT)$/;
/** Read as text: strings (and bytes with no annotation, as strict UTF-8) and booleans, as the in-memory reader does. */
const TEXT_TYPE = /^(VARCHAR|BOOLEAN)$/;

/**
 * The spellings of missing DuckDB's reader takes as null, compared exactly: MISSING_TOKENS in lower,
 * upper and title case (each more costs every cell a comparison). Others (" NA", "nUlL") make their
 * column text at first, and the text path finds them missing.
 */
const NULL_SPELLINGS = [...new Set([...MISSING_TOKENS].flatMap((t) => [t, t.toUpperCase(), t.charAt(0).toUpperCase() + t.slice(1), t === 'nan' ? 'NaN' : t]))];

/**
 * A CSV file as a table, or undefined when DuckDB declines it (then the platform's parser reads it, and
 * words any error). Every column is first read as numbers by DuckDB's parser, which is exact (bit for
 * bit what the platform's parser gives); a column with a cell that is not a number is named by DuckDB's
 * error and read again as text, trimmed, with missing spellings as missing; a text column whose every
 * present cell is a finite number to JavaScript becomes numbers as the platform's parser makes them.
 */
export async function readCsvFile(file: string): Promise<Table | undefined> {
  const head = await firstBytes(file, 1 << 20);
  let names: string[];
  try {
    const records = new RecordSplitter().push(new TextDecoder('utf-8', { fatal: true }).decode(head, { stream: true }));
    names = csvHeader(records);
  } catch {
    return undefined;
  }
  // one column: DuckDB keeps blank lines as missing cells, the platform's parser skips them
  if (names.length < 2) return undefined;
  const connection = await duckdb();
  try {
    const text = new Set<string>();
    // DuckDB reads 1_000 as a number, JavaScript does not: where the data holds an underscore, look first
    if (await containsByte(file, 0x5f, head.indexOf(0x0a) + 1)) for (const name of await underscoredColumns(connection, file, names)) text.add(name);
    for (;;) {
      const relation = csvRelation(file, names, text);
      try {
        const select = names.map((n) => (text.has(n) ? `CASE WHEN ${missingCell(n)} THEN NULL ELSE ${trimmed(n)} END AS ${sqlName(n)}` : sqlName(n)));
        const table = await readQuery(connection, `(SELECT ${select.join(', ')} FROM ${relation})`, names.map((n) => ({ name: n, type: text.has(n) ? 'VARCHAR' : 'DOUBLE' })));
        // DuckDB reads 1e999 as infinity; to the platform a column holding it is text: read it again as text
        const infinite = await firstInfiniteColumn(table);
        if (infinite) { text.add(infinite); continue; }
        return table.rowCount === 0 ? undefined : numbersAsJavaScriptReadsThem(table);
      } catch (err) {
        const column = /Error when converting column "((?:[^"]|"")*)"/.exec((err as Error).message)?.[1]?.replace(/""/g, '"');
        if (column === undefined || text.has(column) || !names.includes(column)) return undefined;
        text.add(column);
      }
    }
  } catch {
    return undefined;
  } finally {
    connection.closeSync();
  }
}

function csvRelation(file: string, names: string[], text: Set<string>): string {
  return `read_csv(${sqlString(file)}, header = true, delim = ',', quote = '"', escape = '"', strict_mode = true, null_padding = false, auto_detect = false, `
    + `nullstr = [${NULL_SPELLINGS.map(sqlString).join(', ')}], columns = {${names.map((n) => `${sqlString(n)}: '${text.has(n) ? 'VARCHAR' : 'DOUBLE'}'`).join(', ')}})`;
}

/** A cell as text, trimmed as JavaScript trims, and whether it is missing (MISSING_TOKENS, any case). */
const trimmed = (name: string) => `trim(CAST(${sqlName(name)} AS VARCHAR), ${TRIM})`;
const missingCell = (name: string) => `(${trimmed(name)} IS NULL OR lower(${trimmed(name)}) IN (${MISSING}))`;

/** The columns with a cell holding an underscore, read as text in one pass. */
async function underscoredColumns(connection: Connection, file: string, names: string[]): Promise<string[]> {
  const all = new Set(names);
  const counts = (await connection.runAndReadAll(`SELECT ${names.map((n, j) => `count(*) FILTER (WHERE contains(${sqlName(n)}, '_')) AS u${j}`).join(', ')} FROM ${csvRelation(file, names, all)}`)).getRows()[0];
  return names.filter((_, j) => Number(counts[j]) > 0);
}

/** The first numeric column holding an infinity, looked for column by column with a turn between. */
async function firstInfiniteColumn(table: Table): Promise<string | undefined> {
  for (const column of table.columns) {
    if (column.kind !== 'number') continue;
    const values = column.values;
    for (let i = 0; i < values.length; i++) if (values[i] - values[i] !== 0 && values[i] === values[i]) return column.name; // ±Infinity - itself is NaN
    await nextTurn();
  }
  return undefined;
}

/** Text columns whose every present cell JavaScript reads as a finite number become numbers, as the platform's parser makes them. */
function numbersAsJavaScriptReadsThem(table: Table): Table {
  return {
    ...table,
    columns: table.columns.map((c) => {
      if (c.kind !== 'string' || c.dictionary.length === 0) return c;
      const values = c.dictionary.map((t) => Number(t));
      if (!values.every(Number.isFinite)) return c;
      return { name: c.name, kind: 'number', values: Float64Array.from(c.codes, (code) => (code < 0 ? NaN : values[code])) };
    }),
  };
}

/** Whether a byte occurs in a file from an offset on, read in 4 MiB blocks. */
async function containsByte(file: string, byte: number, from: number): Promise<boolean> {
  const handle = await fs.open(file, 'r');
  try {
    const buffer = Buffer.alloc(1 << 22);
    for (let position = from; ;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) return false;
      if (buffer.subarray(0, bytesRead).includes(byte)) return true;
      position += bytesRead;
    }
  } finally {
    await handle.close();
  }
}

/**
 * A Parquet file, or a folder of them (every `*.parquet` below it, hive-style `key=value` folders as
 * columns), as a table. Files of a folder must share their columns; a damaged file or an unreadable
 * column type is a DataFormatError naming it.
 */
export async function readParquetPath(target: string, name: string): Promise<Table> {
  const connection = await duckdb();
  try {
    const folder = (await fs.stat(target)).isDirectory();
    const files = folder ? await parquetFiles(target) : [target];
    if (files.length === 0) throw new DataFormatError(`${name} is a folder with no .parquet file in it`);
    if (folder) await sameColumns(connection, files, target, name);
    const scan = `read_parquet([${files.map(sqlString).join(', ')}], hive_partitioning = ${folder}, binary_as_string = true`;
    let schema;
    try {
      schema = await describe(connection, `${scan})`);
    } catch (err) {
      throw new DataFormatError(`${name} is not a readable Parquet ${folder ? 'folder' : 'file'}: ${firstLine(err)}`);
    }
    const odd = schema.filter((c) => !NUMERIC_TYPE.test(c.type) && !TEXT_TYPE.test(c.type));
    if (odd.length > 0) {
      throw new DataFormatError(`${name}: ${odd.map((c) => `column "${c.name}" is of type ${c.type}`).join(', ')}; Parquet columns are read as numbers, strings or booleans, so convert ${odd.length === 1 ? 'it' : 'them'} before export (a timestamp to an ISO string, a nested record to its fields)`);
    }
    await checkExpansion(connection, files, schema.length, name);
    // in the files' order (sorted paths), each file's rows in its own order, whatever the threads did
    // (a test showed a materialised result of one file with its row groups out of order without it)
    const relation = `(SELECT * EXCLUDE (${FILE_INDEX}, file_row_number) FROM ${scan}, filename = ${sqlString(FILE_INDEX)}, file_row_number = true) ORDER BY ${FILE_INDEX}, file_row_number)`;
    try {
      return await typedTable(connection, relation, schema, `${scan})`);
    } catch (err) {
      if (err instanceof DataFormatError) throw err;
      if (/not valid UTF8/.test((err as Error).message)) throw new DataFormatError(`${name} holds text that is not valid UTF-8: ${firstLine(err)}`);
      throw new DataFormatError(`${name} is not a readable Parquet ${folder ? 'folder' : 'file'}: ${firstLine(err)}`);
    }
  } finally {
    connection.closeSync();
  }
}

/**
 * How many times its size in bytes a Parquet input may take in memory once read (8 bytes a cell at the
 * least), past the first GiB. Parquet's run-length and dictionary encodings let a file of kilobytes claim
 * billions of rows: read whole, it would take the process's memory. Real data expands a few times (random
 * numbers) to some tens of times (columns of random 0/1 flags, one bit a value); only columns that are
 * nearly constant throughout go past a thousand, and a table of those has nothing to learn from.
 */
export const MAX_PARQUET_EXPANSION = 1000;
const EXPANSION_FLOOR_BYTES = 2 ** 30;

/** Refuses files whose row counts (from their footers) would take far more memory than their size. */
async function checkExpansion(connection: Connection, files: string[], columns: number, name: string): Promise<void> {
  const reader = await connection.runAndReadAll(`SELECT sum(num_rows)::DOUBLE AS n FROM parquet_file_metadata([${files.map(sqlString).join(', ')}])`);
  const rows = Number(reader.getRowObjects()[0]?.n ?? 0);
  const bytes = (await Promise.all(files.map((f) => fs.stat(f)))).reduce((sum, s) => sum + s.size, 0);
  const memory = rows * columns * 8;
  if (memory > Math.max(EXPANSION_FLOOR_BYTES, MAX_PARQUET_EXPANSION * bytes)) {
    throw new DataFormatError(`${name} claims ${rows} rows of ${columns} column${columns === 1 ? '' : 's'} (at least ${(memory / 2 ** 30).toFixed(1)} GiB once read) in ${bytes} bytes: over ${MAX_PARQUET_EXPANSION} times its size, far more than real data expands; it is refused rather than read`);
  }
}

/** Every .parquet file below a folder, in a stable order (the rows' order follows it). */
async function parquetFiles(folder: string): Promise<string[]> {
  const entries = await fs.readdir(folder, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile() && e.name.toLowerCase().endsWith('.parquet')).map((e) => path.join(e.parentPath, e.name)).sort();
}

/** Refuses a folder whose files do not all have the first file's columns and types. */
async function sameColumns(connection: Connection, files: string[], folder: string, name: string): Promise<void> {
  const shape = async (file: string) => {
    try {
      return (await describe(connection, `read_parquet(${sqlString(file)}, binary_as_string = true)`)).map((c) => `${c.name} ${c.type}`).join(', ');
    } catch (err) {
      throw new DataFormatError(`${name}: ${path.relative(folder, file)} is not a readable Parquet file: ${firstLine(err)}`);
    }
  };
  const first = await shape(files[0]);
  for (const file of files.slice(1)) {
    const columns = await shape(file);
    if (columns !== first) {
      throw new DataFormatError(`${name}: the files of a folder must have the same columns, but ${path.relative(folder, files[0])} has (${first}) and ${path.relative(folder, file)} has (${columns})`);
    }
  }
}

async function describe(connection: Connection, relation: string): Promise<{ name: string; type: string }[]> {
  const rows = (await connection.runAndReadAll(`DESCRIBE SELECT * FROM ${relation}`)).getRowObjects();
  return rows.map((r) => ({ name: String(r.column_name), type: String(r.column_type) }));
}

/**
 * The relation as a table typed the platform's way: numeric columns as numbers; text-like columns
 * (VARCHAR, booleans, dates) trimmed, missing spellings as missing, and numeric when every present cell
 * is a finite number. One pass classifies the text columns (over `unordered`, the same rows in any
 * order), a second reads every column.
 */
async function typedTable(connection: Connection, relation: string, schema: { name: string; type: string }[], unordered: string): Promise<Table> {
  const text = schema.map((c) => !NUMERIC_TYPE.test(c.type));
  const cell = (c: { name: string }) => trimmed(c.name);
  const missing = (c: { name: string }) => missingCell(c.name);
  const number = (c: { name: string }) => `TRY_CAST(${cell(c)} AS DOUBLE)`;
  const checks = schema.flatMap((c, j) => (text[j]
    ? [
      `count(*) FILTER (WHERE NOT ${missing(c)} AND (${number(c)} IS NULL OR NOT isfinite(${number(c)}))) AS text_${j}`,
      // spellings JavaScript and DuckDB read differently: 1_000 (DuckDB: a number), 0x1A (JavaScript: one)
      `count(*) FILTER (WHERE contains(${cell(c)}, '_') OR (${number(c)} IS NULL AND regexp_matches(${cell(c)}, '^[+-]?0[xXoObB][0-9a-fA-F]+$'))) AS odd_${j}`,
    ]
    : []));
  // counts need no order; with no text column to classify, the row count is the files' metadata
  const counted = (await connection.runAndReadAll(`SELECT count(*) AS rows${checks.length ? `, ${checks.join(', ')}` : ''} FROM ${unordered}`)).getRowObjects();
  const stats = counted[0];
  const rows = Number(stats.rows);
  // a text column with such cells stays text
  const odd = schema.map((_, j) => text[j] && Number(stats[`odd_${j}`]) > 0);
  const numeric = schema.map((_, j) => !text[j] || (rows > 0 && !odd[j] && Number(stats[`text_${j}`]) === 0));
  const select = schema.map((c, j) => {
    if (!text[j]) return `CAST(${sqlName(c.name)} AS DOUBLE) AS ${sqlName(c.name)}`;
    const present = `CASE WHEN ${missing(c)} THEN NULL ELSE ${cell(c)} END`;
    return `${numeric[j] ? `CAST(${present} AS DOUBLE)` : present} AS ${sqlName(c.name)}`;
  });
  return readQuery(connection, `(SELECT ${select.join(', ')} FROM ${relation})`, schema.map((c, j) => ({ name: c.name, type: numeric[j] ? 'DOUBLE' : 'VARCHAR' })), {}, rows);
}

async function firstBytes(file: string, count: number): Promise<Uint8Array> {
  const handle = await fs.open(file, 'r');
  try {
    const buffer = new Uint8Array(count);
    const { bytesRead } = await handle.read(buffer, 0, count, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

const firstLine = (err: unknown) => (err as Error).message.split('\n')[0].replace(/^[A-Za-z ]*Error: /, '');
