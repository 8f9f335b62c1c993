/** Starts and stops the Temporal CLI dev server (SQLite file + Web UI) as a child process. */
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { SEARCH_ATTRIBUTE_KEYS } from '../workflows/definitions';

export interface DevServerOptions {
  cliPath: string;
  dataDir: string;
  port: number;
  uiPort: number;
  namespace: string;
  /** Start without the Web UI (tests). */
  headless?: boolean;
}

export interface DevServer {
  address: string;
  uiUrl?: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

const SA_TYPE: Record<string, string> = { KEYWORD: 'Keyword', TEXT: 'Text', INT: 'Int', DOUBLE: 'Double', BOOL: 'Bool', DATETIME: 'Datetime', KEYWORD_LIST: 'KeywordList' };

/**
 * Starts the dev server and waits for its frontend port. It picks random free ports for its internal
 * services while it starts, which can rarely lose a race with another process; one more attempt follows.
 */
export async function startDevServer(o: DevServerOptions): Promise<DevServer> {
  try {
    return await startOnce(o);
  } catch (err) {
    if (!(err instanceof DevServerExited)) throw err;
    return startOnce(o);
  }
}

/** The dev server process ended during start-up; the message carries the end of its log. */
class DevServerExited extends Error {}

async function startOnce(o: DevServerOptions): Promise<DevServer> {
  if (await portOpen(o.port)) {
    throw new Error(`port ${o.port} is already in use; is another Temporal server running? Set TEMPORAL_ADDRESS=127.0.0.1:${o.port} to use it, or MLOPS_TEMPORAL_PORT to pick another port`);
  }
  fs.mkdirSync(o.dataDir, { recursive: true });
  const args = [
    'server', 'start-dev',
    '--ip', '127.0.0.1',
    '--port', String(o.port),
    '--namespace', o.namespace,
    '--db-filename', path.join(o.dataDir, 'temporal.sqlite'),
    '--sqlite-pragma', 'journal_mode=WAL',
    '--sqlite-pragma', 'synchronous=NORMAL',
    '--log-level', 'warn',
    ...SEARCH_ATTRIBUTE_KEYS.flatMap((k) => ['--search-attribute', `${k.name}=${SA_TYPE[k.type]}`]),
    ...(o.headless ? ['--headless'] : ['--ui-port', String(o.uiPort)]),
  ];
  const logFile = path.join(o.dataDir, 'temporal.log');
  const log = fs.openSync(logFile, 'a');
  const child = spawn(o.cliPath, args, { stdio: ['ignore', log, log] });
  fs.closeSync(log);
  let exited: number | null | undefined;
  child.once('exit', (code) => { exited = code; });
  const deadline = Date.now() + 60_000;
  while (!(await portOpen(o.port))) {
    if (exited !== undefined) {
      const tail = fs.readFileSync(logFile, 'utf8').trim().split('\n').slice(-3).join('\n  ');
      throw new DevServerExited(`the Temporal dev server exited with code ${exited}; the end of ${logFile}:\n  ${tail}`);
    }
    if (Date.now() > deadline) { child.kill('SIGKILL'); throw new Error('the Temporal dev server did not open its port within 60 s'); }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    address: `127.0.0.1:${o.port}`,
    uiUrl: o.headless ? undefined : `http://localhost:${o.uiPort}`,
    process: child,
    async stop() {
      if (exited !== undefined) return;
      const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await done;
      clearTimeout(timer);
    },
  };
}
