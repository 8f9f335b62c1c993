/**
 * The embedded metadata store: PGlite (Postgres compiled to WASM) on disk, served over the Postgres
 * wire protocol so every component talks to it through `pg`, exactly as it would to a real server.
 * PGlite runs one query at a time; the socket server queues queries from several connections.
 *
 * It runs in its own worker thread: PGlite executes queries synchronously, and on the main thread every
 * batch insert of the prediction log would stall the API's event loop (bench/serving.ts measured stalls
 * of up to 241 ms at peak load).
 */
import fs from 'node:fs';
import path from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

export interface EmbeddedPostgres {
  url: string;
  stop(): Promise<void>;
}

interface Options { dataDir: string; port: number; host: string }
type Message = { type: 'ready' } | { type: 'failed'; message: string } | { type: 'stopped' };

export async function startEmbeddedPostgres(o: { dataDir: string; port: number; host?: string }): Promise<EmbeddedPostgres> {
  fs.mkdirSync(o.dataDir, { recursive: true });
  const options: Options = { dataDir: o.dataDir, port: o.port, host: o.host ?? '127.0.0.1' };
  const file = path.join(__dirname, `embedded-postgres${path.extname(__filename)}`);
  // From TypeScript sources (tests, dev), the thread needs tsx's loader registered in it too.
  const thread = file.endsWith('.ts')
    ? new Worker(`require('tsx/cjs'); require(${JSON.stringify(file)});`, { eval: true, workerData: { pglite: options } })
    : new Worker(file, { workerData: { pglite: options } });
  const next = () => new Promise<Message>((resolve, reject) => {
    const onExit = (code: number) => reject(new Error(`the embedded database thread exited with code ${code}`));
    thread.once('exit', onExit);
    thread.once('error', reject);
    thread.once('message', (m: Message) => { thread.off('exit', onExit); thread.off('error', reject); resolve(m); });
  });
  const first = await next();
  if (first.type === 'failed') {
    await thread.terminate();
    throw new Error(`could not serve the embedded database on ${options.host}:${options.port}: ${first.message}; set MLOPS_PGLITE_PORT to another port or DATABASE_URL to a PostgreSQL server`);
  }
  return {
    url: `postgres://postgres@${options.host}:${options.port}/postgres`,
    async stop() {
      const stopped = next().catch(() => ({ type: 'stopped' as const }));
      thread.postMessage('stop');
      await stopped;
      await thread.terminate();
    },
  };
}

/** The thread's side: open the database, serve it, close it cleanly when asked. */
async function serve(o: Options): Promise<void> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  const port = parentPort!;
  const db = await PGlite.create(o.dataDir);
  const server = new PGLiteSocketServer({ db, port: o.port, host: o.host, maxConnections: 16 });
  try {
    await server.start();
  } catch (err) {
    await db.close();
    port.postMessage({ type: 'failed', message: (err as Error).message });
    return;
  }
  port.on('message', (m) => {
    if (m !== 'stop') return;
    void (async () => {
      await server.stop().catch(() => undefined);
      await db.close().catch(() => undefined);
      port.postMessage({ type: 'stopped' });
    })();
  });
  port.postMessage({ type: 'ready' });
}

if (!isMainThread && parentPort && (workerData as { pglite?: Options } | undefined)?.pglite) {
  void serve((workerData as { pglite: Options }).pglite);
}
