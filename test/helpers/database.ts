/**
 * Metadata stores for tests: a fresh database on the embedded PostgreSQL server (the default; one
 * server per test process, started at first use, as `mlops up` starts it), or on a PostgreSQL server of
 * your own when TEST_DATABASE_URL is set (CI sets it).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Pool } from 'pg';
import { startEmbeddedPostgres } from '../../src/stack/embedded-postgres';
import { createPool } from '../../src/store/db';
import { migrate } from '../../src/store/migrations';

export type Backend = 'embedded' | 'postgres';

export interface TestDatabase {
  backend: Backend;
  url: string;
  pool: Pool;
  close(): Promise<void>;
}

// Below Linux's ephemeral range (32768+), where Temporal's dev server picks its internal ports.
let nextPort = 21_000 + (process.pid % 5_000) * 2;

/** Backends available here: always the embedded server, plus your PostgreSQL when TEST_DATABASE_URL is set. */
export function availableBackends(): Backend[] {
  return process.env.TEST_DATABASE_URL ? ['embedded', 'postgres'] : ['embedded'];
}

/** The backend integration tests prefer: your PostgreSQL when present. */
export function preferredBackend(): Backend {
  return process.env.TEST_DATABASE_URL ? 'postgres' : 'embedded';
}

/** A fresh database; `migrate: false` leaves it empty (a source database for tests, not a platform store). */
export async function createTestDatabase(backend: Backend = preferredBackend(), o: { migrate?: boolean } = {}): Promise<TestDatabase> {
  const admin = backend === 'postgres' ? process.env.TEST_DATABASE_URL : await embeddedServer();
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

let embedded: Promise<string> | undefined;

/**
 * The admin URL of this process's embedded server, started at first use in a temporary folder (no
 * fsync: nothing here must survive a crash) and removed when the process exits.
 */
function embeddedServer(): Promise<string> {
  embedded ??= (async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-test-pg-'));
    const dataDir = path.join(dir, 'pgdata');
    let url: string;
    for (let attempt = 0; ; attempt++) {
      try {
        url = (await startEmbeddedPostgres({ dataDir, port: nextPort++, durable: false })).url;
        break;
      } catch (err) {
        if (attempt > 5 || !/MLOPS_PG_PORT/.test((err as Error).message)) { fs.rmSync(dir, { recursive: true, force: true }); throw err; } // retried only when the port was taken
      }
    }
    // registered after the server's own exit hook, which sends it its fast shutdown: its files go once it has finished
    process.on('exit', () => {
      const pause = new Int32Array(new SharedArrayBuffer(4));
      for (const deadline = Date.now() + 10_000; fs.existsSync(path.join(dataDir, 'postmaster.pid')) && Date.now() < deadline;) Atomics.wait(pause, 0, 0, 20);
      fs.rmSync(dir, { recursive: true, force: true });
    });
    return url;
  })();
  return embedded;
}
