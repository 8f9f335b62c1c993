/**
 * What tracing adds to one predict request, in process and without the network: the API's request
 * listener as `startApi` wraps it (src/telemetry/http-spans.ts) around a stand-in for the predict path (a
 * chain of awaits like the real one's, the inference span of src/telemetry/inference-spans.ts, then the
 * answer), called back to back; spans go over OTLP http/protobuf to a real OpenTelemetry Collector. Each
 * mode runs in a fresh process, as Node 20's async context, once switched on, stays on for every promise.
 *
 *   node --import tsx bench/tracing_overhead.ts                       (about a minute)
 *   scripts/with-node.sh 24 node --import tsx bench/tracing_overhead.ts
 *
 * Modes: off (no endpoint: the listener is not wrapped), default (MLOPS_TRACE_PREDICT_SAMPLE 0.01: 1 in
 * 100 predicts traced), every (MLOPS_TRACE_PREDICT_SAMPLE=1). Settings: OVERHEAD_REQUESTS (200000).
 */
import { execFileSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { loadConfig } from '../src/config';
import { withRequestSpans } from '../src/telemetry/http-spans';
import { inferenceSpans, TraceInference } from '../src/telemetry/inference-spans';
import { startTracing } from '../src/telemetry/tracing';
import { startCollector } from '../test/helpers/otel-collector';

const REQUESTS = Number(process.env.OVERHEAD_REQUESTS ?? 200_000);
const MODES = ['off', 'default', 'every'] as const;
const COLLECTOR_PORT = 18445;

/** The predict path's shape: parse, admit, route, a micro-batched run, format; each step a promise. */
function predictLike(trace?: TraceInference): RequestListener {
  const step = async (x: number) => x + 1;
  return (_req, res) => {
    void (async () => {
      let x = 0;
      for (let i = 0; i < 6; i++) x = await step(x);
      const run = async () => { for (let i = 0; i < 4; i++) x = await step(x); return x; };
      x = trace ? await trace('cancer', 1, 1, run) : await run();
      res.statusCode = 200;
      res.end(String(x));
    })();
  };
}

/** A request and a response that finish when answered, as node:http's do. */
function exchange(): { req: IncomingMessage; res: ServerResponse; done: Promise<void> } {
  const res = new EventEmitter() as EventEmitter & { statusCode: number; writableFinished: boolean; end(body: string): void };
  let finish!: () => void;
  const done = new Promise<void>((resolve) => { finish = resolve; });
  res.statusCode = 0;
  res.writableFinished = false;
  res.end = () => { res.writableFinished = true; res.emit('close'); finish(); };
  const req = { method: 'POST', url: '/v1/models/cancer/predict', headers: { 'content-type': 'application/json' } } as unknown as IncomingMessage;
  return { req, res: res as unknown as ServerResponse, done };
}

async function child(mode: typeof MODES[number], endpoint: string): Promise<void> {
  const env = mode === 'off' ? {} : { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, MLOPS_TRACE_PREDICT_SAMPLE: mode === 'every' ? '1' : '0.01', OTEL_SERVICE_NAME: `overhead-${mode}` };
  const tracing = startTracing(loadConfig({ MLOPS_DATA_ROOTS: '/tmp', ...env }).telemetry);
  const inner = predictLike(tracing ? inferenceSpans(tracing.tracer) : undefined);
  const listener = tracing ? withRequestSpans(inner, tracing.tracer) : inner;
  const once = async () => { const { req, res, done } = exchange(); listener(req, res); await done; };
  for (let i = 0; i < 20_000; i++) await once(); // warm-up
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < REQUESTS; i++) await once();
  const wall = Number(process.hrtime.bigint() - t0) / 1e3 / REQUESTS;
  const used = process.cpuUsage(cpu0);
  await tracing?.shutdown(); // exports what is left, outside the timing
  process.stdout.write(`${JSON.stringify({ mode, wallUs: wall, cpuUs: (used.user + used.system) / REQUESTS })}\n`);
}

async function main(): Promise<void> {
  if (process.argv[2]) return child(process.argv[2] as typeof MODES[number], process.argv[3]);
  const collector = await startCollector(COLLECTOR_PORT);
  try {
    const rows: { mode: string; wallUs: number; cpuUs: number }[] = [];
    for (let round = 0; round < 3; round++) {
      for (const mode of MODES) {
        const out = execFileSync(process.execPath, ['--import', 'tsx', __filename, mode, collector.endpoint], { encoding: 'utf8' });
        rows.push(JSON.parse(out.trim().split('\n').pop()!));
      }
    }
    process.stdout.write(`Node ${process.version}, ${REQUESTS.toLocaleString('en-US')} requests per run, 3 runs per mode in turns\n\n| mode | µs per request (wall), runs | median | CPU µs per request, median |\n| --- | --- | ---: | ---: |\n`);
    const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
    for (const mode of MODES) {
      const mine = rows.filter((r) => r.mode === mode);
      process.stdout.write(`| ${mode} | ${mine.map((r) => r.wallUs.toFixed(2)).join(' / ')} | ${median(mine.map((r) => r.wallUs)).toFixed(2)} | ${median(mine.map((r) => r.cpuUs)).toFixed(2)} |\n`);
    }
    const spans = collector.spans();
    process.stdout.write(`\nspans received: default ${spans.filter((s) => s.serviceName === 'overhead-default').length.toLocaleString('en-US')}, every ${spans.filter((s) => s.serviceName === 'overhead-every').length.toLocaleString('en-US')}\n`);
  } finally {
    await collector.stop();
  }
}

void main().catch((err) => { process.stderr.write(`${(err as Error).stack}\n`); process.exitCode = 1; });
