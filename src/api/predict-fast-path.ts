/**
 * Predict in front of Express. Express's router, request and response helpers cost more than the model
 * itself, and they set the tail: evenly paced at 4,144 requests/s on the benchmark machine (oha, Node 20),
 * a bare node:http server answered with a p99 of 0.8–1.0 ms and bare Express with 15–70 ms
 * (bench/serving_tail.ts, figures in bench/RESULTS.md; Express is faster on Node 24, still not free). So a
 * `POST /v1/models/<name>/predict` with a plain JSON body is answered here, its key checked by the same
 * AccessControl when predict needs one; every other request, odd forms of this one included, goes on to
 * the Express app, where the same route is registered, documented and answered alike (predictAnswer,
 * the same errors, body first and key second as there).
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { ApiError } from '../errors';
import type { ModelServer } from '../serving/model-server';
import type { AccessControl } from './access';
import { errorAnswer, holdsNul, NUL_REFUSED, toApiError } from './http-errors';
import { isPlainJson, readPlainJson, sizeInBytes } from './json-body';
import { MODEL_NAME } from '../domain/model-version';
import { noteRoute, noteVersion } from '../logging/http-request-log';

const PREDICT_PATH = /^\/v1\/models\/([^/?#]+)\/predict$/;
/** The route's pattern, as its request log line names it. */
const PREDICT_ROUTE = '/v1/models/:name/predict';

/** The JSON text answering a predict body: checked, routed, run; `res`, when given, learns the version that answered for its log line. */
export async function predictAnswer(models: Pick<ModelServer, 'predict'>, name: string, body: unknown, routingKey: string | undefined, res?: ServerResponse): Promise<string> {
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ApiError('invalid_request', 'the body must be a JSON object: { "instances": [ { feature: value, ... } ] }');
  }
  const answer = await models.predict(name, (body as { instances?: unknown }).instances, routingKey);
  if (res) noteVersion(res, answer.model.version);
  return JSON.stringify(answer);
}

/** Writes a JSON answer directly: Express's res.json negotiates and sets headers at a cost a predict notices. */
export function writeJson(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export interface FastPathOptions {
  models: ModelServer;
  /** MLOPS_MAX_BODY. */
  maxBody: string;
  /** Who may predict (MLOPS_PREDICT_AUTH): anyone, or any valid key. */
  access: AccessControl;
  log?: (line: string) => void;
}

/** The server's request listener: predict answered here when it can be, everything else by `app`. */
export function withPredictFastPath(app: RequestListener, o: FastPathOptions): RequestListener {
  const maxBytes = sizeInBytes(o.maxBody);
  return (req, res) => {
    const name = req.method === 'POST' ? PREDICT_PATH.exec(req.url ?? '')?.[1] : undefined;
    if (name === undefined || !MODEL_NAME.test(name) || !isPlainJson(req)) { app(req, res); return; }
    noteRoute(res, PREDICT_ROUTE, name);
    void answer(req, res, name, maxBytes, o);
  };
}

async function answer(req: IncomingMessage, res: ServerResponse, name: string, maxBytes: number, o: FastPathOptions): Promise<void> {
  try {
    const body = await readPlainJson(req, maxBytes);
    if (holdsNul(body)) throw new ApiError('invalid_request', NUL_REFUSED);
    await o.access.admit('predict', { authorization: req.headers.authorization, address: req.socket.remoteAddress ?? 'unknown', method: 'POST', where: req.url ?? '' });
    const routingKey = req.headers['x-routing-key'];
    writeJson(res, 200, await predictAnswer(o.models, name, body, Array.isArray(routingKey) ? routingKey[0] : routingKey, res));
  } catch (err) {
    const e = toApiError(err);
    if (e.code === 'internal') o.log?.(`internal error on POST ${PREDICT_ROUTE} (model ${name}): ${(err as Error)?.stack ?? String(err)}`);
    const { status, body } = errorAnswer(e);
    if (!res.headersSent) writeJson(res, status, JSON.stringify(body));
  }
}
