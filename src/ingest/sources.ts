/**
 * Reads a data source into a table: a CSV or JSON Lines file (path or file:// URL) or http(s) URL, or
 * the result of a SQL query against PostgreSQL. Errors say which source failed and whether retrying can help.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { TextDecoder } from 'node:util';
import { Client } from 'pg';
import Cursor from 'pg-cursor';
import { CsvFormatError, parseCsvStream } from '../ml/csv';
import { parseJsonLinesStream, RecordCollector, recordsOf, RECORD_FIELDS } from '../ml/jsonl';
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
  /** How to read a file or URL; by default from its extension (.jsonl/.ndjson, .json), else CSV. */
  format?: 'csv' | 'jsonl' | 'json';
}

/** Most pages a paged JSON source may have: a guard against endless pagination. */
export const MAX_PAGES = 10_000;

/** The `rel="next"` target of an HTTP Link header. */
function linkNext(header: string | null): string | undefined {
  return header?.split(',').map((part) => /<([^>]+)>\s*;\s*rel="?next"?/i.exec(part)?.[1]).find((u) => u !== undefined);
}

/** A next-page URL in the body: `next`, `next_page`, `nextPage` or `links.next`. */
function bodyNext(document: unknown): string | undefined {
  if (!document || typeof document !== 'object' || Array.isArray(document)) return undefined;
  const d = document as Record<string, unknown>;
  const links = d.links as Record<string, unknown> | undefined;
  const next = d.next ?? d.next_page ?? d.nextPage ?? links?.next;
  return typeof next === 'string' && next !== '' ? next : undefined;
}

/**
 * Reads JSON records from a file, or from an http(s) API page by page: each page is a JSON array or an
 * object holding its records under items, data, results or records; the next page is named by a Link
 * header (rel="next") or a next / next_page / links.next field. Progress is reported after every page.
 */
async function readJsonSource(uri: string, onProgress?: (p: Progress) => void): Promise<Table> {
  const collector = new RecordCollector();
  const seen = new Set<string>();
  let next: string | undefined = uri;
  let pages = 0;
  let bytes = 0;
  while (next) {
    if (seen.has(next)) throw new SourceError(`pagination of ${uri} loops back to ${next}`, false);
    if (++pages > MAX_PAGES) throw new SourceError(`${uri} has more than ${MAX_PAGES} pages`, false);
    seen.add(next);
    const page: { text: string; link: string | null } = sourceKind(next) === 'http' ? await fetchText(next) : { text: await readFileSource(next), link: null };
    bytes += page.text.length;
    let document: unknown;
    try {
      document = JSON.parse(page.text.replace(/^\uFEFF/, ''));
    } catch (err) {
      throw new CsvFormatError(`page ${pages} of ${uri} is not valid JSON: ${(err as Error).message}`);
    }
    const records = recordsOf(document);
    if (!records) throw new CsvFormatError(`page ${pages} of ${uri} holds no records: expected a JSON array, or an object with ${RECORD_FIELDS.join(', ')}`);
    records.forEach((record, k) => collector.add(record, `page ${pages}, record ${k + 1}`));
    onProgress?.({ rows: collector.count, bytes });
    const target: string | undefined = sourceKind(next) === 'http' ? linkNext(page.link) ?? bodyNext(document) : undefined;
    next = target ? new URL(target, next).toString() : undefined;
  }
  return collector.build(`${uri} holds no records`);
}

export function sourceKind(uri: string): SourceKind {
  if (/^https?:\/\//i.test(uri)) return 'http';
  if (/^postgres(ql)?:\/\//i.test(uri)) return 'postgres';
  return 'file';
}

/** Largest JSON page we read into memory at once (CSV and JSON Lines are streamed, without a limit). */
export const MAX_SOURCE_BYTES = 512 * 1024 * 1024;
/** Bytes read from a file per chunk while streaming. */
const CHUNK_BYTES = 1 << 20;

/** The local path of a file source, checked to exist and be a file. */
async function localFile(uri: string): Promise<{ file: string; size: number }> {
  const file = uri.startsWith('file://') ? fileURLToPath(uri) : path.resolve(uri);
  let stat;
  try {
    stat = await fs.stat(file);
  } catch {
    throw new SourceError(`data file not found: ${file}`, false);
  }
  if (!stat.isFile()) throw new SourceError(`data path is not a file: ${file}`, false);
  return { file, size: stat.size };
}

async function readFileSource(uri: string): Promise<string> {
  const { file, size } = await localFile(uri);
  if (size > MAX_SOURCE_BYTES) throw new SourceError(`data file is ${size} bytes; the limit is ${MAX_SOURCE_BYTES}`, false);
  return decodeUtf8(await fs.readFile(file), file);
}

/** A file's text in chunks, decoded strictly as UTF-8 (a multi-byte character may span chunks). */
async function* textChunks(file: string, source: string, onBytes?: (bytes: number) => void): AsyncIterable<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let read = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: CHUNK_BYTES }) as AsyncIterable<Buffer>) {
    read += chunk.length;
    yield decodeChunk(decoder, chunk, source);
    onBytes?.(read);
  }
  yield decodeChunk(decoder, undefined, source);
}

function decodeChunk(decoder: TextDecoder, chunk: Buffer | undefined, source: string): string {
  try {
    return chunk ? decoder.decode(chunk, { stream: true }) : decoder.decode();
  } catch {
    throw new CsvFormatError(`${source} is not valid UTF-8 text; save it as UTF-8 (e.g. iconv -f latin1 -t utf-8)`);
  }
}

/**
 * Downloads an http(s) source to a temporary file (streamed, never whole in memory) and hands its path
 * to `use`; the file is removed afterwards. A second pass over the data (see parseCsvStream) reads the
 * file again instead of downloading again.
 */
async function withDownload<T>(uri: string, use: (file: string) => Promise<T>, onBytes?: (bytes: number) => void): Promise<T> {
  const response = await fetchResponse(uri);
  const file = path.join(os.tmpdir(), `mlops-download-${randomBytes(8).toString('hex')}`);
  try {
    try {
      let received = 0;
      const counted = Readable.fromWeb(response.body! as import('node:stream/web').ReadableStream<Uint8Array>);
      counted.on('data', (chunk: Buffer) => { received += chunk.length; onBytes?.(received); });
      await pipeline(counted, createWriteStream(file));
    } catch (err) {
      throw new SourceError(`could not download ${uri}: ${(err as Error).message}`, true);
    }
    return await use(file);
  } finally {
    await fs.rm(file, { force: true });
  }
}

/** Decodes UTF-8 strictly: bytes in another encoding are an error, not silently replaced characters. */
export function decodeUtf8(bytes: Uint8Array, source: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new CsvFormatError(`${source} is not valid UTF-8 text; save it as UTF-8 (e.g. iconv -f latin1 -t utf-8)`);
  }
}

/** GETs a URL; says whether a failure is worth retrying. */
async function fetchResponse(uri: string): Promise<Response> {
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
  return response;
}

/** GETs a URL as UTF-8 text (one JSON page), with its Link header. */
async function fetchText(uri: string): Promise<{ text: string; link: string | null }> {
  const response = await fetchResponse(uri);
  const declared = Number(response.headers.get('content-length') ?? 0);
  if (declared > MAX_SOURCE_BYTES) throw new SourceError(`${uri} is ${declared} bytes; the limit is ${MAX_SOURCE_BYTES}`, false);
  return { text: decodeUtf8(new Uint8Array(await response.arrayBuffer()), uri), link: response.headers.get('link') };
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
  const format = source.format ?? formatOf(source.uri);
  if (format === 'json') return { kind, table: await readJsonSource(source.uri, onProgress) };
  // CSV and JSON Lines stream from the file (or a downloaded copy) into the columns
  const parse = async (file: string, size: number): Promise<Table> => {
    const chunks = () => textChunks(file, source.uri, (bytes) => onProgress?.({ bytes }));
    const table = format === 'jsonl' ? await parseJsonLinesStream(chunks()) : await parseCsvStream(chunks);
    onProgress?.({ rows: table.rowCount, bytes: size });
    return table;
  };
  if (kind === 'http') return { kind, table: await withDownload(source.uri, async (file) => parse(file, (await fs.stat(file)).size), (bytes) => onProgress?.({ bytes })) };
  const { file, size } = await localFile(source.uri);
  return { kind, table: await parse(file, size) };
}

/** The format a path or URL's extension names (ignoring any query string): JSON Lines, JSON, else CSV. */
export function formatOf(uri: string): 'csv' | 'jsonl' | 'json' {
  const path = uri.replace(/[?#].*$/, '');
  if (/\.(jsonl|ndjson)$/i.test(path)) return 'jsonl';
  return /\.json$/i.test(path) ? 'json' : 'csv';
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

/**
 * A cheap fingerprint of a source's current state, for noticing new data without reading it: a file's
 * size and modification time; an HTTP resource's ETag, Last-Modified or length (from a HEAD request);
 * a PostgreSQL query's row count. Undefined when the source offers nothing to compare.
 */
export async function sourceWatermark(source: DataSource): Promise<string | undefined> {
  const kind = sourceKind(source.uri);
  if (kind === 'file') {
    const { file } = await localFile(source.uri);
    const stat = await fs.stat(file);
    return `file:${stat.size}:${Math.trunc(stat.mtimeMs)}`;
  }
  if (kind === 'http') {
    let response: Response;
    try {
      response = await fetch(source.uri, { method: 'HEAD', signal: AbortSignal.timeout(30_000) });
    } catch (err) {
      throw new SourceError(`could not reach ${redactUri(source.uri)}: ${(err as Error).message}`, true);
    }
    if (!response.ok) return undefined;
    const tag = response.headers.get('etag') ?? response.headers.get('last-modified') ?? response.headers.get('content-length');
    return tag ? `http:${tag}` : undefined;
  }
  if (!source.query) return undefined;
  const client = new Client({ connectionString: source.uri, connectionTimeoutMillis: 15_000 });
  try {
    await client.connect();
    const { rows } = await client.query(`SELECT count(*)::text AS n FROM (${source.query.replace(/;\s*$/, '')}) AS source`);
    return `rows:${rows[0].n}`;
  } catch (err) {
    throw new SourceError(`could not count the source's rows: ${(err as Error).message}`, true);
  } finally {
    await client.end().catch(() => undefined);
  }
}
