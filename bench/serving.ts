/**
 * Serving throughput and latency, side by side in one run on one machine: single-row requests to the
 * 30-feature breast-cancer model.
 *
 *   npm ci                                                   (autocannon is a devDependency)
 *   python3 -m pip install --target /tmp/pyref-mlflow mlflow scikit-learn
 *   PYTHONPATH=/tmp/pyref-mlflow node --import tsx bench/serving.ts            (about 6 minutes)
 *
 * Without mlflow importable (no PYTHONPATH, or the install failed) the mlflow rows are skipped and the
 * reason is printed. Settings (environment): SERVING_SECONDS (each measured phase, default 10),
 * SERVING_ROUNDS (turns of cases 1, 1b and 2 at peak, default 3; their medians are compared),
 * SERVING_CONNECTIONS (default 16), TEMPORAL_CLI_PATH (else the repo's .cache/tools copy, else the stack
 * installs it), SERVING_CPU_PROF=<dir> (run `mlops up` and `mlops api` under --cpu-prof, then read the
 * profiles per phase with bench/serving_profile.ts; figures are then distorted),
 * SERVING_KEEP_LOGS=1 (keep the children's logs), SERVING_TRACING=1 or =only (also, or only, case 2t: the untraced `mlops api`
 * against two traced ones, in SERVING_ROUNDS turns: the default sampling, where 1% of the predicts that
 * begin a trace are kept, and every predict traced (MLOPS_TRACE_PREDICT_SAMPLE=1); they send their spans
 * over OTLP http/protobuf to a real OpenTelemetry Collector started here, scripts/otel-collector.sh).
 *
 * Cases:
 *   1. bare Express answering {"ok":true} after express.json() parsed the same body (bench/serving_express.ts)
 *   1b. the smallest Express + onnxruntime-node server one could write (bench/serving_prototype.ts): the same
 *      body and ONNX file, no validation beyond types, no routing, logging or metrics
 *   2. our POST /v1/models/cancer/predict on `mlops up` (validation, routing, prediction log, statistics
 *      and Prometheus metrics on: the defaults), at peak; then at 70% of that peak with autocannon's
 *      `overallRate` (the tail under evenly paced load, with native generators, is bench/serving_tail.ts)
 *   3. in-process onnxruntime-node `session.run` on the same ONNX bytes, single-row runs back to back
 *   4. `mlflow models serve` (default: one uvicorn worker, --env-manager local) with a scikit-learn
 *      LogisticRegression on standardised features trained on the same CSV (bench/serving_mlflow.py)
 *   5. 100-row batches to our predict (and to mlflow), as rows per second
 *   cases 1, 1b and 2 at peak run in turns, SERVING_ROUNDS times, so the machine's drift moves them alike
 *   controls and diagnostics: bare Express at the same 70% rate (1c) (what the HTTP layer, the
 *   generator and the shared 2 cores alone do to the tail); our predict on a separate `mlops api` process, with PGlite, the
 *   worker and Temporal left in `mlops up`; per phase, the mean time inside ModelServer.predict and the
 *   prediction-log entries dropped, read from the server's /metrics
 *
 * Every server runs in its own process; the load generator (autocannon, programmatic, connections 16,
 * pipelining 1) runs in this process, on the same 2 cores. Each full-load phase follows a 2 s warm-up at
 * full load (the 70% phases follow the peak phase on a warm server). Latencies are recorded per response in milliseconds with decimals (autocannon's own
 * histogram keeps whole milliseconds only). Note that autocannon's rate limit is a per-second quota per
 * connection: each second opens with the connections sending back to back until the quota is used, so its
 * "70%" run is bursty, and it times each request from when it was sent, not from when it was due.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { CSV, freePorts, Instance, log, machineBusy, machineTicks, MODEL, percentile, readDataset, ROOT, sleep, startChild, stopAll, TARGET, temporalCli, treeCpuSeconds, waitForHttp } from './harness';
import { createSession } from '../src/serving/onnx-runner';
import { instancesToFeeds } from '../src/serving/instances';
import type { ModelSignature } from '../src/domain/model-version';
import { startCollector } from '../test/helpers/otel-collector';


const SECONDS = Number(process.env.SERVING_SECONDS ?? 10);
/** Turns of bare Express, prototype and ours at peak (their median is compared). */
const ROUNDS = Number(process.env.SERVING_ROUNDS ?? 3);
const WARMUP_SECONDS = 2;
const CONNECTIONS = Number(process.env.SERVING_CONNECTIONS ?? 16);
const BATCH = 100;
/** The admin key of the benchmark's stacks (predict itself is open, as by default). */
const BENCH_ADMIN_KEY = 'bench-admin-key-0123456789';


interface Result {
  label: string;
  rps: number;
  rows: number;
  p50: number;
  p99: number;
  max: number;
  ok: number;
  failed: number;
  serverCpu?: number;
  genCpu?: number;
  machineCpu?: number;
  note?: string;
}

/** The children's logs, kept when the run fails. */
let logsDir: string | undefined;

/** When SERVING_CPU_PROF is set: phase boundaries on the monotonic clock V8's profiler uses (microseconds). */
const phases: { label: string; startUs: number; endUs: number }[] = [];
const monoUs = () => Number(process.hrtime.bigint() / 1000n);

// ----------------------------------------------------------------------------------------------- load

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
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

interface LoadOptions { url: string; body: string; seconds: number; rows: number; overallRate?: number; serverPid?: number }

function cannon(o: LoadOptions, onResponse?: (status: number, ms: number) => void): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const instance = autocannon({
      url: o.url, method: 'POST', headers: { 'content-type': 'application/json' }, body: o.body,
      connections: CONNECTIONS, pipelining: 1, duration: o.seconds, ...(o.overallRate ? { overallRate: o.overallRate } : {}),
    }, (err, result) => (err ? reject(err) : resolve(result)));
    if (onResponse) instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => onResponse(status, ms));
  });
}

/** autocannon at full speed (or at overallRate): a warm-up, then the measured phase. */
async function measure(label: string, o: LoadOptions, warmup = true): Promise<Result> {
  if (warmup) await cannon({ ...o, seconds: WARMUP_SECONDS });
  const lat = new Latencies();
  let ok = 0;
  let failed = 0;
  const cpu0 = o.serverPid ? treeCpuSeconds(o.serverPid) : 0;
  const gen0 = process.cpuUsage();
  const machine0 = machineTicks();
  const t0 = performance.now();
  const startUs = monoUs();
  const result = await cannon(o, (status, ms) => {
    if (status >= 200 && status < 300) { ok++; lat.add(ms); } else failed++;
  });
  phases.push({ label, startUs, endUs: monoUs() });
  const elapsed = (performance.now() - t0) / 1000;
  const gen = process.cpuUsage(gen0);
  const machineCpu = machineBusy(machine0, machineTicks());
  const duration = result.duration || elapsed;
  const s = lat.summary();
  return {
    label, rps: ok / duration, rows: (ok * o.rows) / duration, ...s, ok, failed: failed + result.errors + result.timeouts,
    serverCpu: o.serverPid ? (treeCpuSeconds(o.serverPid) - cpu0) / elapsed : undefined,
    genCpu: (gen.user + gen.system) / 1e6 / elapsed, machineCpu,
  };
}

// ------------------------------------------------------------------------------------ our stack (API)

async function api<T>(base: string, method: string, route: string, body?: unknown): Promise<T> {
  const res = await fetch(`${base}${route}`, {
    method, headers: { authorization: `Bearer ${BENCH_ADMIN_KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${route} -> ${res.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text) as T;
}

/** Sum and count of a Prometheus histogram (all label sets together), plus a gauge, from /metrics. */
async function metricsOf(base: string): Promise<{ latencySum: number; latencyCount: number; logDropped: number; runCount: number; runRows: number }> {
  const text = await fetch(`${base}/metrics`).then((r) => r.text());
  const total = (name: string) => text.split('\n').filter((l) => l.startsWith(name)).reduce((s, l) => s + Number(l.split(' ').pop()), 0);
  return {
    latencySum: total('mlops_predict_latency_seconds_sum'), latencyCount: total('mlops_predict_latency_seconds_count'), logDropped: total('mlops_prediction_log_dropped'),
    runCount: total('mlops_inference_batch_rows_count'), runRows: total('mlops_inference_batch_rows_sum'),
  };
}

// --------------------------------------------------------------------------------------------- mlflow

function pythonEnv(): NodeJS.ProcessEnv {
  const extraBins = (process.env.PYTHONPATH ?? '').split(path.delimiter).filter(Boolean).map((p) => path.join(p, 'bin'));
  return { ...process.env, PATH: [...extraBins, process.env.PATH ?? ''].join(path.delimiter), MLFLOW_DISABLE_TELEMETRY: 'true', DO_NOT_TRACK: '1' };
}

function mlflowUnavailable(): string | undefined {
  const probe = spawnSync('python3', ['-c', 'import mlflow, sklearn; print(mlflow.__version__)'], { env: pythonEnv(), encoding: 'utf8', timeout: 120_000 });
  if (probe.error) return `python3 could not run: ${probe.error.message}`;
  if (probe.status !== 0) return `python3 cannot import mlflow and scikit-learn (${(probe.stderr || '').trim().split('\n').pop()}); install them with \`python3 -m pip install --target /tmp/pyref-mlflow mlflow scikit-learn\` and run with PYTHONPATH=/tmp/pyref-mlflow`;
  return undefined;
}

/** Fits and saves the scikit-learn model as an MLflow model (runs while the stack starts). */
function saveMlflowModel(out: string): Promise<{ ok: true; info: Record<string, unknown> } | { ok: false; why: string }> {
  return new Promise((resolve) => {
    const proc = spawn('python3', [path.join(__dirname, 'serving_mlflow.py'), CSV, TARGET, out], { env: pythonEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d) => { stdout += d; });
    proc.stderr.on('data', (d) => { stderr += d; });
    proc.on('error', (err) => resolve({ ok: false, why: err.message }));
    proc.on('exit', (code) => {
      const line = stdout.trim().split('\n').pop() ?? '';
      if (code === 0 && line.startsWith('{')) resolve({ ok: true, info: JSON.parse(line) });
      else resolve({ ok: false, why: `bench/serving_mlflow.py exited with ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}` });
    });
  });
}

// ----------------------------------------------------------------------------------------------- main

const fmt = (x: number | undefined, digits = 0) => (x === undefined || !Number.isFinite(x) ? '-' : x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }));
const pct = (x: number | undefined) => (x === undefined ? '-' : `${Math.round(x * 100)}%`);

function table(results: Result[]): string {
  const head = ['case', 'req/s', 'rows/s', 'p50 ms', 'p99 ms', 'max ms', '2xx', 'failed', 'server CPU', 'generator CPU', 'machine CPU'];
  const rows = results.map((r) => [r.label, fmt(r.rps), fmt(r.rows), fmt(r.p50, 2), fmt(r.p99, 2), fmt(r.max, 1), fmt(r.ok), fmt(r.failed), pct(r.serverCpu), pct(r.genCpu), pct(r.machineCpu)]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  return [line(head), `| ${widths.map((w, i) => (i === 0 ? '-'.repeat(w) : `${'-'.repeat(w - 1)}:`)).join(' | ')} |`, ...rows.map(line)].join('\n');
}

/**
 * Case 2t: the untraced `mlops api` (already running at `untraced`) against two traced ones, started here
 * with OTEL_* as an operator sets them: at the default sampling (1% of the predicts that begin a trace)
 * and with every predict traced (MLOPS_TRACE_PREDICT_SAMPLE=1), measured in turns so the machine's drift
 * moves them alike; their spans go over OTLP http/protobuf to a real OpenTelemetry Collector.
 */
async function tracingPhases(o: {
  stackEnv: NodeJS.ProcessEnv; logs: string; ports: [number, number, number]; untraced: { base: string; pid: number };
  body1: string; one: Instance[]; results: Result[]; notes: string[];
}): Promise<void> {
  const [tracedPort, tracedAllPort, collectorPort] = o.ports;
  const collector = await startCollector(collectorPort);
  const tracedApi = (port: number, name: string, env: NodeJS.ProcessEnv) => {
    const logFile = path.join(o.logs, `mlops-api-${name}.log`);
    const child = startChild(`mlops api (${name})`, process.execPath, ['--import', 'tsx', path.join(ROOT, 'src', 'cli.ts'), 'api'], { ...o.stackEnv, MLOPS_API_PORT: String(port), OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint, OTEL_SERVICE_NAME: `mlops-bench-${name}`, ...env }, logFile, 'SIGINT');
    return { child, base: `http://127.0.0.1:${port}`, logFile };
  };
  const sampled = tracedApi(tracedPort, 'default', {});
  const every = tracedApi(tracedAllPort, 'every', { MLOPS_TRACE_PREDICT_SAMPLE: '1' });
  const phase = (label: string, base: string, pid: number) => measure(label, { url: `${base}/v1/models/${MODEL}/predict`, body: o.body1, seconds: SECONDS, rows: 1, serverPid: pid });
  try {
    for (const t of [sampled, every]) {
      await waitForHttp(`${t.base}/healthz`, t.child, 120_000, t.logFile);
      await api(t.base, 'POST', `/v1/models/${MODEL}/predict`, { instances: o.one });
    }
    const mine: Result[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      log(`measuring, round ${round} of ${ROUNDS}: \`mlops api\` untraced, traced at the default sampling, every predict traced...`);
      mine.push(await phase(`2t. \`mlops api\`, tracing off (round ${round})`, o.untraced.base, o.untraced.pid));
      mine.push(await phase(`2t. \`mlops api\`, tracing on, default sampling (round ${round})`, sampled.base, sampled.child.proc.pid!));
      mine.push(await phase(`2t. \`mlops api\`, tracing on, every predict traced (round ${round})`, every.base, every.child.proc.pid!));
    }
    o.results.push(...mine);
    // CPU per answered request moves less with the machine's load than the rate does
    for (const kind of ['tracing off', 'default sampling', 'every predict traced']) {
      const runs = mine.filter((r) => r.label.includes(kind));
      o.notes.push(`2t, ${kind}: server CPU per request ${runs.map((r) => fmt(((r.serverCpu ?? NaN) / r.rps) * 1e6)).join(' / ')} µs (rounds), median rate ${fmt(median(runs.map((r) => r.rps)))}/s`);
    }
    const spans = collector.spans();
    for (const name of ['default', 'every']) {
      o.notes.push(`2t: the collector received ${spans.filter((s) => s.serviceName === `mlops-bench-${name}`).length.toLocaleString('en-US')} spans from the API traced at "${name}" (2 per traced predict: the request, its inference); it ran on the same 2 cores`);
    }
  } finally {
    await sampled.child.stop();
    await every.child.stop();
    await collector.stop();
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const load = os.loadavg();
  log(`serving benchmark: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}; load average ${load.map((l) => l.toFixed(2)).join(' ')}`);
  log(`phases: ${SECONDS} s measured after ${WARMUP_SECONDS} s warm-up; autocannon ${autocannonVersion()} in this process, ${CONNECTIONS} connections, pipelining 1; servers in their own processes`);
  const { instances } = readDataset();
  const one = [instances[0]];
  const batch = instances.slice(0, BATCH);
  const results: Result[] = [];
  const notes: string[] = [];

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-serving-'));
  const dataDir = path.join(work, 'data');
  const logs = path.join(work, 'logs');
  fs.mkdirSync(logs, { recursive: true });
  logsDir = logs;
  const [apiPort, temporalPort, uiPort, pglitePort, expressPort, apiOnlyPort, mlflowPort, prototypePort, tracedPort, tracedAllPort, collectorPort] = await freePorts(11);

  const mlflowWhy = mlflowUnavailable();
  const mlflowModel = mlflowWhy ? Promise.resolve({ ok: false as const, why: mlflowWhy }) : saveMlflowModel(path.join(work, 'mlflow-model'));

  const stackEnv: NodeJS.ProcessEnv = {
    ...process.env, MLOPS_DATA_DIR: dataDir, MLOPS_ADMIN_KEY: BENCH_ADMIN_KEY, MLOPS_API_PORT: String(apiPort), MLOPS_TEMPORAL_PORT: String(temporalPort),
    MLOPS_TEMPORAL_UI_PORT: String(uiPort), MLOPS_PGLITE_PORT: String(pglitePort),
    ...(temporalCli() ? { TEMPORAL_CLI_PATH: temporalCli() } : {}),
  };
  const cpuProf = process.env.SERVING_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(process.env.SERVING_CPU_PROF)] : [];
  let onnx: Uint8Array | undefined;
  let signature: ModelSignature | undefined;
  try {
    // ---- our stack: `mlops up`, train, one prediction
    let t = Date.now();
    const upLog = path.join(logs, 'mlops-up.log');
    const up = startChild('mlops up', process.execPath, [...cpuProf, '--import', 'tsx', path.join(ROOT, 'src', 'cli.ts'), 'up'], stackEnv, upLog, 'SIGINT');
    const base = `http://127.0.0.1:${apiPort}`;
    await waitForHttp(`${base}/healthz`, up, 300_000, upLog);
    log(`mlops up (pid ${up.proc.pid}) answering at ${base} after ${((Date.now() - t) / 1000).toFixed(1)} s`);
    t = Date.now();
    const { id } = await api<{ id: string }>(base, 'POST', '/v1/pipelines', { model: MODEL, data: { uri: CSV }, target: TARGET, approval: { mode: 'auto' } });
    let state = 'running';
    for (let i = 0; !['deployed', 'rejected', 'failed'].includes(state); i++) {
      if (i > 2400) throw new Error(`pipeline ${id} still ${state} after 120 s`);
      await sleep(50);
      state = (await api<{ state: string }>(base, 'GET', `/v1/pipelines/${id}`)).state;
    }
    if (state !== 'deployed') throw new Error(`pipeline ${id} ended ${state}`);
    const version = await api<{ onnxDigest: string; signature: ModelSignature }>(base, 'GET', `/v1/models/${MODEL}/versions/1`);
    onnx = fs.readFileSync(path.join(dataDir, 'artifacts', 'sha256', version.onnxDigest.slice(0, 2), version.onnxDigest));
    signature = version.signature;
    const answer = await api<{ predictions: unknown[]; model: unknown }>(base, 'POST', `/v1/models/${MODEL}/predict`, { instances: one });
    log(`trained and deployed "${MODEL}" in ${((Date.now() - t) / 1000).toFixed(1)} s; ONNX ${onnx.length} bytes, ${signature.features.length} features; answer: ${JSON.stringify(answer).slice(0, 160)}...`);

    const predictUrl = `${base}/v1/models/${MODEL}/predict`;
    const body1 = JSON.stringify({ instances: one });
    const body100 = JSON.stringify({ instances: batch });
    log(`bodies: single row ${body1.length} bytes, ${BATCH} rows ${body100.length} bytes`);

    if (process.env.SERVING_TRACING === 'only') {
      // case 2t alone: the untraced `mlops api` against the traced ones, then the report
      const apiLog = path.join(logs, 'mlops-api.log');
      const untraced = startChild('mlops api', process.execPath, ['--import', 'tsx', path.join(ROOT, 'src', 'cli.ts'), 'api'], { ...stackEnv, MLOPS_API_PORT: String(apiOnlyPort) }, apiLog, 'SIGINT');
      const untracedBase = `http://127.0.0.1:${apiOnlyPort}`;
      await waitForHttp(`${untracedBase}/healthz`, untraced, 120_000, apiLog);
      await api(untracedBase, 'POST', `/v1/models/${MODEL}/predict`, { instances: one });
      await tracingPhases({ stackEnv, logs, ports: [tracedPort, tracedAllPort, collectorPort], untraced: { base: untracedBase, pid: untraced.proc.pid! }, body1, one, results, notes });
      await untraced.stop();
      await up.stop();
      log('');
      log(table(results));
      log('');
      for (const n of notes) log(`- ${n}`);
      log(`total ${((Date.now() - started) / 1000).toFixed(0)} s; load average now ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
      if (!process.env.SERVING_KEEP_LOGS) fs.rmSync(work, { recursive: true, force: true });
      return;
    }

    // ---- 1, 1b, 2: bare Express, the prototype and our predict at peak, in turns (ROUNDS of each), so a
    // machine that speeds up or slows down during the run (shared cores) moves all three alike
    const exLog = path.join(logs, 'express.log');
    const ex = startChild('express', process.execPath, ['--import', 'tsx', path.join(__dirname, 'serving_express.ts'), String(expressPort)], process.env, exLog, 'SIGTERM');
    await waitForHttp(`http://127.0.0.1:${expressPort}/healthz`, ex, 60_000, exLog);
    const onnxFile = path.join(work, 'model.onnx');
    fs.writeFileSync(onnxFile, onnx);
    const protoLog = path.join(logs, 'prototype.log');
    const proto = startChild('prototype', process.execPath, ['--import', 'tsx', path.join(__dirname, 'serving_prototype.ts'), String(prototypePort), onnxFile, signature.features.join(',')], process.env, protoLog, 'SIGTERM');
    await waitForHttp(`http://127.0.0.1:${prototypePort}/healthz`, proto, 60_000, protoLog);

    /** Runs one of our phases and notes what the server's own metrics saw meanwhile. */
    const ourPhase = async (run: () => Promise<Result>): Promise<Result> => {
      const before = await metricsOf(base);
      const r = await run();
      const after = await metricsOf(base);
      const handled = after.latencyCount - before.latencyCount;
      const runs = after.runCount - before.runCount;
      notes.push(`${r.label}: ModelServer.predict (validate, route, batch, run, format; mlops_predict_latency_seconds) averaged ${((after.latencySum - before.latencySum) / Math.max(1, handled) * 1000).toFixed(3)} ms over ${handled} requests, warm-up included (client p50 ${r.p50.toFixed(2)} ms); ${runs} ONNX runs, ${((after.runRows - before.runRows) / Math.max(1, runs)).toFixed(1)} rows each (micro-batching); prediction log entries dropped meanwhile: ${after.logDropped - before.logDropped}`);
      return r;
    };
    for (let round = 1; round <= ROUNDS; round++) {
      const suffix = ROUNDS > 1 ? ` (round ${round})` : '';
      log(`measuring, round ${round} of ${ROUNDS}: bare Express, the prototype, our predict at peak...`);
      results.push(await measure(`1. bare Express, constant JSON${suffix}`, { url: `http://127.0.0.1:${expressPort}/v1/models/${MODEL}/predict`, body: body1, seconds: SECONDS, rows: 1, serverPid: ex.proc.pid }));
      results.push(await measure(`1b. Express + onnxruntime-node prototype${suffix}`, { url: `http://127.0.0.1:${prototypePort}/v1/models/${MODEL}/predict`, body: body1, seconds: SECONDS, rows: 1, serverPid: proto.proc.pid }));
      results.push(await ourPhase(() => measure(`2. our predict, peak${suffix}`, { url: predictUrl, body: body1, seconds: SECONDS, rows: 1, serverPid: up.proc.pid })));
    }
    await proto.stop();
    const ours = { rps: median(results.filter((r) => r.label.startsWith('2. ')).map((r) => r.rps)) };
    // ---- 2b: 70% of our median peak (autocannon's rate; the evenly paced tail is bench/serving_tail.ts); 1c: bare Express at the same rate
    const rate70 = Math.max(1, Math.round(ours.rps * 0.7));
    log(`measuring: our predict at 70% of peak (${rate70} req/s), autocannon overallRate...`);
    results.push(await ourPhase(() => measure(`2b. our predict, ${rate70}/s (70%), autocannon overallRate`, { url: predictUrl, body: body1, seconds: SECONDS, rows: 1, overallRate: rate70, serverPid: up.proc.pid }, false)));
    log(`measuring (control): bare Express at the same ${rate70} req/s...`);
    const exUrl = `http://127.0.0.1:${expressPort}/v1/models/${MODEL}/predict`;
    results.push(await measure(`1c. bare Express, ${rate70}/s, autocannon overallRate`, { url: exUrl, body: body1, seconds: SECONDS, rows: 1, overallRate: rate70, serverPid: ex.proc.pid }, false));
    await ex.stop();
    log(`measuring: our predict, ${BATCH}-row batches...`);
    results.push(await ourPhase(() => measure(`5. our predict, ${BATCH}-row batches`, { url: predictUrl, body: body100, seconds: SECONDS, rows: BATCH, serverPid: up.proc.pid })));

    // ---- diagnostic: the API alone in its own process (`mlops api`), PGlite, worker and Temporal in `mlops up`
    const apiOnlyLog = path.join(logs, 'mlops-api.log');
    const apiOnly = startChild('mlops api', process.execPath, [...cpuProf, '--import', 'tsx', path.join(ROOT, 'src', 'cli.ts'), 'api'], { ...stackEnv, MLOPS_API_PORT: String(apiOnlyPort) }, apiOnlyLog, 'SIGINT');
    const apiOnlyBase = `http://127.0.0.1:${apiOnlyPort}`;
    await waitForHttp(`${apiOnlyBase}/healthz`, apiOnly, 120_000, apiOnlyLog);
    await api(apiOnlyBase, 'POST', `/v1/models/${MODEL}/predict`, { instances: one });
    log('measuring (diagnostic): our predict on a separate `mlops api` process...');
    results.push(await measure('2d. our predict, `mlops api` alone (store in `up`)', { url: `${apiOnlyBase}/v1/models/${MODEL}/predict`, body: body1, seconds: SECONDS, rows: 1, serverPid: apiOnly.proc.pid }));
    if (process.env.SERVING_TRACING) await tracingPhases({ stackEnv, logs, ports: [tracedPort, tracedAllPort, collectorPort], untraced: { base: apiOnlyBase, pid: apiOnly.proc.pid! }, body1, one, results, notes });
    await apiOnly.stop();

    log('stopping mlops up...');
    t = Date.now();
    await up.stop();
    log(`  stopped in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  } finally {
    await stopAll();
  }

  // ---- 3. in-process session.run on the same ONNX bytes (nothing else running)
  log('measuring: in-process session.run...');
  const session = await createSession(onnx!);
  const inProcess = async (label: string, rows: Instance[], withFeeds: boolean, seconds: number): Promise<Result> => {
    let { feeds } = instancesToFeeds(rows, signature!, 1000);
    const warmEnd = performance.now() + 1000;
    while (performance.now() < warmEnd) session.run(feeds);
    const lat = new Latencies();
    const gen0 = process.cpuUsage();
    const t0 = performance.now();
    const end = t0 + seconds * 1000;
    for (let now = t0; now < end;) {
      if (withFeeds) feeds = instancesToFeeds(rows, signature!, 1000).feeds;
      session.run(feeds);
      const after = performance.now();
      lat.add(after - now);
      now = after;
    }
    const elapsed = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(gen0);
    return { label, rps: lat.n / elapsed, rows: (lat.n * rows.length) / elapsed, ...lat.summary(), ok: lat.n, failed: 0, genCpu: (cpu.user + cpu.system) / 1e6 / elapsed };
  };
  const inproc = await inProcess('3. in-process session.run, 1 row', one, false, SECONDS);
  results.push(inproc);
  results.push(await inProcess('3b. in-process instancesToFeeds + run, 1 row', one, true, Math.min(5, SECONDS)));
  results.push(await inProcess(`3c. in-process session.run, ${BATCH} rows`, batch, false, Math.min(5, SECONDS)));
  await session.release();

  // ---- 4. mlflow models serve
  let mlflow: Result | undefined;
  const saved = await mlflowModel;
  if (!saved.ok) {
    log(`SKIPPED mlflow: ${saved.why}`);
    notes.push(`mlflow skipped: ${saved.why}`);
  } else {
    const info = saved.info;
    log(`mlflow ${info.mlflow}, scikit-learn ${info.sklearn}, Python ${info.python}: model saved (train accuracy ${Number(info.trainAccuracy).toFixed(4)})`);
    const mlLog = path.join(logs, 'mlflow.log');
    try {
      const t = Date.now();
      const ml = startChild('mlflow models serve', 'python3', ['-m', 'mlflow', 'models', 'serve', '-m', String(info.path), '-h', '127.0.0.1', '-p', String(mlflowPort), '--env-manager', 'local'], pythonEnv(), mlLog, 'SIGTERM');
      const mlBase = `http://127.0.0.1:${mlflowPort}`;
      await waitForHttp(`${mlBase}/ping`, ml, 180_000, mlLog);
      const check = await api<{ predictions: unknown[] }>(mlBase, 'POST', '/invocations', { dataframe_records: one });
      log(`mlflow models serve (pid ${ml.proc.pid}) answering after ${((Date.now() - t) / 1000).toFixed(1)} s: ${JSON.stringify(check).slice(0, 120)}`);
      log('measuring: mlflow, single rows...');
      mlflow = await measure('4. mlflow models serve, 1 row', { url: `${mlBase}/invocations`, body: JSON.stringify({ dataframe_records: one }), seconds: SECONDS, rows: 1, serverPid: ml.proc.pid });
      results.push(mlflow);
      log(`measuring: mlflow, ${BATCH}-row batches...`);
      results.push(await measure(`4b. mlflow models serve, ${BATCH}-row batches`, { url: `${mlBase}/invocations`, body: JSON.stringify({ dataframe_records: batch }), seconds: SECONDS, rows: BATCH, serverPid: ml.proc.pid }));
    } catch (err) {
      log(`mlflow failed: ${(err as Error).message}`);
      notes.push(`mlflow failed: ${(err as Error).message.split('\n')[0]}`);
    } finally {
      await stopAll();
    }
  }

  // ---- report
  const peaks = (prefix: string) => results.filter((r) => r.label.startsWith(prefix));
  const [expressRounds, prototypeRounds, ourRounds] = [peaks('1. '), peaks('1b. '), peaks('2. ')];
  const express = { rps: median(expressRounds.map((r) => r.rps)) };
  const ours = { rps: median(ourRounds.map((r) => r.rps)) };
  const prototype = { rps: median(prototypeRounds.map((r) => r.rps)) };
  /** Ours against Express round by round (each pair measured minutes apart), and their median. */
  const shares = ourRounds.map((r, i) => r.rps / expressRounds[i].rps);
  const at70 = results.find((r) => r.label.startsWith('2b. '))!;
  const express70 = results.find((r) => r.label.startsWith('1c. '))!;
  const ourBatch = results.find((r) => r.label.startsWith('5. '))!;
  log('');
  log(table([...results].sort((a, b) => (a.label < b.label ? -1 : 1))));
  log('');
  const verdict = (pass: boolean) => (pass ? 'MET' : 'NOT MET');
  log('| target | measured | verdict |');
  log('| --- | --- | --- |');
  log(`| our predict >= 80% of bare Express's request rate | medians ${fmt(ours.rps)} / ${fmt(express.rps)} = ${pct(ours.rps / express.rps)}; round by round ${shares.map(pct).join(', ')} | ${verdict(median(shares) >= 0.8)} |`);
  log(`| (for reference) the Express + onnxruntime-node prototype | median ${fmt(prototype.rps)} = ${pct(prototype.rps / express.rps)} of bare Express; ours / prototype = ${pct(ours.rps / prototype.rps)} | - |`);
  log(`| p99 < 5 ms at 70% of our peak (autocannon overallRate ${fmt(Math.round(ours.rps * 0.7))}/s; evenly paced with oha: bench/serving_tail.ts) | p99 ${fmt(at70.p99, 2)} ms at ${fmt(at70.rps)} req/s (bare Express at the same rate: p99 ${fmt(express70.p99, 2)} ms) | ${verdict(at70.p99 < 5)} |`);
  log(mlflow
    ? `| >= 5x mlflow's request rate | ${fmt(ours.rps)} / ${fmt(mlflow.rps)} = ${(ours.rps / mlflow.rps).toFixed(1)}x | ${verdict(ours.rps >= 5 * mlflow.rps)} |`
    : '| >= 5x mlflow\'s request rate | mlflow skipped | - |');
  log(`| (for reference) ${BATCH}-row batches to our predict | ${fmt(ourBatch.rows)} rows/s = ${(ourBatch.rows / ours.rps).toFixed(1)}x the single-row request rate; in-process single-row session.run ${fmt(inproc.rps)} runs/s | - |`);
  log('');
  for (const n of notes) log(`- ${n}`);
  log(`- server CPU: the server's process tree (for mlops up: Node with API, worker and PGlite, plus the Temporal dev server; for mlflow: its CLI and uvicorn) in % of one core; generator CPU: this process (autocannon / in-process runs), % of one core; machine CPU: all ${os.cpus().length} cores together (100% = all busy), whoever used them`);
  if (process.env.SERVING_CPU_PROF) {
    fs.writeFileSync(path.join(path.resolve(process.env.SERVING_CPU_PROF), 'phases.json'), JSON.stringify(phases, null, 1));
    log(`- CPU profiles and phases.json in ${path.resolve(process.env.SERVING_CPU_PROF)}: node --import tsx bench/serving_profile.ts ${process.env.SERVING_CPU_PROF}`);
  }
  log(`total ${((Date.now() - started) / 1000).toFixed(0)} s; load average now ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  if (process.env.SERVING_KEEP_LOGS) log(`child logs kept in ${logs}`);
  else fs.rmSync(work, { recursive: true, force: true });
}

function autocannonVersion(): string {
  try { return (JSON.parse(fs.readFileSync(require.resolve('autocannon/package.json'), 'utf8')) as { version: string }).version; } catch { return '?'; }
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => { log(`${signal}: stopping the servers...`); void stopAll().finally(() => process.exit(130)); });
}

main().catch(async (err) => {
  console.error(err);
  if (logsDir) console.error(`the servers' logs: ${logsDir}`);
  await stopAll();
  process.exitCode = 1;
});
