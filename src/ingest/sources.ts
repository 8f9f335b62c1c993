/**
 * Reads a data source into a table. A URI is fetched by a transport (transports/: files under a data
 * root, http(s) URLs), which checks it against the source policy as it reads, and parsed by a format
 * (formats/: named by the source's `format`, else by its extension); a SQL query runs on a named
 * PostgreSQL connection. Errors say which source failed and whether retrying can help.
 */
import type { Table } from '../ml/table';
import { findFormat, formatOf, FormatName, unknownFormat } from './formats';
import { countPostgresQuery, PostgresSourceError, readPostgresQuery } from './postgres-source';
import { SourceError } from './source-error';
import type { SourcePolicy } from './source-policy';
import { transportFor } from './transports';

/** A file or URL, or a SQL query on a connection an admin registered by name. */
export type DataSource =
  | { uri: string; /** How to read it; by default from its extension, else CSV. */ format?: FormatName }
  | { connection: string; query: string };

/** What reading needs besides the source: the policy, and the URL behind a connection's name. */
export interface SourceContext {
  policy: SourcePolicy;
  /** The URL of a registered connection; undefined when no connection has the name. */
  connectionUrl(name: string): Promise<string | undefined>;
}

export interface Progress {
  rows?: number;
  bytes?: number;
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

/**
 * Reads any supported source into a table; `kind` is what the dataset version records (file, http,
 * postgres). Long reads report progress (rows, bytes) as they go.
 */
export async function readSource(source: DataSource, context: SourceContext, onProgress?: (p: Progress) => void): Promise<{ kind: string; table: Table }> {
  if ('connection' in source) {
    const url = await connectionOf(context, source.connection);
    try {
      return { kind: 'postgres', table: await readPostgresQuery(url, source.query, (rows) => onProgress?.({ rows })) };
    } catch (err) {
      throw pgError(err);
    }
  }
  const transport = transportFor(source.uri);
  // the API refuses unknown names: only a run recorded before a format was removed (never remove one) gets here
  // a folder with no format named is a folder of Parquet files
  const format = source.format ? findFormat(source.format) : (await transport.isFolder?.(source.uri, context.policy)) ? findFormat('parquet') : formatOf(source.uri);
  if (!format) throw new SourceError(unknownFormat(source.format), false);
  const bytes = await transport.open(source.uri, context.policy, { maxBytes: format.maxBytes, folders: format.readsFolders, onBytes: (n) => onProgress?.({ bytes: n }) });
  try {
    return { kind: transport.kind, table: await format.parse(bytes, onProgress) };
  } finally {
    await bytes.close();
  }
}

/**
 * Query parameters that carry a credential: a token, key, signature or password (presigned S3 and GCS
 * URLs, `?token=`, `?api_key=`, `?access_token=`, `?sig=`).
 */
const SECRET_PARAMETER = /token|key|secret|password|passwd|pwd|sig|signature|credential|auth/i;

/** The URI with any password and credential-carrying query parameter masked, safe to store and show. */
export function redactUri(uri: string): string {
  try {
    const u = new URL(uri);
    if (u.password) u.password = '***';
    for (const name of [...new Set(u.searchParams.keys())]) if (SECRET_PARAMETER.test(name)) u.searchParams.set(name, '***');
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
  return transportFor(source.uri).watermark(source.uri, context.policy);
}

/** What a source is called in the dataset history and the audit log: never with a password in it. */
export function sourceName(source: DataSource): string {
  return 'connection' in source ? `connection:${source.connection}` : redactUri(source.uri);
}
