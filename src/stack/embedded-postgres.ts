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

/** Connections the embedded store accepts at once, from all processes together. */
export const MAX_CONNECTIONS = 256;

/** The socket server's query queue (pglite-socket 0.2.x internals, pinned in package.json). */
interface QueryQueue {
  queue: { handlerId: number; message: Uint8Array; resolve(bytes: number): void; reject(err: unknown): void; onData(data: Uint8Array): void }[];
  processing: boolean;
  lastHandlerId: number | null;
  db: { isInTransaction(): boolean; runExclusive<T>(fn: () => Promise<T>): Promise<T>; execProtocolRawStream(m: Uint8Array, o: { onRawData(d: Uint8Array): void }): Promise<unknown> };
  processQueue(): Promise<void>;
  clearTransactionIfNeeded(handlerId: number): Promise<void>;
}

// Extended-protocol messages that leave a query unfinished until the connection's Sync:
// Parse, Bind, Describe, Execute, Close, Flush.
const EXTENDED = new Set([0x50, 0x42, 0x44, 0x45, 0x43, 0x48]);

/**
 * The socket server runs every connection's messages on PGlite's single session, one message at a
 * time, keeping the session for one connection only while it is inside a transaction. node-postgres
 * sends a parameterised query as Parse, Bind, Describe, Execute, Sync, so another connection's
 * messages could run between them: a statement landed inside someone else's transaction (and vanished
 * with its rollback), or an unnamed prepared statement was replaced under a query ("unnamed prepared
 * statement does not exist"; upstream electric-sql/pglite#1046). This keeps the session for the
 * connection from its first extended-protocol message to its Sync, as it already does for transactions,
 * and keeps serving the queue when one message fails instead of stalling it.
 */
function keepExtendedQueriesWhole(q: QueryQueue): void {
  let midQuery = false;
  q.processQueue = async function processQueue(this: QueryQueue) {
    if (this.processing || this.queue.length === 0) return;
    this.processing = true;
    try {
      while (this.queue.length > 0) {
        const owner = this.lastHandlerId;
        let item;
        if (owner !== null && (midQuery || this.db.isInTransaction())) {
          const i = this.queue.findIndex((m) => m.handlerId === owner);
          if (i === -1) break; // the owner's next message has not arrived yet; it restarts the queue
          item = this.queue.splice(i, 1)[0];
        } else {
          item = this.queue.shift()!;
        }
        let bytes = 0;
        try {
          await this.db.runExclusive(() => this.db.execProtocolRawStream(item.message, { onRawData: (d) => { bytes += d.length; item.onData(d); } }));
        } catch (err) {
          item.reject(err);
          continue;
        }
        this.lastHandlerId = item.handlerId;
        midQuery = EXTENDED.has(item.message[0]);
        item.resolve(bytes);
      }
    } finally {
      this.processing = false;
    }
  };
  const clear = q.clearTransactionIfNeeded.bind(q);
  q.clearTransactionIfNeeded = async (handlerId: number) => {
    // a connection that went away mid-query must not keep the session
    if (q.lastHandlerId === handlerId) midQuery = false;
    await clear(handlerId);
    if (!q.processing) await q.processQueue();
  };
}

/** The thread's side: open the database, serve it, close it cleanly when asked. */
async function serve(o: Options): Promise<void> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  const port = parentPort!;
  const db = await PGlite.create(o.dataDir);
  // Connections only queue onto the one session, so they cost little; the limit must cover every
  // process on the machine (each pool holds up to 5, plus a LISTEN connection). At 16, a third
  // `mlops api` beside `mlops up` was refused ("Connection terminated unexpectedly").
  const server = new PGLiteSocketServer({ db, port: o.port, host: o.host, maxConnections: MAX_CONNECTIONS });
  keepExtendedQueriesWhole((server as unknown as { queryQueue: QueryQueue }).queryQueue);
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
