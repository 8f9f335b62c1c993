/**
 * `mlops up` start time: from spawning `node bin/mlops.js up` to the API's GET /readyz answering 200
 * (store and Temporal reachable), on a fresh data directory (first start: initdb, migrations, Temporal's
 * SQLite file) and again on the same directory (restart). Several checkouts can be compared side by side:
 * their turns interleave, so a busy moment of the machine falls on all of them alike.
 *
 *   UP_REPOS=/tmp/before,/tmp/after UP_TURNS=5 node --import tsx bench/up_start.ts
 *
 * Each checkout runs as users run it (`npm ci && npm run build`, then bin/mlops.js from dist/). The
 * Temporal CLI comes from TEMPORAL_CLI_PATH (default: this repo's .cache/tools), so no turn downloads it.
 * Figures: bench/RESULTS.md.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
const REPOS = (process.env.UP_REPOS ?? ROOT).split(',').map((r) => path.resolve(r));
const TURNS = Number(process.env.UP_TURNS ?? 5);
const TEMPORAL = process.env.TEMPORAL_CLI_PATH ?? path.join(ROOT, '.cache', 'tools', 'temporal', 'bin', 'temporal');

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts `mlops up` from `repo` on `dataDir`; resolves with the seconds to ready and a stop function that times the stop too. */
async function up(repo: string, dataDir: string): Promise<{ ready: number; stop(): Promise<number> }> {
  const [api, temporal, ui, pg] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const log = fs.openSync(`${dataDir}.log`, 'a');
  const started = performance.now();
  const child = spawn(process.execPath, [path.join(repo, 'bin', 'mlops.js'), 'up'], {
    cwd: repo,
    stdio: ['ignore', log, log],
    env: {
      ...process.env, MLOPS_DATA_DIR: dataDir, TEMPORAL_CLI_PATH: TEMPORAL, MLOPS_API_PORT: String(api),
      MLOPS_TEMPORAL_PORT: String(temporal), MLOPS_TEMPORAL_UI_PORT: String(ui), MLOPS_PG_PORT: String(pg), MLOPS_PGLITE_PORT: String(pg),
    },
  });
  fs.closeSync(log);
  let exited = false;
  const gone = new Promise<void>((resolve) => child.once('exit', () => { exited = true; resolve(); }));
  for (const deadline = Date.now() + 180_000; ;) {
    if (exited) throw new Error(`mlops up from ${repo} exited before it was ready; see ${dataDir}.log`);
    if (Date.now() > deadline) { child.kill('SIGKILL'); throw new Error(`mlops up from ${repo} not ready within 180 s`); }
    const status = await fetch(`http://127.0.0.1:${api}/readyz`).then((r) => r.status, () => 0);
    if (status === 200) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  const ready = (performance.now() - started) / 1000;
  return {
    ready,
    async stop() {
      const t = performance.now();
      child.kill('SIGINT');
      await gone;
      return (performance.now() - t) / 1000;
    },
  };
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const fmt = (xs: number[]) => `${median(xs).toFixed(2)} s (${xs.map((x) => x.toFixed(2)).join(', ')})`;

async function main(): Promise<void> {
  for (const repo of REPOS) if (!fs.existsSync(path.join(repo, 'dist', 'src', 'cli.js'))) throw new Error(`${repo} has no build: run npm ci && npm run build there`);
  const results = new Map(REPOS.map((r) => [r, { fresh: [] as number[], restart: [] as number[], stop: [] as number[] }]));
  for (let turn = 1; turn <= TURNS; turn++) {
    for (const repo of REPOS) {
      // the data dir straight under /tmp: as root, the store's account must be able to enter every folder above it
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-up-bench-'));
      try {
        const r = results.get(repo)!;
        const fresh = await up(repo, dataDir);
        r.fresh.push(fresh.ready);
        r.stop.push(await fresh.stop());
        const again = await up(repo, dataDir);
        r.restart.push(again.ready);
        r.stop.push(await again.stop());
        console.log(`turn ${turn} ${repo}: fresh ${fresh.ready.toFixed(2)} s, restart ${again.ready.toFixed(2)} s`);
        fs.rmSync(`${dataDir}.log`, { force: true });
      } finally {
        fs.rmSync(dataDir, { recursive: true, force: true });
      }
    }
  }
  console.log(`\n${os.cpus().length} cores, Node ${process.version}, ${TURNS} turns each; median (each turn)`);
  console.log('| checkout | fresh data dir to /readyz 200 | restart on it | stop (Ctrl-C to exit) |');
  console.log('| --- | --- | --- | --- |');
  for (const [repo, r] of results) console.log(`| ${repo} | ${fmt(r.fresh)} | ${fmt(r.restart)} | ${median(r.stop).toFixed(2)} s |`);
}

main().catch((err) => { console.error(err); process.exit(1); });
