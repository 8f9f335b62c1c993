/**
 * The process's log: pino writing one JSON line per event with Elastic Common Schema field names
 * (`@timestamp`, `log.level`, `message`, `service.name`, `trace.id`...; ours under `mlops.*`,
 * docs/observability.md has the table), or, when it writes to a terminal, the same events made readable
 * by pino-pretty. Every line passes the secret masking of ./redaction.ts on its way out.
 */
import fs from 'node:fs';
import path from 'node:path';
import { trace } from '@opentelemetry/api';
import pino, { DestinationStream, Logger } from 'pino';
import pretty from 'pino-pretty';
import type { Config } from '../config';
import { maskSecrets, MASK, REDACTED_PATHS } from './redaction';

export type { Logger } from 'pino';

export interface LoggerOptions {
  level: Config['logging']['level'];
  /** Secret values no line may show. */
  secrets: readonly string[];
  /** Append JSON lines to this file; unset: standard output (human-readable when it is a terminal). */
  file?: string;
  /** Write here instead (tests); JSON lines. */
  stream?: DestinationStream;
}

/** What each component's lines say in `service.name`. */
export const SERVICES = { api: 'mlops-api', worker: 'mlops-worker', stack: 'mlops' } as const;

/** One object per level, made once: pino asks for the level's fields on every line. */
const LEVEL_FIELDS: Record<string, { 'log.level': string }> = Object.fromEntries(
  Object.keys(pino.levels.values).map((label) => [label, { 'log.level': label }]),
);

/** The mixin's answer when no span is active (most lines): shared, never merged into. */
const NO_TRACE = Object.freeze({});

/**
 * The ids of the active OpenTelemetry span, when tracing is on and a span is current; the trace and its
 * log lines then meet in the same `trace.id`. Without a registered tracer this is a cheap no-op.
 */
export function traceFields(): object {
  const span = trace.getActiveSpan();
  if (!span) return NO_TRACE;
  const { traceId, spanId } = span.spanContext();
  return { 'trace.id': traceId, 'span.id': spanId };
}

/** An error as ECS's error.* fields: its type, message and stack (the stack already names type and message). */
export function errorFields(err: unknown): { type: string; message: string; stack_trace?: string } {
  if (err instanceof Error) return { type: err.name, message: err.message, ...(err.stack ? { stack_trace: err.stack } : {}) };
  // an error that crossed a thread (workflow log sinks clone it) keeps its fields but not its class
  // (and the fields this gives are given back as they are: the logger's serializer sees them again)
  const e = err as { name?: unknown; type?: unknown; message?: unknown; stack?: unknown; stack_trace?: unknown } | null;
  if (e && typeof e === 'object' && typeof e.message === 'string') {
    const type = typeof e.name === 'string' ? e.name : typeof e.type === 'string' ? e.type : 'Error';
    const stack = typeof e.stack === 'string' ? e.stack : typeof e.stack_trace === 'string' ? e.stack_trace : undefined;
    return { type, message: e.message, ...(stack ? { stack_trace: stack } : {}) };
  }
  return { type: typeof err, message: typeof err === 'object' ? JSON.stringify(err) ?? String(err) : String(err) };
}

/** The root logger of a process; components take `forService(logger, ...)` children. */
export function createLogger(o: LoggerOptions): Logger {
  const options: pino.LoggerOptions = {
    level: o.level,
    messageKey: 'message',
    errorKey: 'error',
    timestamp: () => `,"@timestamp":"${new Date().toISOString()}"`,
    formatters: {
      level: (label) => LEVEL_FIELDS[label] ?? { 'log.level': label },
      bindings: (b) => ({ 'process.pid': b.pid, 'host.hostname': b.hostname }),
    },
    serializers: { error: errorFields },
    mixin: traceFields,
    mixinMergeStrategy: (merge, mixin) => (mixin === NO_TRACE ? merge : { ...merge, ...mixin }),
    redact: { paths: REDACTED_PATHS, censor: MASK },
    hooks: { streamWrite: maskSecrets(o.secrets) },
  };
  return pino(options, o.stream ?? destination(o));
}

/** Where lines go: the file, else standard output, through pino-pretty when that is a terminal. */
function destination(o: LoggerOptions): DestinationStream {
  if (o.file) {
    fs.mkdirSync(path.dirname(o.file), { recursive: true });
    // sync: opened and written at once, so a line is in the file when the call returns (as on stdout)
    return pino.destination({ dest: o.file, append: true, sync: true });
  }
  if (process.stdout.isTTY) {
    return pretty({
      sync: true,
      messageKey: 'message',
      timestampKey: '@timestamp',
      // pino-pretty reads dots as nesting; ours are flat ECS names
      levelKey: 'log\\.level',
      ignore: 'process\\.pid,host\\.hostname',
      translateTime: 'SYS:HH:MM:ss.l',
    });
  }
  // Written synchronously, one write(2) a line: on the serving benchmark pino's asynchronous default
  // (writes through libuv's thread pool) cost 40-60 µs of CPU a predict request against 5-15 µs for this
  // (bench/RESULTS.md), and no line is lost when the process dies. The price: a reader of standard
  // output that stops reading (a full pipe) holds the process up, as console.log would.
  return pino.destination({ dest: 1, sync: true });
}

/**
 * Writes what is buffered and, when the logger writes to a file of its own, closes the file (a process
 * that opens APIs and stops them, tests, would otherwise keep every file open).
 */
export function closeLogger(logger: Logger, o: { file?: string }): void {
  const stream = (logger as unknown as Record<symbol, { flushSync?: () => void; end?: () => void } | undefined>)[pino.symbols.streamSym];
  stream?.flushSync?.();
  if (o.file) stream?.end?.();
}

/** A child whose lines name their component in `service.name`. */
export function forService(logger: Logger, service: string): Logger {
  return logger.child({ 'service.name': service });
}

/** A plain `(line) => void` sink (the shape older modules take) that logs each line at `level`. */
export function lineLog(logger: Logger, level: 'info' | 'warn' | 'error' = 'info'): (line: string) => void {
  return (line) => logger[level](line);
}

/**
 * Whether standard output is a person's terminal: the stack then prints its banner there as text (also
 * when the log itself goes to MLOPS_LOG_FILE), not as JSON lines.
 */
export function toTerminal(): boolean {
  return process.stdout.isTTY === true;
}
