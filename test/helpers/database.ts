/**
 * Metadata stores for tests: an embedded PGlite served over the wire protocol (the default), or a
 * fresh database on a real PostgreSQL server when TEST_DATABASE_URL is set (CI sets it).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Pool } from 'pg';
import { startEmbeddedPostgres } from '../../src/stack/embedded-postgres';
import { createPool } from '../../src/store/db';
import { migrate } from '../../src/store/migrations';

export type Backend = 'pglite' | 'postgres';

export interface TestDatabase {
  backend: Backend;
  url: string;
  pool: Pool;
  close(): Promise<void>;
}

// Below Linux's ephemeral range (32768+), where Temporal's dev server picks its internal ports.
let nextPort = 21_000 + (process.pid % 5_000) * 2;

/** Backends available here: always PGlite, plus real PostgreSQL when TEST_DATABASE_URL is set. */
export function availableBackends(): Backend[] {
  return process.env.TEST_DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];
}

/** The backend integration tests prefer: real PostgreSQL when present. */
export function preferredBackend(): Backend {
  return process.env.TEST_DATABASE_URL ? 'postgres' : 'pglite';
}

/** A fresh database; `migrate: false` leaves it empty (a source database for tests, not a platform store). */
export async function createTestDatabase(backend: Backend = preferredBackend(), o: { migrate?: boolean } = {}): Promise<TestDatabase> {
  if (backend === 'postgres') {
    const admin = process.env.TEST_DATABASE_URL;
    if (!admin) throw new Error('TEST_DATABASE_URL is not set');
    const name = `mlops_test_${randomBytes(5).toString('hex')}`;
    const adminClient = new Client({ connectionString: admin });
    await adminClient.connect();
    await adminClient.query(`CREATE DATABASE ${name}`);
    await adminClient.end();
    const url = new URL(admin);
    url.pathname = `/${name}`;
    const pool = createPool(url.toString());
    if (o.migrate !== false) await migrate(pool);
    return {
      backend,
      url: url.toString(),
      pool,
      async close() {
        await pool.end();
        const c = new Client({ connectionString: admin });
        await c.connect();
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await c.end();
      },
    };
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-pglite-'));
  let embedded;
  for (let attempt = 0; ; attempt++) {
    try {
      embedded = await startEmbeddedPostgres({ dataDir: dir, port: nextPort++ });
      break;
    } catch (err) {
      if (attempt > 5) throw err;
    }
  }
  const pool = createPool(embedded.url);
  if (o.migrate !== false) await migrate(pool);
  return {
    backend,
    url: embedded.url,
    pool,
    async close() {
      await pool.end();
      await embedded.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
