/**
 * Apache Parquet. A local file or folder of files (hive-style partitions as columns) is read by DuckDB
 * (src/datasets/duckdb-sources.ts) with the same typing as below; bytes with no local file (an upload
 * held in memory) are read with hyparquet (pure JavaScript). Parquet keeps its schema and row-group index
 * at the end of the file, so the file is read whole (at most MAX_PARQUET_BYTES) and then column by
 * column, one row group at a time, into the same column builders CSV cells go through: numbers stay
 * numbers, strings are typed as CSV text is, booleans become "true"/"false" (as in JSON Lines), nulls
 * are missing. Columns of other types (dates, nested records, binary) are refused by name.
 */
import type { FileMetaData, ParquetParsers, ParquetScan, SchemaTree } from 'hyparquet';
import { Column, ColumnBuilder, columnLength, DataFormatError } from '../../ml/table';
import { readParquetPath } from '../../datasets/duckdb-sources';
import { readWhole } from '../byte-source';
import { defineFormat } from './format';

/** Largest Parquet file read: it is held in memory while its columns are decoded. */
export const MAX_PARQUET_BYTES = 256 * 1024 * 1024;
/** Most bytes its columns may declare uncompressed: what decoding may allocate, whatever the file's size. */
export const MAX_PARQUET_DECODED_BYTES = 2 * 1024 * 1024 * 1024;
/** The codecs hyparquet decompresses by itself. */
const CODECS = ['UNCOMPRESSED', 'SNAPPY'];

/** How a column's values become cells. */
type Cells = 'number' | 'text' | 'boolean';

const NUMBER_TYPES = ['INT32', 'INT64', 'FLOAT', 'DOUBLE'];
const NUMBER_ANNOTATIONS = ['INTEGER', 'FLOAT16', 'INT_8', 'INT_16', 'INT_32', 'INT_64', 'UINT_8', 'UINT_16', 'UINT_32', 'UINT_64'];
const TEXT_ANNOTATIONS = ['STRING', 'UTF8', 'ENUM'];

/** How a top-level column's values become cells; a type that has no place in a table is refused. */
function cellsOf(column: SchemaTree, source: string): Cells {
  const { name, type, repetition_type: repetition, logical_type: logical, converted_type: converted } = column.element;
  const annotation = logical?.type ?? converted;
  const refuse = (what: string) => new DataFormatError(`${source}: column "${name}" is ${what}; Parquet columns are read as numbers, strings or booleans, so convert it before export (a timestamp to an ISO string, say)`);
  if (column.children.length > 0) throw refuse(annotation === 'LIST' ? 'a list' : annotation === 'MAP' ? 'a map' : 'a nested record');
  if (repetition === 'REPEATED') throw refuse('repeated');
  // hyparquet scales decimals by their converted type; a logical DECIMAL alone would read unscaled
  if (converted === 'DECIMAL') return 'number';
  if (annotation === undefined) {
    if (type === 'BOOLEAN') return 'boolean';
    if (type === 'BYTE_ARRAY') return 'text';
    if (type && NUMBER_TYPES.includes(type)) return 'number';
  } else if (TEXT_ANNOTATIONS.includes(annotation)) return 'text';
  else if (NUMBER_ANNOTATIONS.includes(annotation)) return 'number';
  throw refuse(`of type ${annotation ?? type}`);
}

/** Adds one decoded value to a column, or says why it does not fit the column's type. */
function adder(cells: Cells, builder: ColumnBuilder, refuse: (value: unknown) => Error): (value: unknown) => void {
  if (cells === 'number') {
    return (v) => {
      if (typeof v === 'number' || v === null || v === undefined) builder.addNumber(v ?? null);
      else if (typeof v === 'bigint') builder.addNumber(Number(v));
      else throw refuse(v);
    };
  }
  return (v) => {
    if (v === null || v === undefined) builder.add(null);
    else if (typeof v === (cells === 'text' ? 'string' : 'boolean')) builder.add(String(v));
    else throw refuse(v);
  };
}

/** Strings decoded strictly: hyparquet's own decoder would replace bytes that are not UTF-8. */
function strictStrings(source: string): Partial<ParquetParsers> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  return {
    stringFromBytes(bytes: Uint8Array | undefined) {
      if (!bytes) return bytes;
      try {
        return decoder.decode(bytes);
      } catch {
        throw new DataFormatError(`${source} holds text that is not valid UTF-8`);
      }
    },
  };
}

/** Refuses files hyparquet cannot decompress, or whose columns would decode to more than MAX_PARQUET_DECODED_BYTES. */
function checkDecodable(metadata: FileMetaData, source: string): void {
  const chunks = metadata.row_groups.flatMap((group) => group.columns.map((c) => c.meta_data));
  const codec = chunks.find((c) => c && !CODECS.includes(c.codec))?.codec;
  if (codec) throw new DataFormatError(`${source} is compressed with ${codec}; Parquet is read uncompressed or compressed with Snappy (the default of pyarrow, pandas, Spark and DuckDB)`);
  const decoded = chunks.reduce((sum, c) => sum + Number(c?.total_uncompressed_size ?? 0), 0);
  if (decoded > MAX_PARQUET_DECODED_BYTES) throw new DataFormatError(`${source} holds ${decoded} bytes uncompressed; at most ${MAX_PARQUET_DECODED_BYTES} are read`);
}

/** The top-level columns with how their values become cells; names must be unique, as in a CSV header. */
function columnsOf(schema: SchemaTree, source: string): { name: string; cells: Cells }[] {
  const columns = schema.children.map((c) => ({ name: c.element.name, cells: cellsOf(c, source) }));
  if (columns.length === 0) throw new DataFormatError(`${source} has no columns`);
  const repeated = columns.find((c, j) => columns.findIndex((d) => d.name === c.name) !== j);
  if (repeated) throw new DataFormatError(`${source} repeats the column name "${repeated.name}"`);
  return columns;
}

/**
 * One column, a row group at a time. Text that stops looking numeric part-way is read again as text,
 * so its early cells keep their spelling ("007"), as CSV does.
 */
async function readColumn(scan: ParquetScan, { name, cells }: { name: string; cells: Cells }, rowCount: number, source: string): Promise<Column> {
  const fill = async (builder: ColumnBuilder) => {
    const add = adder(cells, builder, (v) => new DataFormatError(`${source}: column "${name}" holds a ${typeof v} where its type says ${cells}`));
    for (const range of scan.ranges) {
      const values = await scan.readColumn({ column: name, ...range });
      for (let i = 0; i < values.length; i++) add(values[i]);
    }
    return builder;
  };
  let builder = await fill(new ColumnBuilder(name));
  if (builder.flipped) builder = await fill(new ColumnBuilder(name, { text: true }));
  const column = builder.build();
  if (columnLength(column) !== rowCount) throw new DataFormatError(`${source}: column "${name}" has ${columnLength(column)} values; the file says it has ${rowCount} rows`);
  return column;
}

export const parquet = defineFormat({
  name: 'parquet',
  extensions: ['.parquet'],
  mediaTypes: ['application/vnd.apache.parquet', 'application/x-parquet'],
  readsFolders: true,
  async parse(source, onProgress) {
    // a local file or folder (downloads are files too): DuckDB, column by column on every core, any size or codec
    if (source.localPath) {
      const table = await readParquetPath(source.localPath, source.name);
      onProgress?.({ rows: table.rowCount });
      return table;
    }
    const file = (await readWhole(source, MAX_PARQUET_BYTES)).buffer as ArrayBuffer;
    // an ES module: import() loads it from this CommonJS build on Node 20 as on 24
    const { parquetMetadata, parquetSchema, parquetScan } = await import('hyparquet');
    try {
      const metadata = parquetMetadata(file);
      checkDecodable(metadata, source.name);
      const columns = columnsOf(parquetSchema(metadata), source.name);
      const rowCount = Number(metadata.num_rows);
      const scan = await parquetScan({ file, metadata, parsers: strictStrings(source.name) });
      const built: Column[] = [];
      for (const column of columns) built.push(await readColumn(scan, column, rowCount, source.name));
      onProgress?.({ rows: rowCount });
      return { rowCount, columns: built };
    } catch (err) {
      if (err instanceof DataFormatError) throw err;
      // hyparquet's errors (a truncated footer, a corrupt page) are the file's fault: no retry can help
      throw new DataFormatError(`${source.name} is not a readable Parquet file: ${(err as Error).message}`);
    }
  },
});
