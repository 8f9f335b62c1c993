/**
 * Tail latency against load: p50, p90 and p99 of our predict at shares of its own peak, each beside the
 * floor: a bare node:http server paced at the very same rates.
 *
 *   npm ci
 *   node --import tsx bench/serving_tail.ts       (about 13 minutes; the first run also builds oha, about 7)
 *   TAIL_STORE=postgres node --import tsx bench/serving_tail.ts        (the store as a deployment runs it)
 *
 * The load comes from native generators, installed by bench/install-load-tools.sh when missing: the peak
 * from wrk (closed loop, 16 connections), the paced load from oha (open loop at an even rate, 16
 * connections, --latency-correction: each latency counts from when its request was due, so a server
 * that falls behind shows it). A Node generator on the same two cores measured mostly itself: against a
 * bare node:http server at 3,000 requests/s it reported a p99 of 8 ms where oha reports 2 ms.
 *
 * The servers (TAIL_SERVERS, default on,floor,off,floor) take turns, every round:
 *   fixed     bench/serving_fixed_cost.ts: bare node:http burning TAIL_FIXED_COST_US (default 80) µs of CPU
 *             per request, no garbage, batching, logging or store. Its peak is near ours, so it shows what
 *             this machine allows one Node thread at that load (0 µs: bare node:http answering a constant).
 *   on        ours, log on: a separate `mlops api` (an API replica) serving the model trained on
 *             `mlops up`, with the defaults: every prediction logged to the embedded store
 *   off       ours, log off: the same with MLOPS_PREDICTION_LOG_SAMPLE=0
 *   express   bare Express parsing the body and answering a constant (bench/serving_express.ts)
 *   prototype the smallest Express + onnxruntime-node server (bench/serving_prototype.ts) running the
 *             deployed model's ONNX file: the issue's yardsticks, bare Express and this, held to the
 *             target at shares of their own peaks
 *   floor     bare node:http parsing the body and answering a constant (the fixed-cost server at 0 µs),
 *             paced at the very rates the server before it in the round was: what this machine, its
 *             loopback and the generator allow any server at that rate, the floor under ours
 * For each: a 2 s warm-up, the peak over TAIL_SECONDS, then paced load at TAIL_LOADS of that peak (or at
 * the fixed TAIL_RATES, requests/s), with the share of a core the server's main thread used (from /proc).
 * Nothing is pinned: the servers, the stack and the generators share the machine's cores as a deployment
 * on it would. `mlops up` starts only when `on`, `off` or `prototype` is among the servers.
 *
 * The store (TAIL_STORE): `pglite` (default) is `mlops up`'s embedded store, as on the quick start;
 * `postgres` is a PostgreSQL server from Debian's packages (scripts/start-postgres.sh, fsync on), as a
 * deployment runs, on the same two cores.
 *
 * Every server runs on the Node that runs the benchmark (process.execPath): start it with another to
 * compare runtimes.
 *
 * Settings (environment): TAIL_SERVERS, TAIL_STORE, TAIL_ROUNDS (default 3), TAIL_SECONDS (each phase, default 8),
 * TAIL_LOADS (default 0.3,0.5,0.7), TAIL_RATES (instead of TAIL_LOADS), TAIL_FIXED_COST_US, TEMPORAL_CLI_PATH.
 * Why predict is answered in front of Express (src/api/predict-fast-path.ts), rerun:
 *   TAIL_SERVERS=express,fixed TAIL_FIXED_COST_US=0 TAIL_RATES=4144 node --import tsx bench/serving_tail.ts
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalArtifactStore } from '../src/store/artifacts';
import { Child, CSV, freePorts, log, MODEL, readDataset, ROOT, sleep, startChild, stopAll, TARGET, temporalCli, waitForHttp } from './harness';

const ROUNDS = Number(process.env.TAIL_ROUNDS ?? 3);
const SECONDS = Number(process.env.TAIL_SECONDS ?? 8);
const LOADS = (process.env.TAIL_LOADS ?? '0.3,0.5,0.7').split(',').map(Number);
/** Fixed rates in requests/s, measured instead of shares of the peak when set. */
const RATES = process.env.TAIL_RATES ? process.env.TAIL_RATES.split(',').map(Number) : undefined;
const KINDS = ['fixed', 'on', 'off', 'express', 'prototype', 'floor'] as const;
type Kind = (typeof KINDS)[number];
const SERVERS = (process.env.TAIL_SERVERS ?? 'on,floor,off,floor').split(',').map((s) => s.trim()) as Kind[];
const STORES = ['pglite', 'postgres'] as const;
const STORE = (process.env.TAIL_STORE ?? 'pglite') as (typeof STORES)[number];
const FIXED_COST_US = Number(process.env.TAIL_FIXED_COST_US ?? 80);
const CONNECTIONS = 16;
const ADMIN_KEY = 'bench-admin-key-0123456789';
const OHA = path.join(ROOT, '.cache', 'tools', 'oha', 'bin', 'oha');

interface Server {
  name: string; start(port: number, logFile: string): Child; path: string;
  /** Paced at the rates (and under the labels) of the server measured before it in the round. */
  followsPrevious?: boolean;
}
interface Row { round: number; server: string; load: string; rate: number; p50: number; p90: number; p99: number; thread: number }

function installTools(): void {
  if (spawnSync('wrk', ['-v']).error === undefined && fs.existsSync(OHA)) return;
  log('installing the load generators (bench/install-load-tools.sh)');
  const r = spawnSync('bash', [path.join(ROOT, 'bench', 'install-load-tools.sh')], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('bench/install-load-tools.sh failed: wrk and oha are needed');
}

/** CPU seconds of a process's main thread. */
function mainThreadCpuSeconds(pid: number): number {
  const text = fs.readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Closed-loop request rate with wrk: the peak. */
function wrkRate(url: string, script: string, seconds: number): number {
  const r = spawnSync('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '-s', script, url], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`wrk failed: ${r.stderr}`);
  if (/Non-2xx or 3xx responses/.test(r.stdout) || /Socket errors/.test(r.stdout)) throw new Error(`wrk saw failures:\n${r.stdout}`);
  const rate = /Requests\/sec:\s+([\d.]+)/.exec(r.stdout);
  if (!rate) throw new Error(`no rate in wrk's output:\n${r.stdout}`);
  return Number(rate[1]);
}

interface OhaReport {
  latencyPercentiles: Record<string, number | null>;
  statusCodeDistribution: Record<string, number>;
  errorDistribution: Record<string, number>;
}

/** Evenly paced open-loop load with oha; latencies in ms from each request's due time. */
function ohaPaced(url: string, bodyFile: string, rate: number, seconds: number): { p50: number; p90: number; p99: number } {
  const r = spawnSync(OHA, ['-z', `${seconds}s`, '-q', String(rate), '-c', String(CONNECTIONS), '--latency-correction', '-w', '--no-tui',
    '-m', 'POST', '-H', 'content-type: application/json', '-D', bodyFile, '--output-format', 'json', url], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`oha failed: ${r.stderr}`);
  const report = JSON.parse(r.stdout) as OhaReport;
  const bad = Object.entries(report.statusCodeDistribution).filter(([code]) => !code.startsWith('2'));
  if (bad.length > 0 || Object.keys(report.errorDistribution).length > 0) {
    throw new Error(`requests failed at ${rate}/s: ${JSON.stringify({ status: report.statusCodeDistribution, errors: report.errorDistribution })}`);
  }
  const ms = (k: string) => (report.latencyPercentiles[k] ?? NaN) * 1000;
  return { p50: ms('p50'), p90: ms('p90'), p99: ms('p99') };
}

async function measure(round: number, server: Server, port: number, logs: string, files: { body: string; script: string }, previous: Row[]): Promise<Row[]> {
  const logFile = path.join(logs, `${server.name.replace(/\W+/g, '-')}-${round}.log`);
  const child = server.start(port, logFile);
  const url = `http://127.0.0.1:${port}${server.path}`;
  const rows: Row[] = [];
  try {
    await waitForHttp(`http://127.0.0.1:${port}/healthz`, child, 120_000, logFile);
    wrkRate(url, files.script, 2);
    const peak = wrkRate(url, files.script, SECONDS);
    log(`round ${round}, ${server.name}: peak ${Math.round(peak)} req/s`);
    const plan = server.followsPrevious
      ? previous.map((r) => ({ rate: r.rate, label: r.load }))
      : (RATES ?? LOADS).map((load) => ({ rate: RATES ? load : Math.round(peak * load), label: loadLabel(load) }));
    for (const { rate, label } of plan) {
      const cpu0 = mainThreadCpuSeconds(child.proc.pid!);
      const t0 = performance.now();
      const r = ohaPaced(url, files.body, rate, SECONDS);
      const thread = (mainThreadCpuSeconds(child.proc.pid!) - cpu0) / ((performance.now() - t0) / 1000);
      const row = { round, server: server.name, load: label, rate, ...r, thread };
      log(`  ${RATES ? row.load : `${row.load} (${rate}/s)`}: p50 ${r.p50.toFixed(2)} p90 ${r.p90.toFixed(2)} p99 ${r.p99.toFixed(2)} ms, main thread ${Math.round(thread * 100)}% of a core`);
      rows.push(row);
    }
  } finally {
    await child.stop();
  }
  return rows;
}

/** A PostgreSQL server for the stack, durable as a deployment's (fsync on); `dir` lies outside the
 * root-only work directory, since the server runs as the postgres user when we are root. */
function startPostgres(port: number, dir: string): { url: string; stop(): void } {
  const env = { ...process.env, PG_TEST_PORT: String(port), PG_TEST_DIR: dir, PG_FSYNC: 'on' };
  const r = spawnSync('bash', [path.join(ROOT, 'scripts', 'start-postgres.sh')], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const url = /TEST_DATABASE_URL=(\S+)/.exec(r.stdout ?? '')?.[1];
  if (r.status !== 0 || !url) throw new Error('scripts/start-postgres.sh failed');
  return {
    url,
    stop() {
      spawnSync('bash', [path.join(ROOT, 'scripts', 'stop-postgres.sh'), dir], { stdio: 'ignore' });
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

const loadLabel = (load: number) => (RATES ? `${load}/s` : `${Math.round(load * 100)}%`);

async function api<T>(base: string, method: string, route: string, body?: unknown): Promise<T> {
  const res = await fetch(`${base}${route}`, { method, headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${route} -> ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

/** `mlops up` in the benchmark's directory, with the model trained and deployed: the replicas' stack. */
async function deployModel(stackEnv: NodeJS.ProcessEnv, apiPort: number, logs: string): Promise<void> {
  const upLog = path.join(logs, 'mlops-up.log');
  const stack = startChild('mlops up', process.execPath, ['--import', 'tsx', path.join(ROOT, 'src', 'cli.ts'), 'up'], stackEnv, upLog, 'SIGINT');
  const base = `http://127.0.0.1:${apiPort}`;
  await waitForHttp(`${base}/healthz`, stack, 300_000, upLog);
  const { id } = await api<{ id: string }>(base, 'POST', '/v1/pipelines', { model: MODEL, data: { uri: CSV }, target: TARGET, approval: { mode: 'auto' } });
  for (let state = ''; state !== 'deployed'; await sleep(100)) {
    state = (await api<{ state: string }>(base, 'GET', `/v1/pipelines/${id}`)).state;
    if (state === 'rejected' || state === 'failed') throw new Error(`pipeline ${id} ended ${state}`);
  }
}

async function main(): Promise<void> {
  const unknown = SERVERS.filter((s) => !KINDS.includes(s));
  if (unknown.length > 0) throw new Error(`TAIL_SERVERS: unknown ${unknown.join(', ')}; choose among ${KINDS.join(', ')}`);
  if (SERVERS[0] === 'floor') throw new Error('TAIL_SERVERS: floor is paced at the rates of the server before it, so it cannot come first');
  if (!STORES.includes(STORE)) throw new Error(`TAIL_STORE: unknown ${STORE}; choose among ${STORES.join(', ')}`);
  installTools();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-tail-'));
  const logs = path.join(work, 'logs');
  fs.mkdirSync(logs);
  const [apiPort, temporalPort, uiPort, pglitePort, serverPort, postgresPort] = await freePorts(6);
  const onnxFile = path.join(work, 'model.onnx');
  let features: string[] = [];
  const postgres = STORE === 'postgres' ? startPostgres(postgresPort, `${work}-postgres`) : undefined;
  const stackEnv: NodeJS.ProcessEnv = {
    ...process.env, MLOPS_DATA_DIR: path.join(work, 'data'), MLOPS_ADMIN_KEY: ADMIN_KEY, MLOPS_API_PORT: String(apiPort),
    MLOPS_TEMPORAL_PORT: String(temporalPort), MLOPS_TEMPORAL_UI_PORT: String(uiPort), MLOPS_PGLITE_PORT: String(pglitePort),
    ...(temporalCli() ? { TEMPORAL_CLI_PATH: temporalCli() } : {}),
    ...(postgres ? { DATABASE_URL: postgres.url } : {}),
  };
  const body = JSON.stringify({ instances: [readDataset().instances[0]] });
  const files = { body: path.join(work, 'body.json'), script: path.join(work, 'post.lua') };
  fs.writeFileSync(files.body, body);
  fs.writeFileSync(files.script, `wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = [==[${body}]==]\n`);
  const cli = path.join(ROOT, 'src', 'cli.ts');
  const replica = (name: string, env: NodeJS.ProcessEnv): Server => ({
    name, path: `/v1/models/${MODEL}/predict`,
    start: (port, logFile) => startChild(name, process.execPath, ['--import', 'tsx', cli, 'api'], { ...stackEnv, MLOPS_API_PORT: String(port), ...env }, logFile, 'SIGINT'),
  });
  const known: Record<Kind, Server> = {
    fixed: {
      name: `fixed cost (${FIXED_COST_US} µs)`, path: '/',
      start: (port, logFile) => startChild('fixed cost', process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', 'serving_fixed_cost.ts'), String(port), String(FIXED_COST_US)], process.env, logFile, 'SIGTERM'),
    },
    on: replica('ours, log on', {}),
    off: replica('ours, log off', { MLOPS_PREDICTION_LOG_SAMPLE: '0' }),
    floor: {
      name: 'floor', path: '/', followsPrevious: true,
      start: (port, logFile) => startChild('floor', process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', 'serving_fixed_cost.ts'), String(port), '0'], process.env, logFile, 'SIGTERM'),
    },
    prototype: {
      name: 'Express + onnxruntime-node prototype', path: `/v1/models/${MODEL}/predict`,
      start: (port, logFile) => startChild('prototype', process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', 'serving_prototype.ts'), String(port), onnxFile, features.join(',')], process.env, logFile, 'SIGTERM'),
    },
    express: {
      name: 'bare Express', path: `/v1/models/${MODEL}/predict`,
      start: (port, logFile) => startChild('bare Express', process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', 'serving_express.ts'), String(port)], process.env, logFile, 'SIGTERM'),
    },
  };
  // a floor is named after the server whose rates it follows, so each has its own column
  const servers = SERVERS.map((s, i) => (s === 'floor' ? { ...known.floor, name: `floor at ${known[SERVERS[i - 1]].name}'s rates` } : known[s]));
  log(`Node ${process.version}, ${os.cpus().length} cores; store ${STORE}; wrk for the peak, oha for paced load (${CONNECTIONS} connections each)`);
  let failed = false;
  try {
    if (SERVERS.some((s) => s === 'on' || s === 'off' || s === 'prototype')) {
      await deployModel(stackEnv, apiPort, logs);
      // the prototype serves the very ONNX file the pipeline deployed
      const version = await api<{ onnxDigest: string; signature: { features: string[] } }>(`http://127.0.0.1:${apiPort}`, 'GET', `/v1/models/${MODEL}/versions/1`);
      fs.writeFileSync(onnxFile, await new LocalArtifactStore(path.join(stackEnv.MLOPS_DATA_DIR!, 'artifacts')).get(version.onnxDigest));
      features = version.signature.features;
    }
    const rows: Row[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      let previous: Row[] = [];
      for (const server of servers) {
        previous = await measure(round, server, serverPort, logs, files, previous);
        rows.push(...previous);
      }
    }
    log(`\nCells: p50 / p90 / **p99** ms at that rate (main thread's share of a core), round by round.\n`);
    log(`| load | ${servers.map((s) => s.name).join(' | ')} |\n| --- |${servers.map(() => ' --- |').join('')}`);
    for (const load of (RATES ?? LOADS).map(loadLabel)) {
      const cell = (server: string) => rows.filter((r) => r.server === server && r.load === load)
        .map((r) => `${r.p50.toFixed(1)} / ${r.p90.toFixed(1)} / **${r.p99.toFixed(1)}** at ${r.rate}/s (${Math.round(r.thread * 100)}%)`).join('; ');
      log(`| ${load} | ${servers.map((s) => cell(s.name)).join(' | ')} |`);
    }
  } catch (err) {
    failed = true;
    console.error(err);
    console.error(`logs: ${logs}`);
  } finally {
    await stopAll();
    postgres?.stop();
    if (!failed) fs.rmSync(work, { recursive: true, force: true });
  }
  process.exitCode = failed ? 1 : 0;
}

void main();
