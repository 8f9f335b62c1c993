/** Connection pools over `pg`, for the embedded PostgreSQL server and any other alike. */
import { Pool } from 'pg';

// Postgres bigint (int8) and numeric come back as strings by default; our counters fit in a double.
import { types } from 'pg';
types.setTypeParser(20, (v) => Number(v));

export function createPool(url: string, max = 5): Pool {
  const pool = new Pool({ connectionString: url, max, idleTimeoutMillis: 30_000 });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  return pool;
}

/** The database's clock: the one that stamps stored rows (a worker's clock may differ). */
export async function databaseNow(pool: Pool): Promise<Date> {
  const { rows } = await pool.query<{ now: Date }>('SELECT now() AS now');
  return new Date(rows[0].now);
}

/** Resolves when the database answers a trivial query (readiness). */
export async function ping(pool: Pool): Promise<void> {
  await pool.query('SELECT 1');
}
