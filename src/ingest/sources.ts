/**
 * Reads a data source into a table: a CSV, JSON Lines or JSON file under a data root (path or file://
 * URL), an http(s) URL, or the result of a SQL query on a named PostgreSQL connection. Every source is
 * checked by the source policy (source-policy.ts) as it is read. Errors say which source failed and
 * whether retrying can help.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';
import { TextDecoder } from 'node:util';
import { parseCsvStream } from '../ml/csv';
import { parseJsonLinesStream, RecordCollector, recordsOf, RECORD_FIELDS } from '../ml/jsonl';
import { DataFormatError, Table } from '../ml/table';
import { guardedRequest, GuardedResponse } from './guarded-http';
import { countPostgresQuery, PostgresSourceError, readPostgresQuery } from './postgres-source';
import { checkFile, SourcePolicy, SourceRefused } from './source-policy';

/** A source that cannot be read; `retryable` says whether trying again later might work. */
export class SourceError extends Error {
  constructor(message: string, readonly retryable: boolean) {
    super(message);
  }
}

export type SourceKind = 'file' | 'http' | 'postgres';
export type FileFormat = 'csv' | 'jsonl' | 'json';

/** A file or URL, or a SQL query on a connection an admin registered by name. */
export type DataSource =
  | { uri: string; /** How to read it; by default from its extension (.jsonl/.ndjson, .json), else CSV. */ format?: FileFormat }
  | { connection: string; query: string };

/** What reading needs besides the source: the policy, and the URL behind a connection's name. */
export interface SourceContext {
  policy: SourcePolicy;
  /** The URL of a registered connection; undefined when no connection has the name. */
  connectionUrl(name: string): Promise<string | undefined>;
}

/** Most pages a paged JSON source may have: a guard against endless pagination. */
export const MAX_PAGES = 10_000;

/** The `rel="next"` target of an HTTP Link header. */
function linkNext(header: string | undefined): string | undefined {
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
async function readJsonSource(policy: SourcePolicy, uri: string, onProgress?: (p: Progress) => void): Promise<Table> {
  const collector = new RecordCollector();
  const seen = new Set<string>();
  let next: string | undefined = uri;
  let pages = 0;
  let bytes = 0;
  while (next) {
    if (seen.has(next)) throw new SourceError(`pagination of ${uri} loops back to ${next}`, false);
    if (++pages > MAX_PAGES) throw new SourceError(`${uri} has more than ${MAX_PAGES} pages`, false);
    seen.add(next);
    const page: { text: string; link: string | undefined } = sourceKind(next) === 'http' ? await fetchText(policy, next) : { text: await readFileSource(policy, next), link: undefined };
    bytes += page.text.length;
    let document: unknown;
    try {
      document = JSON.parse(page.text.replace(/^\uFEFF/, ''));
    } catch (err) {
      throw new DataFormatError(`page ${pages} of ${uri} is not valid JSON: ${(err as Error).message}`);
    }
    const records = recordsOf(document);
    if (!records) throw new DataFormatError(`page ${pages} of ${uri} holds no records: expected a JSON array, or an object with ${RECORD_FIELDS.join(', ')}`);
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

/** The local path of a file source, checked against the policy, to exist and to be a file. */
async function localFile(policy: SourcePolicy, uri: string): Promise<{ file: string; size: number }> {
  const file = checkFile(policy, uri);
  let stat;
  try {
    stat = await fs.stat(file);
  } catch {
    throw new SourceError(`data file not found: ${file}`, false);
  }
  if (!stat.isFile()) throw new SourceError(`data path is not a file: ${file}`, false);
  return { file, size: stat.size };
}

async function readFileSource(policy: SourcePolicy, uri: string): Promise<string> {
  const { file, size } = await localFile(policy, uri);
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
    throw new DataFormatError(`${source} is not valid UTF-8 text; save it as UTF-8 (e.g. iconv -f latin1 -t utf-8)`);
  }
}

/**
 * Downloads an http(s) source to a temporary file (streamed, never whole in memory) and hands its path
 * to `use`; the file is removed afterwards. A second pass over the data (see parseCsvStream) reads the
 * file again instead of downloading again.
 */
async function withDownload<T>(policy: SourcePolicy, uri: string, use: (file: string) => Promise<T>, onBytes?: (bytes: number) => void): Promise<T> {
  const response = await fetchResponse(policy, uri);
  const file = path.join(os.tmpdir(), `mlops-download-${randomBytes(8).toString('hex')}`);
  try {
    try {
      let received = 0;
      response.body.on('data', (chunk: Buffer) => { received += chunk.length; onBytes?.(received); });
      await pipeline(response.body, createWriteStream(file));
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
    throw new DataFormatError(`${source} is not valid UTF-8 text; save it as UTF-8 (e.g. iconv -f latin1 -t utf-8)`);
  }
}

/** GETs a URL under the policy; says whether a failure is worth retrying. Refusals pass through. */
async function fetchResponse(policy: SourcePolicy, uri: string): Promise<GuardedResponse> {
  let response: GuardedResponse;
  try {
    response = await guardedRequest(policy, uri);
  } catch (err) {
    if (err instanceof SourceRefused) throw err;
    throw new SourceError(`could not fetch ${uri}: ${(err as Error).message}`, true);
  }
  if (response.status < 200 || response.status >= 300) {
    response.body.resume();
    // 5xx and 429 may pass; other statuses will not change on a retry.
    const retryable = response.status >= 500 || response.status === 429;
    throw new SourceError(`fetching ${uri} answered HTTP ${response.status}`, retryable);
  }
  return response;
}

/** GETs a URL as UTF-8 text (one JSON page), with its Link header; at most MAX_SOURCE_BYTES. */
async function fetchText(policy: SourcePolicy, uri: string): Promise<{ text: string; link: string | undefined }> {
  const response = await fetchResponse(policy, uri);
  const declared = Number(response.header('content-length') ?? 0);
  const tooBig = () => new SourceError(`${uri} is larger than the limit of ${MAX_SOURCE_BYTES} bytes for one JSON page`, false);
  if (declared > MAX_SOURCE_BYTES) { response.body.destroy(); throw tooBig(); }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_SOURCE_BYTES) { response.body.destroy(); throw tooBig(); }
      chunks.push(chunk);
    }
  } catch (err) {
    if (err instanceof SourceError) throw err;
    throw new SourceError(`could not read ${uri}: ${(err as Error).message}`, true);
  }
  return { text: decodeUtf8(Buffer.concat(chunks), uri), link: response.header('link') };
}

/** The URL of a connection source; refused when no connection has the name. */
async function connectionOf(context: SourceContext, name: string): Promise<string> {
  const url = await context.connectionUrl(name);
  if (!url) throw new SourceError(`no connection is named "${name}"; an admin registers it (mlops connections add, PUT /v1/connections/${name})`, false);
  return url;
}

/** A PostgreSQL source's failure in this module's terms. */
function pgError(err: unknown): unknown {
  return err instanceof PostgresSourceError ? new SourceError(err.message, err.retryable) : err;
}

export interface Progress {
  rows?: number;
  bytes?: number;
}

/** Reads any supported source into a table; long reads report progress (rows, bytes) as they go. */
export async function readSource(source: DataSource, context: SourceContext, onProgress?: (p: Progress) => void): Promise<{ kind: SourceKind; table: Table }> {
  if ('connection' in source) {
    const url = await connectionOf(context, source.connection);
    try {
      return { kind: 'postgres', table: await readPostgresQuery(url, source.query, (rows) => onProgress?.({ rows })) };
    } catch (err) {
      throw pgError(err);
    }
  }
  const { policy } = context;
  const kind = sourceKind(source.uri);
  if (kind === 'postgres') throw new SourceRefused('connection strings are not accepted as sources; name a connection an admin registered: {"connection": "<name>", "query": "SELECT ..."}', 'source');
  const format = source.format ?? formatOf(source.uri);
  if (format === 'json') return { kind, table: await readJsonSource(policy, source.uri, onProgress) };
  if (kind === 'http') return { kind, table: await withDownload(policy, source.uri, async (file) => readFile(file, format, source.uri, onProgress), (bytes) => onProgress?.({ bytes })) };
  const { file } = await localFile(policy, source.uri);
  return { kind, table: await readFile(file, format, source.uri, onProgress) };
}

/**
 * Parses a local CSV or JSON Lines file into columns, streamed (the file may be larger than memory
 * allows as text). `name` is what errors call it. Uploads use it too.
 */
export async function readFile(file: string, format: 'csv' | 'jsonl', name: string, onProgress?: (p: Progress) => void): Promise<Table> {
  const size = (await fs.stat(file)).size;
  const chunks = () => textChunks(file, name, (bytes) => onProgress?.({ bytes }));
  const table = format === 'jsonl' ? await parseJsonLinesStream(chunks()) : await parseCsvStream(chunks);
  onProgress?.({ rows: table.rowCount, bytes: size });
  return table;
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
 * a query's row count. Undefined when the source offers nothing to compare.
 */
export async function sourceWatermark(source: DataSource, context: SourceContext): Promise<string | undefined> {
  if ('connection' in source) {
    try {
      return `rows:${await countPostgresQuery(await connectionOf(context, source.connection), source.query)}`;
    } catch (err) {
      if (err instanceof SourceError) throw err;
      throw new SourceError(`could not count the source's rows: ${(err as Error).message}`, true);
    }
  }
  const kind = sourceKind(source.uri);
  if (kind === 'file') {
    const { file } = await localFile(context.policy, source.uri);
    const stat = await fs.stat(file);
    return `file:${stat.size}:${Math.trunc(stat.mtimeMs)}`;
  }
  if (kind !== 'http') return undefined;
  let response: GuardedResponse;
  try {
    response = await guardedRequest(context.policy, source.uri, { method: 'HEAD', timeoutMs: 30_000 });
  } catch (err) {
    if (err instanceof SourceRefused) throw err;
    throw new SourceError(`could not reach ${redactUri(source.uri)}: ${(err as Error).message}`, true);
  }
  response.body.resume();
  if (response.status < 200 || response.status >= 300) return undefined;
  const tag = response.header('etag') ?? response.header('last-modified') ?? response.header('content-length');
  return tag ? `http:${tag}` : undefined;
}

/** What a source is called in the dataset history and the audit log: never with a password in it. */
export function sourceName(source: DataSource): string {
  return 'connection' in source ? `connection:${source.connection}` : redactUri(source.uri);
}
