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
import { parseJsonLines, RecordCollector, recordsOf, RECORD_FIELDS } from '../ml/jsonl';
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
  return (await fetchText(uri)).text;
}

/** GETs a URL as UTF-8 text, with its Link header; says whether a failure is worth retrying. */
async function fetchText(uri: string): Promise<{ text: string; link: string | null }> {
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
  const text = kind === 'http' ? await readHttpSource(source.uri) : await readFileSource(source.uri);
  onProgress?.({ bytes: text.length });
  const table = format === 'jsonl' ? parseJsonLines(text) : parseCsv(text);
  onProgress?.({ rows: table.rowCount, bytes: text.length });
  return { kind, table };
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
