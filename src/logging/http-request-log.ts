/**
 * One log line per HTTP request, written when its response closes: method, route pattern (never the raw
 * path, which may hold the ids of data subjects), status, duration, and the model and version it
 * concerned. Nothing of the request's headers or body is read.
 *
 * Predict is the hot path: the line costs one object, its message and pino's serialisation. What a
 * request has to tell its line rides on the response object in fixed symbol slots set in one order
 * (one hidden class, no per-request closure); the one 'close' listener is shared by every response.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import pino, { Logger } from 'pino';
import { traceFields } from './logger';
import { MODEL_NAME } from '../domain/model-version';

const STARTED = Symbol('mlops.log.started');
const ROUTE = Symbol('mlops.log.route');
const MODEL = Symbol('mlops.log.model');
const VERSION = Symbol('mlops.log.version');

interface Noted {
  /** performance.now() at arrival. */
  [STARTED]: number;
  [ROUTE]: string | undefined;
  [MODEL]: string | undefined;
  [VERSION]: number | undefined;
}

/** What Express leaves on a request it routed: the matched route's pattern, the mount it is under, its parameters. */
interface RoutedRequest extends IncomingMessage {
  route?: { path?: unknown };
  baseUrl?: string;
  params?: Record<string, unknown>;
}

/** `url.path` of a request no route matched (404s, bodies refused before routing). */
export const UNMATCHED = '*';

/** Says which route answered, for a listener that answers without Express (the predict fast path). */
export function noteRoute(res: ServerResponse, route: string, model?: string): void {
  const noted = res as unknown as Partial<Noted>;
  if (STARTED in noted) { noted[ROUTE] = route; noted[MODEL] = model; }
}

/** Says which model version answered (predict knows only after routing the request). */
export function noteVersion(res: ServerResponse, version: number): void {
  const noted = res as unknown as Partial<Noted>;
  if (STARTED in noted) noted[VERSION] = version;
}

/**
 * The route pattern of a request Express routed: the mount path and the route's path
 * (`/v1/models/:name/predict`, `/mlflow/api/2.0/mlflow/runs/get`); under a mount with no route of its own
 * (static files), the mount and `/*`; otherwise UNMATCHED.
 */
export function routePattern(req: IncomingMessage): string {
  const r = req as RoutedRequest;
  const routePath = r.route?.path;
  if (typeof routePath === 'string') return (r.baseUrl ?? '') + routePath;
  return r.baseUrl ? `${r.baseUrl}/*` : UNMATCHED;
}

/**
 * Wraps the server's listener so every request it answers writes its line to `logger` when done.
 *
 * The line is serialised here rather than by pino's generic path, which (field iteration, redaction, the
 * mask hook) cost about 4 µs a line in a tight loop and more in a loaded server, against 1.3 µs for this
 * template, on a predict that costs about 100 µs in all (bench/RESULTS.md). It is the same line pino would write (level,
 * @timestamp, the logger's bindings, trace ids, fields, message), on the logger's own destination, at
 * the logger's level. Every value in it is the platform's own (a route pattern, a status, a model name
 * that matched MODEL_NAME), so it needs neither redaction nor masking.
 */
export function withRequestLog(listener: RequestListener, logger: Logger): RequestListener {
  const stream = (logger as unknown as Record<symbol, { write(line: string): unknown }>)[pino.symbols.streamSym];
  // the logger's bindings (process.pid, host.hostname, service.name), serialised once by pino
  const bindings = (logger as unknown as Record<symbol, string>)[pino.symbols.chindingsSym];
  function logClosed(this: ServerResponse): void {
    const noted = this as unknown as Noted;
    const status = this.statusCode;
    const level = status >= 500 ? 'error' : 'info';
    if (!logger.isLevelEnabled(level)) return;
    const req = this.req as RoutedRequest;
    const route = noted[ROUTE] ?? routePattern(req);
    const method = req.method ?? 'GET';
    const model = noted[MODEL] ?? modelParam(req);
    const version = noted[VERSION] ?? versionParam(req);
    // ECS durations are nanoseconds
    const duration = Math.round((performance.now() - noted[STARTED]) * 1e6);
    const ids = traceFields() as { 'trace.id'?: string; 'span.id'?: string };
    stream.write(`{"log.level":"${level}","@timestamp":"${new Date().toISOString()}"${bindings}`
      + (ids['trace.id'] ? `,"trace.id":"${ids['trace.id']}","span.id":"${ids['span.id']}"` : '')
      + `,"http.request.method":${JSON.stringify(method)},"url.path":${JSON.stringify(route)},"http.response.status_code":${status},"event.duration":${duration}`
      + (model !== undefined ? `,"mlops.model":${JSON.stringify(model)}` : '')
      + (version !== undefined ? `,"mlops.version":${version}` : '')
      // a client that went away before its answer was complete
      + (this.writableFinished ? '' : ',"event.outcome":"unknown"')
      + `,"message":${JSON.stringify(`${method} ${route} ${status}`)}}\n`);
  }
  return (req, res) => {
    const noted = res as unknown as Noted;
    noted[STARTED] = performance.now();
    noted[ROUTE] = undefined;
    noted[MODEL] = undefined;
    noted[VERSION] = undefined;
    res.on('close', logClosed);
    listener(req, res);
  };
}

/** The model a routed request named in its path (`:name` under /v1/models), when it did. */
function modelParam(req: RoutedRequest): string | undefined {
  const name = req.params?.name;
  return typeof name === 'string' && MODEL_NAME.test(name) && req.baseUrl === '' && typeof req.route?.path === 'string' && req.route.path.startsWith('/v1/models/:name') ? name : undefined;
}

function versionParam(req: RoutedRequest): number | undefined {
  const version = Number(req.params?.version);
  return Number.isInteger(version) && typeof req.route?.path === 'string' && req.route.path.startsWith('/v1/models/:name/versions/:version') ? version : undefined;
}
