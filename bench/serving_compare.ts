/**
 * The serving benchmark's own load against two (or more) checkouts side by side: single-row requests to the
 * 30-feature breast-cancer model on `mlops up`, each checkout serving from its own build, in alternating
 * turns so a busy moment of the (shared) machine falls on all of them alike.
 *
 *   git -C <repo> worktree add --detach /tmp/bench-before 3348e11 && (cd /tmp/bench-before && npm ci && npm run build)
 *   git -C <repo> worktree add --detach /tmp/bench-after main && (cd /tmp/bench-after && npm ci && npm run build)
 *   SERVING_REPOS=/tmp/bench-before,/tmp/bench-after SERVING_TURNS=3 node --import tsx bench/serving_compare.ts
 *
 * Each checkout's stack: `node bin/mlops.js up` from that checkout (its dist/, its node_modules, cwd in it)
 * on a fresh data directory with its own ports (API, Temporal, Temporal UI, embedded store), to GET /readyz
 * 200; then the pipeline trains and deploys the model on the checkout's copy of the CSV (automatic
 * approval; the ONNX digests are compared, so every checkout serves the same bytes). The phases, with the
 * load of bench/serving.ts (autocannon 9 in this process, 16 connections, pipelining 1, latencies per
 * response):
 *   peak   single rows at full speed, 10 s after a 2 s warm-up
 *   rate   single rows at one fixed rate for every checkout and turn (autocannon overallRate; default 70% of
 *          the first peak measured, SERVING_RATE to set it), 10 s on the warm server
 *   batch  100-row requests at full speed, 10 s after a 2 s warm-up (rows/s, and how many of them the
 *          prediction log kept rather than dropped for falling behind)
 *   batch-rate (optional, SERVING_BATCH_RATE) 100-row requests at a fixed rate, 10 s after a 2 s warm-up
 * After each phase the stack is left to settle (its CPU under a fifth of a core, at most 15 s), so a
 * backlog it writes does not fall on the next phase. Printed per phase besides the rates and percentiles:
 * the stack's CPU (API process by thread, store, Temporal) and per request, the generator's, what other
 * work on the machine used, the API's event-loop delay, and the server's own predict time and rows per
 * ONNX run.
 *
 * By default every checkout's stack is up at once and each phase alternates between them (turn t: the given
 * order when t is odd, reversed when even), so the two figures of a pair are seconds apart; an idle stack's
 * own CPU meanwhile is printed. SERVING_FRESH=1 instead starts a fresh stack per checkout and turn and runs
 * its phases alone (the pair then a minute apart). Ctrl-C (SIGINT) stops each stack at the end; its
 * data directory is removed.
 *
 * Settings (environment): SERVING_REPOS (comma-separated checkouts, default this one), SERVING_TURNS (3),
 * SERVING_SECONDS (10), SERVING_CONNECTIONS (16), SERVING_RATE (req/s of the rate phase),
 * SERVING_BATCH_RATE (adds a phase `batch-rate`: 100-row requests at this many a second, autocannon
 * overallRate, on the warm server: how many of the rows offered the prediction log keeps),
 * SERVING_PHASES (which phases, in order, comma-separated; default peak,rate,batch[,batch-rate]),
 * TEMPORAL_CLI_PATH (default this repo's .cache/tools copy, so no turn downloads it),
 * SERVING_CPU_PROF=<dir> (each stack under --cpu-prof into <dir>/<all|t<turn>>-<checkout>, with phases.json for
 * bench/serving_profile.ts; rates are then distorted), SERVING_KEEP_LOGS=1 (keep the stacks' logs).
 * MLflow is not involved. Figures: bench/RESULTS.md.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { Child, freePorts, log, machineBusy, machineTicks, MODEL, percentile, readDataset, ROOT, sleep, startChild, stopAll, tail, TARGET, temporalCli, treeCpuSeconds, waitForHttp } from './harness';

const REPOS = (process.env.SERVING_REPOS ?? ROOT).split(',').filter(Boolean).map((r) => path.resolve(r));
const TURNS = Number(process.env.SERVING_TURNS ?? 3);
const SECONDS = Number(process.env.SERVING_SECONDS ?? 10);
const WARMUP_SECONDS = 2;
const CONNECTIONS = Number(process.env.SERVING_CONNECTIONS ?? 16);
const BATCH = 100;
const BENCH_ADMIN_KEY = 'bench-admin-key-0123456789';
/** A fresh stack per checkout and turn, alone, instead of all stacks up at once with their phases alternating. */
const FRESH = process.env.SERVING_FRESH === '1';
const PROF = process.env.SERVING_CPU_PROF ? path.resolve(process.env.SERVING_CPU_PROF) : undefined;

// ------------------------------------------------------------------ load (as bench/serving.ts measures)

interface Result {
  rps: number;
  rows: number;
  p50: number;
  p99: number;
  max: number;
  ok: number;
  failed: number;
  /** The stack's process tree (API, worker, store, Temporal), in cores. */
  serverCpu: number;
  /** All cores together, 0..1, whoever used them. */
  machineCpu: number;
  /** This process (the load generator), in cores. */
  genCpu: number;
  /** What neither the stack nor the generator used (other people's work on the machine), in cores. */
  othersCpu: number;
  /** From the server's /metrics over the measured phase. */
  predictMs: number;
  rowsPerRun: number;
  logDropped: number;
  /** Rows per second the prediction log kept (served rows less those it dropped because it fell behind). */
  loggedRows: number;
  /** The stack's CPU by part, in cores. */
  split: string;
  /** The API's event-loop delay over the phase, mean and p99, ms. */
  lagMean: number;
  lagP99: number;
}

class Latencies {
  private values = new Float64Array(1 << 16);
  n = 0;
  add(ms: number): void {
    if (this.n === this.values.length) { const bigger = new Float64Array(this.n * 2); bigger.set(this.values); this.values = bigger; }
    this.values[this.n++] = ms;
  }
  summary(): { p50: number; p99: number; max: number } {
    const sorted = this.values.slice(0, this.n).sort();
    return { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), max: sorted[sorted.length - 1] ?? NaN };
  }
}

interface LoadOptions { url: string; body: string; seconds: number; overallRate?: number }

function cannon(o: LoadOptions, onResponse?: (status: number, ms: number) => void): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const instance = autocannon({
      url: o.url, method: 'POST', headers: { 'content-type': 'application/json' }, body: o.body,
      connections: CONNECTIONS, pipelining: 1, duration: o.seconds, ...(o.overallRate ? { overallRate: o.overallRate } : {}),
    }, (err, result) => (err ? reject(err) : resolve(result)));
    if (onResponse) instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => onResponse(status, ms));
  });
}

/** The server's own counters; the event-loop delay figures cover the time since the previous scrape (prom-client resets them). */
async function metricsOf(base: string): Promise<{ latencySum: number; latencyCount: number; logDropped: number; runCount: number; runRows: number; lagMean: number; lagP99: number }> {
  const text = await fetch(`${base}/metrics`).then((r) => r.text());
  const total = (name: string) => text.split('\n').filter((l) => l.startsWith(name)).reduce((s, l) => s + Number(l.split(' ').pop()), 0);
  return {
    latencySum: total('mlops_predict_latency_seconds_sum'), latencyCount: total('mlops_predict_latency_seconds_count'), logDropped: total('mlops_prediction_log_dropped'),
    runCount: total('mlops_inference_batch_rows_count'), runRows: total('mlops_inference_batch_rows_sum'),
    lagMean: total('nodejs_eventloop_lag_mean_seconds') * 1000, lagP99: total('nodejs_eventloop_lag_p99_seconds') * 1000,
  };
}

const monoUs = () => Number(process.hrtime.bigint() / 1000n);

/**
 * CPU ticks of everything in a stack, by thread of the `mlops up` process and by descendant process (with
 * what its exited children used): which part of the stack the time went to. Node names no thread, so the
 * API process is split into its main thread (the request thread), its busiest other thread (with PGlite in
 * a worker thread, that one) and the rest.
 */
function stackTicks(root: number): Map<string, { group: string; ticks: number }> {
  const procs = new Map<number, { ppid: number; comm: string; ticks: number }>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const text = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
      procs.set(Number(entry), { ppid: Number(f[1]), comm: text.slice(text.indexOf('(') + 1, text.lastIndexOf(')')), ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) });
    } catch { /* exited meanwhile */ }
  }
  const out = new Map<string, { group: string; ticks: number }>();
  const queue = [root];
  while (queue.length) {
    const pid = queue.pop()!;
    if (pid === root) {
      for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
        try {
          const text = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
          const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
          out.set(`t${tid}`, { group: Number(tid) === root ? 'main' : 'thread', ticks: Number(f[11]) + Number(f[12]) });
        } catch { /* ended meanwhile */ }
      }
    } else {
      const p = procs.get(pid);
      if (p) out.set(`p${pid}`, { group: p.comm.startsWith('postgres') ? 'postgres' : p.comm.startsWith('temporal') ? 'temporal' : p.comm, ticks: p.ticks });
    }
    for (const [child, p] of procs) if (p.ppid === pid) queue.push(child);
  }
  return out;
}

/** Cores per part of the stack between two readings of stackTicks. */
function cpuSplit(a: Map<string, { group: string; ticks: number }>, b: Map<string, { group: string; ticks: number }>, seconds: number): string {
  const groups = new Map<string, number>();
  const threads: number[] = [];
  for (const [key, v] of b) {
    const d = v.ticks - (a.get(key)?.ticks ?? 0);
    if (v.group === 'thread') threads.push(d);
    else groups.set(v.group, (groups.get(v.group) ?? 0) + d);
  }
  threads.sort((x, y) => y - x);
  const cores = (ticks: number) => (ticks / 100 / seconds).toFixed(2);
  const parts = [`API main thread ${cores(groups.get('main') ?? 0)}`, `its busiest other thread ${cores(threads[0] ?? 0)}`, `its other threads ${cores(threads.slice(1).reduce((x, y) => x + y, 0))}`];
  for (const [group, ticks] of groups) if (group !== 'main') parts.push(`${group} ${cores(ticks)}`);
  return parts.join(', ');
}

/** A warm-up (unless `warmup` is false), then the measured phase, with the server's own metrics around it. */
async function measure(base: string, o: LoadOptions & { rowsPerRequest: number; serverPid: number }, warmup: boolean, phases: { label: string; startUs: number; endUs: number }[], label: string): Promise<Result> {
  if (warmup) await cannon({ ...o, seconds: WARMUP_SECONDS });
  const m0 = await metricsOf(base);
  const lat = new Latencies();
  let ok = 0;
  let failed = 0;
  const cpu0 = treeCpuSeconds(o.serverPid, true);
  const split0 = stackTicks(o.serverPid);
  const machine0 = machineTicks();
  const gen0 = process.cpuUsage();
  const t0 = performance.now();
  const startUs = monoUs();
  const result = await cannon(o, (status, ms) => {
    if (status >= 200 && status < 300) { ok++; lat.add(ms); } else failed++;
  });
  phases.push({ label, startUs, endUs: monoUs() });
  const elapsed = (performance.now() - t0) / 1000;
  const serverCpu = (treeCpuSeconds(o.serverPid, true) - cpu0) / elapsed;
  const split = cpuSplit(split0, stackTicks(o.serverPid), elapsed);
  const machineCpu = machineBusy(machine0, machineTicks());
  const gen = process.cpuUsage(gen0);
  const genCpu = (gen.user + gen.system) / 1e6 / elapsed;
  const m1 = await metricsOf(base);
  const duration = result.duration || elapsed;
  const handled = m1.latencyCount - m0.latencyCount;
  const runs = m1.runCount - m0.runCount;
  return {
    rps: ok / duration, rows: (ok * o.rowsPerRequest) / duration, ...lat.summary(), ok, failed: failed + result.errors + result.timeouts,
    serverCpu, machineCpu, genCpu, othersCpu: Math.max(0, machineCpu * os.cpus().length - serverCpu - genCpu),
    predictMs: ((m1.latencySum - m0.latencySum) / Math.max(1, handled)) * 1000,
    rowsPerRun: (m1.runRows - m0.runRows) / Math.max(1, runs),
    logDropped: m1.logDropped - m0.logDropped,
    loggedRows: (ok * o.rowsPerRequest - (m1.logDropped - m0.logDropped)) / duration,
    split, lagMean: m1.lagMean, lagP99: m1.lagP99,
  };
}

// ------------------------------------------------------------------------------------------ a stack

async function api<T>(base: string, method: string, route: string, body?: unknown): Promise<T> {
  const res = await fetch(`${base}${route}`, {
    method, headers: { authorization: `Bearer ${BENCH_ADMIN_KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${route} -> ${res.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text) as T;
}

type Kind = 'peak' | 'rate' | 'batch' | 'batch-rate';
/** Requests/s of an optional fourth phase: 100-row requests at a fixed rate (what the prediction log keeps of a load it is offered). */
const BATCH_RATE = process.env.SERVING_BATCH_RATE ? Number(process.env.SERVING_BATCH_RATE) : undefined;
const KINDS = (process.env.SERVING_PHASES?.split(',') ?? ['peak', 'rate', 'batch', ...(BATCH_RATE ? ['batch-rate'] : [])]) as Kind[];
for (const k of KINDS) if (!['peak', 'rate', 'batch', 'batch-rate'].includes(k) || (k === 'batch-rate' && !BATCH_RATE)) throw new Error(`SERVING_PHASES: unknown phase "${k}" (peak, rate, batch, batch-rate with SERVING_BATCH_RATE)`);

interface Stack {
  repo: string;
  name: string;
  base: string;
  pid: number;
  up: Child;
  dataDir: string;
  logFile: string;
  profDir?: string;
  phases: { label: string; startUs: number; endUs: number }[];
  readyS: number;
  trainS: number;
  digest: string;
}

interface Phase extends Result { repo: string; turn: number; kind: Kind; load1: number; readyS: number; stackCpuIdle: number }

function describe(repo: string): string {
  const git = (...args: string[]) => spawnSync('git', ['-C', repo, ...args], { encoding: 'utf8' }).stdout.trim();
  return `${path.basename(repo)} (${git('rev-parse', '--short', 'HEAD') || '?'})`;
}

let rate = process.env.SERVING_RATE ? Number(process.env.SERVING_RATE) : undefined;
if (KINDS.includes('rate') && rate === undefined && !(KINDS.includes('peak') && KINDS.indexOf('peak') < KINDS.indexOf('rate'))) throw new Error('the rate phase needs SERVING_RATE or a peak phase before it');
const { instances } = readDataset();
const BODY = { peak: JSON.stringify({ instances: [instances[0]] }), rate: JSON.stringify({ instances: [instances[0]] }), batch: JSON.stringify({ instances: instances.slice(0, BATCH) }), 'batch-rate': JSON.stringify({ instances: instances.slice(0, BATCH) }) };

/** `mlops up` from the checkout on a fresh data dir with its own ports, to /readyz 200; then the model trained and deployed. */
async function startStack(repo: string, profTag: string): Promise<Stack> {
  const name = path.basename(repo);
  // the data dir straight under /tmp: as root, the store's account must be able to enter every folder above it
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `mlops-serving-cmp-${name}-`));
  const logFile = `${dataDir}.log`;
  const [apiPort, temporalPort, uiPort, pgPort] = await freePorts(4);
  const env: NodeJS.ProcessEnv = {
    ...process.env, MLOPS_DATA_DIR: dataDir, MLOPS_ADMIN_KEY: BENCH_ADMIN_KEY, MLOPS_API_PORT: String(apiPort), MLOPS_TEMPORAL_PORT: String(temporalPort),
    MLOPS_TEMPORAL_UI_PORT: String(uiPort), MLOPS_PG_PORT: String(pgPort), MLOPS_PGLITE_PORT: String(pgPort),
    ...(temporalCli() ? { TEMPORAL_CLI_PATH: temporalCli() } : {}),
  };
  // the embedded stack, whatever the caller's shell points at
  delete env.DATABASE_URL;
  delete env.TEMPORAL_ADDRESS;
  const profDir = PROF ? path.join(PROF, `${profTag}-${name}`) : undefined;
  if (profDir) fs.mkdirSync(profDir, { recursive: true });
  const t0 = performance.now();
  const up = startChild(`mlops up (${name})`, process.execPath, [...(profDir ? ['--cpu-prof', '--cpu-prof-dir', profDir] : []), path.join(repo, 'bin', 'mlops.js'), 'up'], env, logFile, 'SIGINT', repo);
  const stack: Stack = { repo, name, base: `http://127.0.0.1:${apiPort}`, pid: up.proc.pid!, up, dataDir, logFile, profDir, phases: [], readyS: NaN, trainS: NaN, digest: '' };
  try {
    await waitForHttp(`${stack.base}/readyz`, up, 300_000, logFile);
    stack.readyS = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    const csv = path.join(repo, 'datasets', 'breast-cancer-wisconsin.csv');
    const { id } = await api<{ id: string }>(stack.base, 'POST', '/v1/pipelines', { model: MODEL, data: { uri: csv }, target: TARGET, approval: { mode: 'auto' } });
    let state = 'running';
    for (const deadline = Date.now() + 300_000; !['deployed', 'rejected', 'failed'].includes(state);) {
      if (Date.now() > deadline) throw new Error(`pipeline ${id} still ${state} after 300 s`);
      await sleep(50);
      state = (await api<{ state: string }>(stack.base, 'GET', `/v1/pipelines/${id}`)).state;
    }
    if (state !== 'deployed') throw new Error(`pipeline ${id} ended ${state}`);
    stack.digest = (await api<{ onnxDigest: string }>(stack.base, 'GET', `/v1/models/${MODEL}/versions/1`)).onnxDigest;
    stack.trainS = (performance.now() - t1) / 1000;
    await api(stack.base, 'POST', `/v1/models/${MODEL}/predict`, { instances: [instances[0]] });
    log(`  ${name}: ready in ${stack.readyS.toFixed(1)} s, deployed in ${stack.trainS.toFixed(1)} s (ONNX ${stack.digest.slice(0, 12)}); load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    return stack;
  } catch (err) {
    log(`  ${name} failed to start; its log (${logFile}) ends:\n${tail(logFile)}`);
    await stopStack(stack);
    throw err;
  }
}

async function stopStack(stack: Stack): Promise<number> {
  const t = performance.now();
  await stack.up.stop();
  const stopS = (performance.now() - t) / 1000;
  if (stack.profDir) fs.writeFileSync(path.join(stack.profDir, 'phases.json'), JSON.stringify(stack.phases, null, 1));
  fs.rmSync(stack.dataDir, { recursive: true, force: true });
  if (!process.env.SERVING_KEEP_LOGS) fs.rmSync(stack.logFile, { force: true });
  return stopS;
}

/** Waits (up to 15 s) until the stack's CPU falls below a fifth of a core: the prediction log's backlog written, say. */
async function settle(stack: Stack): Promise<void> {
  for (const deadline = Date.now() + 15_000; Date.now() < deadline;) {
    const c0 = treeCpuSeconds(stack.pid, true);
    await sleep(500);
    if ((treeCpuSeconds(stack.pid, true) - c0) / 0.5 < 0.2) return;
  }
}

async function runPhase(stack: Stack, kind: Kind, turn: number, others: Stack[]): Promise<Phase> {
  const load1 = os.loadavg()[0];
  const url = `${stack.base}/v1/models/${MODEL}/predict`;
  const idle0 = others.reduce((s, o) => s + treeCpuSeconds(o.pid, true), 0);
  const t0 = performance.now();
  const r = await measure(stack.base, {
    url, body: BODY[kind], seconds: SECONDS, rowsPerRequest: kind.startsWith('batch') ? BATCH : 1, serverPid: stack.pid,
    ...(kind === 'rate' ? { overallRate: rate } : kind === 'batch-rate' ? { overallRate: BATCH_RATE } : {}),
  }, kind !== 'rate', stack.phases, `t${turn} ${kind} ${stack.name}`);
  const stackCpuIdle = (others.reduce((s, o) => s + treeCpuSeconds(o.pid, true), 0) - idle0) / ((performance.now() - t0) / 1000);
  if (kind === 'peak' && rate === undefined) {
    rate = Math.max(100, Math.round((r.rps * 0.7) / 100) * 100);
    log(`  the rate phase runs at ${rate} req/s for every checkout and turn (70% of this first peak, rounded)`);
  }
  const what = kind.startsWith('batch') ? `${n0(r.rows)} rows/s (logged ${n0(r.loggedRows)})` : `${n0(r.rps)} req/s`;
  log(`  turn ${turn} ${kind} ${stack.name}: ${what}, p50 ${n2(r.p50)} / p99 ${n2(r.p99)} ms, ${r.failed} failed; stack ${n2(r.serverCpu)} cores (${n0((r.serverCpu / Math.max(1, r.rps)) * 1e6)} µs a request), generator ${n2(r.genCpu)}, others ${n2(r.othersCpu)}${others.length ? ` (of which the idle stack ${n2(stackCpuIdle)})` : ''}; load average ${load1.toFixed(2)}`);
  log(`    stack CPU by part, cores: ${r.split}; API event-loop delay mean ${n2(r.lagMean)} / p99 ${n2(r.lagP99)} ms`);
  await settle(stack);
  return { ...r, repo: stack.repo, turn, kind, load1, readyS: stack.readyS, stackCpuIdle };
}

/** Checkouts in the given order on odd turns, reversed on even ones. */
const orderOf = <T>(xs: T[], turn: number) => (turn % 2 ? xs : [...xs].reverse());

// ------------------------------------------------------------------------------------------- report

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); const m = Math.floor(s.length / 2); return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const n0 = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '-');
const n2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '-');
const pctOf = (x: number) => `${Math.round(x * 100)}%`;

async function main(): Promise<void> {
  for (const repo of REPOS) if (!fs.existsSync(path.join(repo, 'dist', 'src', 'cli.js'))) throw new Error(`${repo} has no build: run npm ci && npm run build there`);
  const started = Date.now();
  log(`serving side by side: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}; load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  log(`checkouts: ${REPOS.map(describe).join(', ')}; ${TURNS} turns; phases ${SECONDS} s (peak and batch after a ${WARMUP_SECONDS} s warm-up); autocannon, ${CONNECTIONS} connections, pipelining 1, in this process`);
  const results: Phase[] = [];
  const digests = new Set<string>();
  const failures: string[] = [];
  if (FRESH) {
    // a fresh stack per checkout and turn, alone on the machine (with whatever else runs there)
    for (let turn = 1; turn <= TURNS; turn++) {
      for (const repo of orderOf(REPOS, turn)) {
        log(`turn ${turn}, ${path.basename(repo)}: load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
        try {
          const stack = await startStack(repo, `t${turn}`);
          digests.add(stack.digest);
          try {
            for (const kind of KINDS) results.push(await runPhase(stack, kind, turn, []));
          } finally {
            log(`  stopped in ${(await stopStack(stack)).toFixed(1)} s`);
          }
        } catch (err) {
          failures.push(`turn ${turn} ${path.basename(repo)}: ${(err as Error).message.split('\n')[0]}`);
          log(`  FAILED: ${(err as Error).message.split('\n')[0]}`);
        }
      }
    }
  } else {
    // every checkout's stack up at once, the phases alternating between them: each pair seconds apart
    const stacks: Stack[] = [];
    try {
      for (const repo of REPOS) {
        log(`starting ${path.basename(repo)}: load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
        const stack = await startStack(repo, 'all');
        stacks.push(stack);
        digests.add(stack.digest);
      }
      for (let turn = 1; turn <= TURNS; turn++) {
        for (const kind of KINDS) {
          for (const stack of orderOf(stacks, turn)) results.push(await runPhase(stack, kind, turn, stacks.filter((s) => s !== stack)));
        }
      }
    } catch (err) {
      failures.push((err as Error).message.split('\n')[0]);
      log(`FAILED: ${(err as Error).message.split('\n')[0]}`);
    } finally {
      for (const stack of stacks) log(`${stack.name} stopped in ${(await stopStack(stack)).toFixed(1)} s`);
    }
  }

  const get = (repo: string, kind: Kind) => results.filter((r) => r.repo === repo && r.kind === kind);
  const us = (r: Phase) => (r.serverCpu / Math.max(1, r.rps)) * 1e6;
  log('');
  log(`${os.cpus().length} cores, Node ${process.version}; ${FRESH ? 'a fresh stack per checkout and turn' : 'both stacks up, phases alternating'}; ${TURNS} turns each; phases ${KINDS.join(', ')}${rate === undefined ? '' : `; rate phase ${rate} req/s`}${BATCH_RATE ? `; batch-rate phase ${BATCH_RATE} req/s` : ''}; ONNX served: ${digests.size === 1 ? `the same bytes everywhere (sha256 ${[...digests][0].slice(0, 16)}...)` : `DIFFERENT digests: ${[...digests].join(', ')}`}`);
  if (KINDS.some((k) => k !== 'batch-rate')) {
  log('');
  log(`| checkout | peak req/s, median (turns) | p50 ms | p99 ms | errors | stack CPU µs a request at peak | at ${rate}/s: p50 / p99 ms | at ${rate}/s: stack CPU µs a request | ${BATCH}-row batches: rows/s served / logged, p99 ms |`);
  log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const repo of REPOS) {
    const [peak, atRate, batch] = (['peak', 'rate', 'batch'] as const).map((k) => get(repo, k));
    if (!results.some((r) => r.repo === repo)) { log(`| ${describe(repo)} | no turn finished | | | | | | | |`); continue; }
    const errors = results.filter((r) => r.repo === repo).reduce((s, r) => s + r.failed, 0);
    log(`| ${describe(repo)} | ${n0(median(peak.map((r) => r.rps)))} (${peak.map((r) => n0(r.rps)).join(', ')}) | ${n2(median(peak.map((r) => r.p50)))} | ${n2(median(peak.map((r) => r.p99)))} | ${errors} | ${n0(median(peak.map(us)))} | ${n2(median(atRate.map((r) => r.p50)))} / ${n2(median(atRate.map((r) => r.p99)))} | ${n0(median(atRate.map(us)))} | ${n0(median(batch.map((r) => r.rows)))} / ${n0(median(batch.map((r) => r.loggedRows)))}, ${n2(median(batch.map((r) => r.p99)))} |`);
  }
  }
  log('');
  log('| turn | phase | checkout | load avg (1 min) | req/s | rows/s (logged) | p50 / p99 ms | errors | stack / generator / others CPU, cores | stack CPU µs a request | predict ms, rows per ONNX run | API event-loop delay p99 ms |');
  log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of results) {
    log(`| ${r.turn} | ${r.kind} | ${path.basename(r.repo)} | ${r.load1.toFixed(2)} | ${n0(r.rps)} | ${n0(r.rows)} (${n0(r.loggedRows)}) | ${n2(r.p50)} / ${n2(r.p99)} | ${r.failed} | ${n2(r.serverCpu)} / ${n2(r.genCpu)} / ${n2(r.othersCpu)} | ${n0(us(r))} | ${r.predictMs.toFixed(3)}, ${r.rowsPerRun.toFixed(1)} | ${n2(r.lagP99)} |`);
  }
  if (BATCH_RATE) {
    log('');
    for (const repo of REPOS) {
      const br = get(repo, 'batch-rate');
      log(`${describe(repo)}, ${BATCH}-row requests at ${BATCH_RATE}/s (${n0(BATCH_RATE * BATCH)} rows/s offered): served ${br.map((r) => n0(r.rows)).join(', ')} rows/s, logged ${br.map((r) => n0(r.loggedRows)).join(', ')} (median ${n0(median(br.map((r) => r.loggedRows)))}), p99 ${br.map((r) => n2(r.p99)).join(', ')} ms`);
    }
  }
  if (REPOS.length === 2) {
    const [a, b] = REPOS;
    log('');
    const pairs: string[] = [];
    for (let turn = 1; turn <= TURNS; turn++) {
      const at = (repo: string, kind: Kind) => results.find((r) => r.repo === repo && r.turn === turn && r.kind === kind);
      const [pa, pb, ra, rb, ba, bb] = [at(a, 'peak'), at(b, 'peak'), at(a, 'rate'), at(b, 'rate'), at(a, 'batch'), at(b, 'batch')];
      if (pa && pb && ra && rb && ba && bb) pairs.push(`turn ${turn}: peak ${pctOf(pb.rps / pa.rps)} (CPU a request ${pctOf(us(pb) / us(pa))}), p99 at ${rate}/s ${n2(ra.p99)} -> ${n2(rb.p99)} ms, batches ${pctOf(bb.rows / ba.rows)}`);
    }
    if (pairs.length) log(`${path.basename(b)} against ${path.basename(a)}, turn by turn: ${pairs.join('; ')}`);
  }
  for (const f of failures) log(`- failed: ${f}`);
  log(`total ${((Date.now() - started) / 1000).toFixed(0)} s; load average now ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  if (PROF) log(`CPU profiles per stack in ${PROF}/<all|t<turn>>-<checkout>: node --import tsx bench/serving_profile.ts <that dir>`);
  if (failures.length) process.exitCode = 1;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => { log(`${signal}: stopping the stacks...`); void stopAll().finally(() => process.exit(130)); });
}

main().catch(async (err) => {
  console.error(err);
  await stopAll();
  process.exitCode = 1;
});
