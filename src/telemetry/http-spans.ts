/**
 * A SERVER span for every HTTP request the API answers (but health probes and metric scrapes),
 * predict's fast path included, continuing the caller's trace when it sends a W3C `traceparent` (a
 * malformed one starts a new trace). Only wrapped
 * around the server when tracing is on. The span is named after the route (`POST /v1/pipelines`), not
 * the path, so ids do not make every name unique.
 */
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, Tracer } from '@opentelemetry/api';
import type { IncomingMessage, RequestListener } from 'node:http';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
/** Predict is answered in front of Express (src/api/predict-fast-path.ts), which leaves no route behind. */
const PREDICT_PATH = /^\/v1\/models\/[^/?#]+\/predict(?:\?|$)/;
/** Probes and scrapes, every few seconds from the orchestrator and Prometheus: traces of them would bury the rest. */
const UNTRACED = new Set(['/healthz', '/readyz', '/metrics']);
/** Predict's route, set when its span starts: the sampler keeps a share of those (src/telemetry/sampling.ts). */
export const PREDICT_ROUTE = '/v1/models/:name/predict';

export function withRequestSpans(listener: RequestListener, tracer: Tracer): RequestListener {
  return (req, res) => {
    if (UNTRACED.has((req.url ?? '').split('?')[0])) { listener(req, res); return; }
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    const method = METHODS.has(req.method ?? '') ? req.method! : '_OTHER';
    const predict = method === 'POST' && PREDICT_PATH.test(req.url ?? '');
    const span = tracer.startSpan(predict ? `POST ${PREDICT_ROUTE}` : method, {
      kind: SpanKind.SERVER,
      // the path without its query string, which may carry what a trace backend should not keep
      attributes: { 'http.request.method': method, 'url.path': (req.url ?? '').split('?')[0].slice(0, 512), ...(predict ? { 'http.route': PREDICT_ROUTE } : {}) },
    }, parent);
    // a predict that is not traced has nothing under it that could be (its inference span needs a
    // recording parent): it runs outside any trace context, as with tracing off
    if (predict && !span.isRecording()) { listener(req, res); return; }
    if (span.isRecording()) {
      res.once('close', () => {
        const route = routeOf(req);
        if (route) {
          span.updateName(`${method} ${route}`);
          span.setAttribute('http.route', route);
        }
        span.setAttribute('http.response.status_code', res.statusCode);
        if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        if (!res.writableFinished) span.setStatus({ code: SpanStatusCode.ERROR, message: 'the connection closed before the answer was sent' });
        span.end();
      });
    }
    context.with(trace.setSpan(parent, span), () => listener(req, res));
  };
}

/** The route template Express matched (its `req.route`), or predict's; undefined for a path no route took. */
function routeOf(req: IncomingMessage): string | undefined {
  const express = req as IncomingMessage & { route?: { path?: unknown }; baseUrl?: string };
  if (typeof express.route?.path === 'string') return `${express.baseUrl ?? ''}${express.route.path}`;
  if (PREDICT_PATH.test(req.url ?? '')) return PREDICT_ROUTE;
  return undefined;
}
