/**
 * A real OpenTelemetry Collector for the tracing tests: built from Go modules once into .cache/tools by
 * scripts/otel-collector.sh (deploy/otel/collector/), receiving OTLP over HTTP (JSON and protobuf alike)
 * and writing every span it gets to a file as OTLP JSON lines, which the tests read back.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { eventually } from './eventually';
import { REPO_ROOT } from './temporal';

/** One span as the collector wrote it, with the service.name of the process that sent it. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  serviceName: string;
}

export interface Collector {
  /** OTEL_EXPORTER_OTLP_ENDPOINT for the processes under test. */
  endpoint: string;
  /** Every span received so far. */
  spans(): ReceivedSpan[];
  stop(): Promise<void>;
}

/** The value of an OTLP JSON AnyValue: {"stringValue": "x"}, {"intValue": "3"}, ... */
function plain(value: Record<string, unknown> | undefined): unknown {
  if (!value) return undefined;
  const [kind, v] = Object.entries(value)[0] ?? [];
  return kind === 'intValue' ? Number(v) : v;
}

function attributes(list: { key: string; value: Record<string, unknown> }[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((a) => [a.key, plain(a.value)]));
}

export async function startCollector(port: number): Promise<Collector> {
  // builds it the first time (about a minute with a warm Go module cache); CI builds it in scripts/test-full.sh
  const binary = execFileSync(path.join(REPO_ROOT, 'scripts', 'otel-collector.sh'), ['path'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 20 * 60_000 }).trim();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-otelcol-'));
  const file = path.join(dir, 'spans.jsonl');
  const config = path.join(dir, 'config.yaml');
  fs.writeFileSync(config, [
    'receivers:',
    '  otlp:',
    '    protocols:',
    '      http:',
    `        endpoint: 127.0.0.1:${port}`,
    'exporters:',
    '  file:',
    `    path: ${file}`,
    '    flush_interval: 100ms',
    'service:',
    // its own metrics would listen on :8888
    '  telemetry:',
    '    metrics:',
    '      level: none',
    '  pipelines:',
    '    traces:',
    '      receivers: [otlp]',
    '      exporters: [file]',
    '',
  ].join('\n'));
  const log = fs.openSync(path.join(dir, 'collector.log'), 'a');
  const child: ChildProcess = spawn(binary, ['--config', config], { stdio: ['ignore', log, log] });
  let exited = false;
  child.once('exit', () => { exited = true; });
  await eventually(() => `the collector to listen on ${port}: ${fs.readFileSync(path.join(dir, 'collector.log'), 'utf8').slice(-2000)}`, async () => {
    if (exited) throw new Error(`the collector exited: ${fs.readFileSync(path.join(dir, 'collector.log'), 'utf8').slice(-2000)}`);
    return new Promise<true | undefined>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => { socket.end(); resolve(true); });
      socket.once('error', () => resolve(undefined));
    });
  }, { timeoutMs: 30_000 });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans() {
      if (!fs.existsSync(file)) return [];
      const out: ReceivedSpan[] = [];
      // the last line may be half written while the exporter flushes
      for (const line of fs.readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
        let request: any;
        try { request = JSON.parse(line); } catch { continue; }
        for (const rs of request.resourceSpans ?? []) {
          const serviceName = String(attributes(rs.resource?.attributes)['service.name']);
          for (const ss of rs.scopeSpans ?? []) {
            for (const s of ss.spans ?? []) {
              out.push({ traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId ?? '', name: s.name, kind: s.kind, attributes: attributes(s.attributes), serviceName });
            }
          }
        }
      }
      return out;
    },
    async stop() {
      if (!exited) {
        const gone = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await gone;
      }
      fs.closeSync(log);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
