/**
 * Tail latency against load: what sets our predict's p99 at a given share of its peak.
 *
 *   npm ci
 *   node --import tsx bench/serving_tail.ts                       (about 4 minutes)
 *
 * `mlops up` (the embedded stack) starts in a fresh directory and trains and deploys the 30-feature
 * breast-cancer model. A separate `mlops api` then serves it, as an API replica does in production, in
 * two configurations taken in turns: the prediction log on (every prediction, the default) and off
 * (MLOPS_PREDICTION_LOG_SAMPLE=0). For each: the peak request rate (autocannon, 16 connections, after a
 * 2 s warm-up), then evenly paced open-loop load (bench/paced-load.ts, latency counted from each request's
 * due time) at fractions of that peak, with p50, p90, p99 and the share of a core the API's request thread
 * used (from /proc).
 *
 * Where taskset exists and the machine has two cores or more, the API's request thread gets core 0 to
 * itself and every other thread (the API's helpers, the stack, this generator) the other cores, set
 * again before every phase. On two shared cores the generator and the store otherwise take turns on the
 * request thread's core, and the tail measures the scheduler. TAIL_PIN=0 turns it off.
 *
 * Settings (environment): TAIL_ROUNDS (default 2), TAIL_SECONDS (each paced phase, default 8),
 * TAIL_LOADS (fractions of the peak, default 0.3,0.5,0.7,0.85), TEMPORAL_CLI_PATH.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { Child, CSV, freePorts, log, MODEL, percentile, readDataset, ROOT, sleep, startChild, stopAll, TARGET, temporalCli, waitForHttp } from './harness';
import { pacedLoad } from './paced-load';

const ROUNDS = Number(process.env.TAIL_ROUNDS ?? 2);
const SECONDS = Number(process.env.TAIL_SECONDS ?? 8);
const LOADS = (process.env.TAIL_LOADS ?? '0.3,0.5,0.7,0.85').split(',').map(Number);
const CONNECTIONS = 16;
const ADMIN_KEY = 'bench-admin-key-0123456789';
const CONFIGS = [
  { name: 'log on', env: {} },
  { name: 'log off', env: { MLOPS_PREDICTION_LOG_SAMPLE: '0' } },
];

interface Row { round: number; config: string; load: string; rate: number; p50: number; p90: number; p99: number; thread: number }

const cpus = os.cpus().length;
const canPin = process.env.TAIL_PIN !== '0' && cpus >= 2 && spawnSync('taskset', ['-V']).status === 0;
const others = `1-${cpus - 1}`;

function threadsOf(pid: number): number[] {
  try { return fs.readdirSync(`/proc/${pid}/task`).map(Number); } catch { return []; }
}

function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const text = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      parent.set(Number(entry), Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[1]));
    } catch { /* exited meanwhile */ }
  }
  const found = [root];
  for (let i = 0; i < found.length; i++) for (const [pid, ppid] of parent) if (ppid === found[i]) found.push(pid);
  return found;
}

/** The API's request thread on core 0; every other thread of the API, the stack and this process elsewhere. */
function pin(apiPid: number, stackPid: number): void {
  if (!canPin) return;
  const set = (cpuList: string, tid: number) => spawnSync('taskset', ['-pc', cpuList, String(tid)], { stdio: 'ignore' });
  for (const pid of [...descendants(apiPid), ...descendants(stackPid), process.pid]) {
    for (const tid of threadsOf(pid)) set(tid === apiPid ? '0' : others, tid);
  }
}

/** CPU seconds of one thread (the process's main thread when tid = pid). */
function threadCpuSeconds(pid: number, tid: number): number {
  const text = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function cannon(url: string, body: string, seconds: number): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon({ url, method: 'POST', headers: { 'content-type': 'application/json' }, body, connections: CONNECTIONS, duration: seconds }, (err, r) => (err ? reject(err) : resolve(r)));
  });
}

async function api<T>(base: string, method: string, route: string, body?: unknown): Promise<T> {
  const res = await fetch(`${base}${route}`, { method, headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${route} -> ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

async function measureConfig(round: number, config: (typeof CONFIGS)[number], stackEnv: NodeJS.ProcessEnv, port: number, stack: Child, logs: string, body: string): Promise<Row[]> {
  const logFile = path.join(logs, `mlops-api-${round}-${config.name.replace(' ', '-')}.log`);
  const apiChild = startChild(`mlops api (${config.name})`, process.execPath, ['--import', 'tsx', path.join(ROOT, 'src', 'cli.ts'), 'api'], { ...stackEnv, MLOPS_API_PORT: String(port), ...config.env }, logFile, 'SIGINT');
  const url = `http://127.0.0.1:${port}/v1/models/${MODEL}/predict`;
  const rows: Row[] = [];
  try {
    await waitForHttp(`http://127.0.0.1:${port}/healthz`, apiChild, 120_000, logFile);
    const pid = apiChild.proc.pid!;
    pin(pid, stack.proc.pid!);
    await cannon(url, body, 2);
    pin(pid, stack.proc.pid!);
    const peak = (await cannon(url, body, SECONDS)).requests.average;
    log(`round ${round}, ${config.name}: peak ${Math.round(peak)} req/s`);
    for (const load of LOADS) {
      const rate = Math.round(peak * load);
      pin(pid, stack.proc.pid!);
      const cpu0 = threadCpuSeconds(pid, pid);
      const r = await pacedLoad({ url, body, rate, seconds: SECONDS, connections: CONNECTIONS });
      const thread = (threadCpuSeconds(pid, pid) - cpu0) / r.elapsedSeconds;
      if (r.failed > 0) throw new Error(`${r.failed} requests failed at ${rate}/s`);
      const sorted = Float64Array.from(r.latencies).sort();
      const row = { round, config: config.name, load: `${Math.round(load * 100)}%`, rate, p50: percentile(sorted, 0.5), p90: percentile(sorted, 0.9), p99: percentile(sorted, 0.99), thread };
      log(`  ${row.load} (${rate}/s): p50 ${row.p50.toFixed(2)} p90 ${row.p90.toFixed(2)} p99 ${row.p99.toFixed(2)} ms, request thread ${Math.round(thread * 100)}% of a core`);
      rows.push(row);
    }
  } finally {
    await apiChild.stop();
  }
  return rows;
}

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-tail-'));
  const logs = path.join(work, 'logs');
  fs.mkdirSync(logs);
  const [apiPort, temporalPort, uiPort, pglitePort, replicaPort] = await freePorts(5);
  const stackEnv: NodeJS.ProcessEnv = {
    ...process.env, MLOPS_DATA_DIR: path.join(work, 'data'), MLOPS_ADMIN_KEY: ADMIN_KEY, MLOPS_API_PORT: String(apiPort),
    MLOPS_TEMPORAL_PORT: String(temporalPort), MLOPS_TEMPORAL_UI_PORT: String(uiPort), MLOPS_PGLITE_PORT: String(pglitePort),
    ...(temporalCli() ? { TEMPORAL_CLI_PATH: temporalCli() } : {}),
  };
  log(`${cpus} cores; ${canPin ? 'request thread pinned to core 0, everything else to cores ' + others : 'no pinning'}`);
  let failed = false;
  try {
    const upLog = path.join(logs, 'mlops-up.log');
    const stack = startChild('mlops up', process.execPath, ['--import', 'tsx', path.join(ROOT, 'src', 'cli.ts'), 'up'], stackEnv, upLog, 'SIGINT');
    const base = `http://127.0.0.1:${apiPort}`;
    await waitForHttp(`${base}/healthz`, stack, 300_000, upLog);
    const { id } = await api<{ id: string }>(base, 'POST', '/v1/pipelines', { model: MODEL, data: { uri: CSV }, target: TARGET, approval: { mode: 'auto' } });
    for (let state = ''; state !== 'deployed'; await sleep(100)) {
      state = (await api<{ state: string }>(base, 'GET', `/v1/pipelines/${id}`)).state;
      if (state === 'rejected' || state === 'failed') throw new Error(`pipeline ${id} ended ${state}`);
    }
    const body = JSON.stringify({ instances: [readDataset().instances[0]] });
    const rows: Row[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      for (const config of CONFIGS) rows.push(...(await measureConfig(round, config, stackEnv, replicaPort, stack, logs, body)));
    }
    log('\n| load | log on: p50 / p90 / p99 ms (request thread) | log off: p50 / p90 / p99 ms (request thread) |\n| --- | --- | --- |');
    for (const load of LOADS.map((l) => `${Math.round(l * 100)}%`)) {
      const cell = (config: string) => rows.filter((r) => r.config === config && r.load === load)
        .map((r) => `${r.p50.toFixed(1)} / ${r.p90.toFixed(1)} / **${r.p99.toFixed(1)}** at ${r.rate}/s (${Math.round(r.thread * 100)}%)`).join('; ');
      log(`| ${load} | ${cell('log on')} | ${cell('log off')} |`);
    }
  } catch (err) {
    failed = true;
    console.error(err);
    console.error(`logs: ${logs}`);
  } finally {
    await stopAll();
    if (!failed) fs.rmSync(work, { recursive: true, force: true });
  }
  process.exitCode = failed ? 1 : 0;
}

void main();
