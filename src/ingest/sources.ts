/**
 * Reads a data source into a table: a CSV or JSON Lines file (path or file:// URL) or http(s) URL, or
 * the result of a SQL query against PostgreSQL. Errors say which source failed and whether retrying can help.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from 'pg';
import Cursor from 'pg-cursor';
import { CsvFormatError, parseCsv } from '../ml/csv';
import { parseJsonLines } from '../ml/jsonl';
import { ColumnBuilder, Table } from '../ml/table';

/** A source that cannot be read; `retryable` says whether trying again later might work. */
export class SourceError extends Error {
  constructor(message: string, readonly retryable: boolean) {
    super(message);
  }
}

export type SourceKind = 'file' | 'http' | 'postgres';

export interface DataSource {
  uri: string;
  query?: string;
}

export function sourceKind(uri: string): SourceKind {
  if (/^https?:\/\//i.test(uri)) return 'http';
  if (/^postgres(ql)?:\/\//i.test(uri)) return 'postgres';
  return 'file';
}

/** Largest source we read into memory at once. */
export const MAX_SOURCE_BYTES = 512 * 1024 * 1024;

async function readFileSource(uri: string): Promise<string> {
  const file = uri.startsWith('file://') ? fileURLToPath(uri) : path.resolve(uri);
  let stat;
  try {
    stat = await fs.stat(file);
  } catch {
    throw new SourceError(`data file not found: ${file}`, false);
  }
  if (!stat.isFile()) throw new SourceError(`data path is not a file: ${file}`, false);
  if (stat.size > MAX_SOURCE_BYTES) throw new SourceError(`data file is ${stat.size} bytes; the limit is ${MAX_SOURCE_BYTES}`, false);
  return decodeUtf8(await fs.readFile(file), file);
}

/** Decodes UTF-8 strictly: bytes in another encoding are an error, not silently replaced characters. */
export function decodeUtf8(bytes: Uint8Array, source: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new CsvFormatError(`${source} is not valid UTF-8 text; save it as UTF-8 (e.g. iconv -f latin1 -t utf-8)`);
  }
}

async function readHttpSource(uri: string): Promise<string> {
  let response: Response;
  try {
    response = await fetch(uri, { signal: AbortSignal.timeout(120_000) });
  } catch (err) {
    throw new SourceError(`could not fetch ${uri}: ${(err as Error).message}`, true);
  }
  if (!response.ok) {
    // 5xx and 429 may pass; other statuses will not change on a retry.
    const retryable = response.status >= 500 || response.status === 429;
    throw new SourceError(`fetching ${uri} answered HTTP ${response.status}`, retryable);
  }
  const declared = Number(response.headers.get('content-length') ?? 0);
  if (declared > MAX_SOURCE_BYTES) throw new SourceError(`${uri} is ${declared} bytes; the limit is ${MAX_SOURCE_BYTES}`, false);
  return decodeUtf8(new Uint8Array(await response.arrayBuffer()), uri);
}

/** Rows fetched per round trip from a PostgreSQL source. */
export const POSTGRES_BATCH_ROWS = 10_000;

/**
 * Runs the query through a server-side cursor and fetches it in batches straight into column builders,
 * so a large result is never held as rows; `onProgress` hears the row count after every batch.
 */
async function readPostgresSource(uri: string, query: string | undefined, onProgress?: (p: Progress) => void): Promise<Table> {
  if (!query || query.trim() === '') throw new SourceError('a postgres:// source needs a SQL "query"', false);
  const client = new Client({ connectionString: uri, connectionTimeoutMillis: 15_000 });
  try {
    await client.connect();
  } catch (err) {
    throw new SourceError(`could not connect to the source database: ${(err as Error).message}`, true);
  }
  try {
    // Rows come back as text so every source goes through the same type inference.
    const cursor = client.query(new Cursor<(string | null)[]>(query, [], { rowMode: 'array', types: { getTypeParser: () => (v: string) => v } }));
    let builders: ColumnBuilder[] | undefined;
    let rows = 0;
    for (;;) {
      const { batch, fields } = await new Promise<{ batch: (string | null)[][]; fields: { name: string }[] }>((resolve, reject) => {
        cursor.read(POSTGRES_BATCH_ROWS, (err, batch, result) => (err ? reject(err) : resolve({ batch, fields: result.fields })));
      });
      builders ??= fields.map((f) => new ColumnBuilder(f.name));
      for (const row of batch) builders.forEach((b, j) => b.add(row[j]));
      rows += batch.length;
      onProgress?.({ rows });
      if (batch.length < POSTGRES_BATCH_ROWS) break;
    }
    await cursor.close();
    return { rowCount: rows, columns: (builders ?? []).map((b) => b.build()) };
  } catch (err) {
    throw new SourceError(`the source query failed: ${(err as Error).message}`, false);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export interface Progress {
  rows?: number;
  bytes?: number;
}

/** Reads any supported source into a table; long reads report progress (rows, bytes) as they go. */
export async function readSource(source: DataSource, onProgress?: (p: Progress) => void): Promise<{ kind: SourceKind; table: Table }> {
  const kind = sourceKind(source.uri);
  if (kind === 'postgres') return { kind, table: await readPostgresSource(source.uri, source.query, onProgress) };
  const text = kind === 'http' ? await readHttpSource(source.uri) : await readFileSource(source.uri);
  onProgress?.({ bytes: text.length });
  const table = isJsonLines(source.uri) ? parseJsonLines(text) : parseCsv(text);
  onProgress?.({ rows: table.rowCount, bytes: text.length });
  return { kind, table };
}

/** JSON Lines by extension (.jsonl, .ndjson), ignoring any query string; everything else is CSV. */
export function isJsonLines(uri: string): boolean {
  return /\.(jsonl|ndjson)$/i.test(uri.replace(/[?#].*$/, ''));
}

/** The URI with any password removed, safe to store and show. */
export function redactUri(uri: string): string {
  try {
    const u = new URL(uri);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return uri;
  }
}
