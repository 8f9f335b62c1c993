/**
 * The embedded metadata store: PGlite (Postgres compiled to WASM) on disk, served over the Postgres
 * wire protocol so every component talks to it through `pg`, exactly as it would to a real server.
 * PGlite runs one query at a time; the socket server queues queries from several connections.
 */
import fs from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface EmbeddedPostgres {
  url: string;
  stop(): Promise<void>;
}

export async function startEmbeddedPostgres(o: { dataDir: string; port: number; host?: string }): Promise<EmbeddedPostgres> {
  fs.mkdirSync(o.dataDir, { recursive: true });
  const db = await PGlite.create(o.dataDir);
  const host = o.host ?? '127.0.0.1';
  const server = new PGLiteSocketServer({ db, port: o.port, host, maxConnections: 16 });
  try {
    await server.start();
  } catch (err) {
    await db.close();
    throw new Error(`could not serve the embedded database on ${host}:${o.port}: ${(err as Error).message}; set MLOPS_PGLITE_PORT to another port or DATABASE_URL to a PostgreSQL server`);
  }
  return {
    url: `postgres://postgres@${host}:${o.port}/postgres`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
