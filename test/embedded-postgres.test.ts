/**
 * The embedded store `mlops up` starts: a real PostgreSQL server whose cluster lives in the data dir,
 * kept across restarts, reachable with its generated password only, run as an unprivileged user when
 * started as root, and stopped at the next start when a killed process left it running; a data folder
 * the PGlite store of earlier versions left is refused with what to do.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Client } from 'pg';
import { embeddedDatabaseUrl, startEmbeddedPostgres } from '../src/stack/embedded-postgres';

const folders: string[] = [];
const tempDir = () => { const d = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-embedded-pg-')); folders.push(d); return d; };
after(() => { for (const d of folders) fs.rmSync(d, { recursive: true, force: true }); });

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function query<T>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try { return (await c.query(sql, params)).rows as T[]; } finally { await c.end(); }
}

describe('the embedded PostgreSQL server', () => {
  it('creates its cluster in the data dir at first start and keeps the data across restarts', async () => {
    const dataDir = path.join(tempDir(), 'pgdata');
    const port = await freePort();
    const first = await startEmbeddedPostgres({ dataDir, port });
    try {
      const [{ version }] = await query<{ version: string }>(first.url, 'SELECT version()');
      assert.match(version, /^PostgreSQL \d+\.\d+ on /);
      assert.doesNotMatch(version, /PGlite|wasm/, 'a native server');
      await query(first.url, 'CREATE TABLE kept (n int); INSERT INTO kept VALUES (42)');
      assert.equal(embeddedDatabaseUrl(dataDir, port), first.url, 'standalone processes find the URL from the data dir');
    } finally {
      await first.stop();
    }
    assert.ok(fs.existsSync(path.join(dataDir, 'PG_VERSION')));
    const second = await startEmbeddedPostgres({ dataDir, port });
    try {
      assert.deepEqual(await query(second.url, 'SELECT n FROM kept'), [{ n: 42 }]);
      if (process.getuid?.() === 0) {
        // PostgreSQL refuses root; the cluster belongs to the unprivileged account the server runs as
        assert.notEqual(fs.statSync(dataDir).uid, 0);
        const [{ usesuper }] = await query<{ usesuper: boolean }>(second.url, 'SELECT usesuper FROM pg_user WHERE usename = current_user');
        assert.equal(usesuper, true);
      } else {
        assert.equal(fs.statSync(dataDir).uid, process.getuid?.());
      }
    } finally {
      await second.stop();
    }
  });

  it('lets in only the holder of its generated password, which only this user can read', async () => {
    const dataDir = path.join(tempDir(), 'pgdata');
    const port = await freePort();
    const server = await startEmbeddedPostgres({ dataDir, port, durable: false });
    try {
      const noPassword = new URL(server.url);
      noPassword.password = '';
      await assert.rejects(query(noPassword.toString(), 'SELECT 1'), /password/);
      const wrong = new URL(server.url);
      wrong.password = 'guess';
      await assert.rejects(query(wrong.toString(), 'SELECT 1'), /password authentication failed/);
      assert.equal(fs.statSync(path.join(dataDir, 'mlops-store.json')).mode & 0o077, 0);
    } finally {
      await server.stop();
    }
  });

  it('delivers NOTIFY from one connection to a LISTEN on another', async () => {
    const server = await startEmbeddedPostgres({ dataDir: path.join(tempDir(), 'pgdata'), port: await freePort(), durable: false });
    const listener = new Client({ connectionString: server.url });
    try {
      await listener.connect();
      const heard = new Promise<string | undefined>((resolve) => listener.once('notification', (n) => resolve(n.payload)));
      await listener.query('LISTEN replicas');
      await query(server.url, `SELECT pg_notify('replicas', 'deployed')`);
      assert.equal(await heard, 'deployed');
    } finally {
      await listener.end();
      await server.stop();
    }
  });

  it('stops the server an earlier start left running when its process was killed outright, and starts its own', async () => {
    const dataDir = path.join(tempDir(), 'pgdata');
    const port = await freePort();
    // another process starts the store, writes a row, and is killed with SIGKILL: its server lives on
    const code = `const { startEmbeddedPostgres } = require(${JSON.stringify(path.resolve(__dirname, '../src/stack/embedded-postgres.ts'))});
      const { Client } = require('pg');
      startEmbeddedPostgres({ dataDir: ${JSON.stringify(dataDir)}, port: ${port}, durable: false }).then(async (s) => {
        const c = new Client({ connectionString: s.url }); await c.connect();
        await c.query('CREATE TABLE kept (n int); INSERT INTO kept VALUES (7)'); await c.end();
        console.log('up'); setInterval(() => undefined, 1000);
      });`;
    const first = spawn(process.execPath, ['--import', 'tsx', '-e', code], { cwd: path.resolve(__dirname, '..'), stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => { first.stdout.on('data', (d) => { if (String(d).includes('up')) resolve(); }); first.once('exit', () => reject(new Error('the first process exited early'))); });
    const orphan = Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    assert.doesNotThrow(() => process.kill(orphan, 0), 'the first server outlived its process');

    const lines: string[] = [];
    const second = await startEmbeddedPostgres({ dataDir, port, durable: false, log: (l) => lines.push(l) });
    try {
      assert.deepEqual(await query(second.url, 'SELECT n FROM kept'), [{ n: 7 }]);
      assert.throws(() => process.kill(orphan, 0), /ESRCH/);
      assert.match(lines.join('\n'), new RegExp(`stopping the embedded PostgreSQL \\(pid ${orphan}\\)`));
    } finally {
      await second.stop();
    }
  });

  it('refuses a data folder written by PGlite, saying what to do', async () => {
    const home = tempDir();
    const dataDir = path.join(home, 'pgdata');
    // the layout PGlite 0.5.14 (the embedded store until this version) leaves: a data folder that never
    // saw a postmaster, so no postmaster.opts, and no marker of ours
    fs.mkdirSync(dataDir);
    fs.writeFileSync(path.join(dataDir, 'PG_VERSION'), '18\n');
    for (const f of ['pg_hba.conf', 'pg_ident.conf', 'postgresql.conf', 'postgresql.auto.conf']) fs.writeFileSync(path.join(dataDir, f), '');
    for (const d of ['base', 'global', 'pg_wal', 'pg_xact', 'pg_multixact']) fs.mkdirSync(path.join(dataDir, d));
    const before = fs.readdirSync(dataDir).sort();
    await assert.rejects(startEmbeddedPostgres({ dataDir, port: await freePort() }), (err: Error) => {
      assert.match(err.message, /written by PGlite/);
      assert.ok(err.message.includes(`mv ${home} ${home}-pglite`), err.message);
      assert.match(err.message, /MLOPS_DATA_DIR/);
      return true;
    });
    assert.deepEqual(fs.readdirSync(dataDir).sort(), before, 'the folder is left as it was');
  });

  it('refuses a non-empty folder it did not create', async () => {
    const dataDir = path.join(tempDir(), 'pgdata');
    fs.mkdirSync(dataDir);
    fs.writeFileSync(path.join(dataDir, 'notes.txt'), 'mine');
    await assert.rejects(startEmbeddedPostgres({ dataDir, port: await freePort() }), /not empty and was not created by the embedded store/);
  });

  it('names the port setting when its port is taken', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = blocker.address() as net.AddressInfo;
      await assert.rejects(startEmbeddedPostgres({ dataDir: path.join(tempDir(), 'pgdata'), port, durable: false }), /MLOPS_PG_PORT/);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});
