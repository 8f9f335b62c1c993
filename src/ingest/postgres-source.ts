/**
 * Reading a SQL query's result from a PostgreSQL server an admin registered as a named connection.
 * The query runs inside a READ ONLY transaction with a statement timeout, through a server-side cursor
 * (one statement: the extended protocol refuses a second one), and never against the platform's own
 * metadata database, which is recognised by the marker table every platform database holds.
 */
import { Client, QueryConfig } from 'pg';
import Cursor from 'pg-cursor';
import { ColumnBuilder, Table } from '../ml/table';

/** The table every platform metadata database holds (migration 13); its presence marks a database as ours. */
export const PLATFORM_MARKER_TABLE = 'mlops_platform_instance';

/** Rows fetched per round trip. */
export const POSTGRES_BATCH_ROWS = 10_000;
/** Longest a source query may run per statement. */
export const SOURCE_STATEMENT_TIMEOUT_MS = 10 * 60_000;

/** A connection or query that cannot be used; `retryable` when trying again later may work. */
export class PostgresSourceError extends Error {
  constructor(message: string, readonly retryable: boolean, readonly platform = false) {
    super(message);
  }
}

async function connect(url: string): Promise<Client> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 15_000, application_name: 'mlops-source' });
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    throw new PostgresSourceError(`could not connect to the source database: ${(err as Error).message}`, true);
  }
  return client;
}

/** Refuses a connection that lands in a platform metadata database (ours, or another platform's). */
async function refusePlatform(client: Client): Promise<void> {
  // pg_class is readable by every role, whatever the table's own privileges
  const { rowCount } = await client.query('SELECT 1 FROM pg_catalog.pg_class WHERE relname = $1', [PLATFORM_MARKER_TABLE]);
  if (rowCount) throw new PostgresSourceError('this connection reaches the platform\'s own metadata database; register a connection to the data warehouse instead', false, true);
}

/** Connects, checks the database is not the platform's, and closes: what registering a connection runs. */
export async function checkConnection(url: string): Promise<void> {
  const client = await connect(url);
  try {
    await refusePlatform(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Runs `work` in a READ ONLY transaction with the statement timeout, on a checked connection. */
async function readOnly<T>(url: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = await connect(url);
  try {
    await refusePlatform(client);
    await client.query('BEGIN TRANSACTION READ ONLY');
    await client.query(`SET LOCAL statement_timeout = ${SOURCE_STATEMENT_TIMEOUT_MS}`);
    // a query takes the transaction's snapshot: from then on it cannot be switched to read-write
    await client.query('SELECT 1');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * The query's rows, fetched in batches straight into column builders (typed afterwards like CSV), so a
 * large result is never held as rows; `onRows` hears the count after every batch.
 */
export async function readPostgresQuery(url: string, query: string, onRows?: (rows: number) => void): Promise<Table> {
  if (query.trim() === '') throw new PostgresSourceError('a connection source needs a SQL "query"', false);
  try {
    return await readOnly(url, async (client) => {
      // rows come back as text so every source goes through the same type inference
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
        onRows?.(rows);
        if (batch.length < POSTGRES_BATCH_ROWS) break;
      }
      await cursor.close();
      return { rowCount: rows, columns: (builders ?? []).map((b) => b.build()) };
    });
  } catch (err) {
    if (err instanceof PostgresSourceError) throw err;
    throw new PostgresSourceError(`the source query failed: ${(err as Error).message}`, false);
  }
}

/** The query's row count, read only: a cheap fingerprint for noticing new data. */
export async function countPostgresQuery(url: string, query: string): Promise<string> {
  return readOnly(url, async (client) => {
    // the extended protocol runs exactly one statement: text that closes the subquery cannot add another
    const extended = { text: `SELECT count(*)::text AS n FROM (${query.replace(/;\s*$/, '')}) AS source`, queryMode: 'extended' } as QueryConfig; // pg's types lack queryMode
    const { rows } = await client.query<{ n: string }>(extended);
    return rows[0].n;
  });
}
