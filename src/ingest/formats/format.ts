/** What a data format is: how a resource's bytes become a table, and how requests and files name it. */
import type { Table } from '../../ml/table';
import type { ByteSource } from '../byte-source';

export interface DataFormat<N extends string = string> {
  /** What requests call it (`data.format`, `?format=`); runs record it, so it is never renamed. */
  readonly name: N;
  /** File name endings (lower case, with the dot) that choose it when a source names no format. */
  readonly extensions: readonly string[];
  /** Content types an upload may declare it by; the first is what the CLI sends. */
  readonly mediaTypes: readonly string[];
  /** Set by formats that read a resource whole (one document, random access): the most bytes they take. */
  readonly maxBytes?: number;
  /** Set by formats that read a local folder of files as one source (Parquet with hive-style partitions). */
  readonly readsFolders?: boolean;
  /**
   * The table the bytes hold. Malformed input is a DataFormatError naming `source.name` and the place;
   * an error from reading the bytes passes through untouched (the transport classified it).
   */
  parse(source: ByteSource, onProgress?: (progress: { rows: number }) => void): Promise<Table>;
}

/** Declares a format, keeping its name's literal type for the registry's union. */
export function defineFormat<N extends string>(format: DataFormat<N>): DataFormat<N> {
  return format;
}
