/**
 * Batch scoring: a scientist asks for a job, anyone who reads models reads it back.
 *
 *   POST /v1/models/:name/batch       scientist   start a job (202, Location)
 *   GET  /v1/models/:name/batch       viewer      the model's jobs, newest first (version -> job -> output)
 *   GET  /v1/models/:name/batch/:id   viewer      one job: state, rows, progress, output and its digest
 */
import type { BatchService } from '../usecases/batch-scoring';
import { actorOf, SecuredRoutes } from './access';
import { batchRequestSchema } from './batch-requests';
import { limitOf, modelName, route } from './http';
import { parseBody } from './pipeline-requests';
import { ApiError } from '../errors';

export function batchRoutes(routes: SecuredRoutes, deps: { batch: BatchService }): void {
  const { batch } = deps;
  routes.post('/v1/models/:name/batch', 'scientist', route(async (req, res) => {
    const name = modelName(req);
    const body = parseBody(batchRequestSchema, req.body);
    const started = await batch.start(name, body, { requestedBy: actorOf(res), idempotencyKey: req.get('Idempotency-Key') ?? undefined });
    res.status(202).location(`/v1/models/${name}/batch/${started.id}`).json(started);
  }));
  routes.get('/v1/models/:name/batch', 'viewer', route(async (req, res) => {
    const version = req.query.version === undefined ? undefined : Number(req.query.version);
    if (version !== undefined && (!Number.isInteger(version) || version < 1 || version > 2 ** 31 - 1)) throw new ApiError('invalid_request', 'version must be a whole number from 1 to 2147483647');
    res.json({ jobs: await batch.list(modelName(req), { version, limit: limitOf(req.query.limit) }) });
  }));
  routes.get('/v1/models/:name/batch/:id', 'viewer', route(async (req, res) => {
    res.json(await batch.get(modelName(req), String(req.params.id)));
  }));
}
