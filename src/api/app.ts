/**
 * The HTTP API. Routes parse, call a use case and map the result; one middleware turns errors into
 * JSON with the right status, and nothing unexpected leaves the server but a generic 500.
 */
import express, { NextFunction, Request, Response } from 'express';
import swaggerUi from 'swagger-ui-express';
import { Client } from '@temporalio/client';
import { Pool } from 'pg';
import { ApiError } from '../errors';
import { errorAnswer, holdsNul, NUL_REFUSED, toApiError } from './http-errors';
import { predictAnswer, writeJson } from './predict-fast-path';
import { plainJsonBody } from './json-body';
import * as registry from '../store/registry';
import { ModelServer } from '../serving/model-server';
import { approvalRequestSchema, parseBody, pipelineRequestSchema } from './pipeline-requests';
import { describeSource, PipelineService } from '../usecases/pipelines';
import { dataRoutes } from './data-routes';
import { feedbackRoutes } from './feedback-routes';
import type { SecretsKeys } from '../store/connections';
import { AccessControl, actorOf, checkApprovalMode, RouteSpec, SecuredRoutes } from './access';
import { limitOf, modelName, route, versionNumber } from './http';
import type { MonitoringService } from '../usecases/monitoring';
import { monitoringRoutes } from './monitoring-routes';
import { governanceRoutes } from './governance-routes';
import { adminRoutes } from './admin-routes';
import { trainerRoutes } from './trainer-routes';
import { bundleRoutes } from './bundle-routes';
import { importRoutes } from './import-routes';
import { batchRoutes } from './batch-routes';
import type { BatchService } from '../usecases/batch-scoring';
import { decide } from '../usecases/approvals';
import { slackRoutes } from './slack-routes';
import type { Config } from '../config';
import { ArtifactStore } from '../store/artifacts';
import { openApiDocumentOf } from './openapi';
import { openLineageEvents } from './openlineage';
import { aliasRequestSchema, archiveRequestSchema, rollbackRequestSchema } from './registry-requests';
import type { RegistryService } from '../usecases/registry-operations';
import { decisionSchema, rolloutRequestSchema } from './rollout-requests';
import type { RolloutService } from '../usecases/rollouts';
import type { Repositories } from '../store/repositories';
import { createCatalog } from '../usecases/catalog';
import { createModelChanges } from '../usecases/model-changes';
import { MLFLOW_MOUNT, mlflowRouter } from './mlflow/router';
import type { ImportOnnxVersion } from './mlflow/onnx-import';
import { consoleRouter } from '../console/router';
import { routePattern } from '../logging/http-request-log';

export interface AppDeps {
  client: Client;
  /** The store as repositories; routes and use cases never see the pool. */
  repos: Repositories;
  /** Only for the data routes, which still read through the pool directly. */
  pool: Pool;
  models: ModelServer;
  pipelines: PipelineService;
  registryOps: RegistryService;
  rollouts: RolloutService;
  monitoring: MonitoringService;
  /** Batch scoring jobs. */
  batch: BatchService;
  artifacts: ArtifactStore;
  access: AccessControl;
  /** Seals connection credentials (data routes). */
  secrets: SecretsKeys;
  /** Largest dataset upload, in bytes. */
  maxUploadBytes: number;
  slack: Config['slack'];
  /** Keys of the prediction log's privacy: subjects' pseudonyms and decryption for their export. */
  privacy: Config['privacy'];
  maxBody: string;
  /** Hands ONNX versions registered through /mlflow to the platform's import workflow. */
  importOnnxVersion: ImportOnnxVersion;
  uiUrl: (workflowId: string) => string;
  /**
   * The web console's sessions: how long one lasts (MLOPS_CONSOLE_SESSION_HOURS; 8 hours when not given),
   * and whether its cookie is always Secure (the API's public URL, MLOPS_API_URL, is https; otherwise only
   * requests that arrive over TLS get a Secure cookie).
   */
  console?: { sessionSeconds: number; secureCookies: boolean };
  log?: (line: string) => void;
}



const routesOf = new WeakMap<express.Express, RouteSpec[]>();

/** Every route of an app made by createApp, with the access it needs (the route-by-role test walks it). */
export function routeTable(app: express.Express): RouteSpec[] {
  return routesOf.get(app) ?? [];
}

export function createApp(deps: AppDeps): express.Express {
  const { repos, models, pipelines } = deps;
  const catalog = createCatalog(repos, { uiUrl: deps.uiUrl });
  const changes = createModelChanges(repos, models);
  const app = express();
  app.disable('x-powered-by');
  // answers are computed per request: an ETag (a hash of every body) would never be matched
  app.set('etag', false);
  // before the body parsers: the MLflow router reads its own bodies (artifact uploads are raw bytes)
  app.use(MLFLOW_MOUNT, mlflowRouter({ pool: deps.pool, artifacts: deps.artifacts, access: deps.access, maxUploadBytes: deps.maxUploadBytes, maxBody: deps.maxBody, importOnnxVersion: deps.importOnnxVersion, log: deps.log }));
  app.use(plainJsonBody(deps.maxBody));
  app.use(express.json({ limit: deps.maxBody, strict: true, type: ['application/json', 'application/*+json'] }));
  // PostgreSQL text and jsonb cannot hold U+0000: refuse it at the door rather than fail in a query with a 500
  app.use((req, _res, next) => next(/%00/.test(req.url) || holdsNul(req.body) ? new ApiError('invalid_request', NUL_REFUSED) : undefined));
  // routes straight on the app, not in a nested router: one dispatch less on every request
  const r = new SecuredRoutes(app, deps.access);

  // first: the router tries routes in order, and predict is by far the most called
  r.post('/v1/models/:name/predict', 'predict', route(async (req, res) => {
    // most predict requests never get here (src/api/predict-fast-path.ts); those that do are answered alike
    writeJson(res, 200, await predictAnswer(models, modelName(req), req.body, req.get('X-Routing-Key') ?? undefined, res));
  }));
  r.get('/healthz', 'open', (_req, res) => { res.json({ status: 'ok' }); });
  r.get('/readyz', 'open', route(async (_req, res) => {
    // anyone may ask, so the answer names the failed check and nothing more; the operator's log has the error
    const checks: Record<string, 'ok' | 'failed'> = {};
    const probe = async (name: string, work: Promise<unknown>) => {
      await work.then(() => { checks[name] = 'ok'; }, (e: Error) => { checks[name] = 'failed'; deps.log?.(`readiness: ${name} failed: ${e.message}`); });
    };
    await probe('database', repos.db.ping());
    await probe('temporal', deps.client.workflowService.getSystemInfo({}));
    const ready = Object.values(checks).every((v) => v === 'ok');
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready', checks });
  }));
  r.get('/openapi.json', 'open', (_req, res) => { res.json(openApiDocumentOf(r.routes)); });
  r.get('/metrics', 'open', route(async (_req, res) => {
    res.type(models.metrics.contentType).send(await models.metrics.metrics());
  }));
  app.use('/docs', swaggerUi.serve, swaggerUi.setup(undefined, { swaggerUrl: '/openapi.json' }));

  r.post('/v1/pipelines', 'scientist', route(async (req, res) => {
    const body = parseBody(pipelineRequestSchema, req.body);
    checkApprovalMode(res, body.approval);
    const key = req.get('Idempotency-Key') ?? undefined;
    const started = await pipelines.start(body, { requestedBy: actorOf(res), idempotencyKey: key });
    await repos.registry.recordAudit({ key: `${started.id}:started`, actor: actorOf(res), action: 'pipeline.started', subject: started.id, details: { model: body.model, data: describeSource(body.data), target: body.target, approval: body.approval?.mode ?? 'manual' } });
    res.status(202).location(`/v1/pipelines/${started.id}`).json(started);
  }));
  r.get('/v1/pipelines/:id', 'viewer', route(async (req, res) => {
    res.json(await pipelines.get(String(req.params.id)));
  }));
  r.post('/v1/pipelines/:id/approval', 'approver', route(async (req, res) => {
    const body = parseBody(approvalRequestSchema, req.body);
    const result = await decide(repos, pipelines, String(req.params.id), { decision: body.decision, comment: body.comment, by: actorOf(res, body.by), channel: 'api' });
    res.status(202).json(result);
  }));

  r.get('/v1/datasets', 'viewer', route(async (req, res) => {
    const source = typeof req.query.source === 'string' ? req.query.source : undefined;
    res.json({ datasets: await catalog.datasets({ source, limit: limitOf(req.query.limit) }) });
  }));
  r.get('/v1/datasets/:id', 'viewer', route(async (req, res) => {
    res.json(await catalog.dataset(String(req.params.id)));
  }));
  r.get('/v1/datasets/:id/diff/:other', 'viewer', route(async (req, res) => {
    res.json(await catalog.diffDatasets(String(req.params.id), String(req.params.other)));
  }));

  r.get('/v1/lineage/datasets/:id', 'viewer', route(async (req, res) => {
    res.json(await catalog.datasetLineage(String(req.params.id)));
  }));
  r.get('/v1/lineage/models/:name/versions/:version', 'viewer', route(async (req, res) => {
    const lineage = await catalog.versionLineage(modelName(req), versionNumber(req));
    res.json({ ...lineage, run: { ...lineage.run, uiUrl: deps.uiUrl(lineage.run.runId) } });
  }));
  r.get('/v1/lineage/models/:name/versions/:version/openlineage', 'viewer', route(async (req, res) => {
    res.json({ events: openLineageEvents(await catalog.versionLineage(modelName(req), versionNumber(req))) });
  }));

  r.get('/v1/runs', 'viewer', route(async (req, res) => {
    const model = typeof req.query.model === 'string' ? req.query.model : undefined;
    res.json({ runs: await catalog.runs({ model, limit: limitOf(req.query.limit) }) });
  }));
  r.get('/v1/runs/:id', 'viewer', route(async (req, res) => {
    res.json(await catalog.run(String(req.params.id)));
  }));

  r.get('/v1/models', 'viewer', route(async (_req, res) => {
    res.json({ models: await catalog.models() });
  }));
  r.get('/v1/models/:name', 'viewer', route(async (req, res) => {
    res.json(await catalog.model(modelName(req)));
  }));
  r.get('/v1/models/:name/versions/:version', 'viewer', route(async (req, res) => {
    res.json(await catalog.version(modelName(req), versionNumber(req)));
  }));
  r.put('/v1/models/:name/aliases/:alias', 'approver', route(async (req, res) => {
    const alias = String(req.params.alias);
    if (!registry.ALIAS_NAME.test(alias)) throw new ApiError('invalid_request', `"${alias}" is not a valid alias name: lower-case letters, digits, - and _, starting with a letter`);
    const body = parseBody(aliasRequestSchema, req.body);
    res.json(await changes.moveAlias(modelName(req), alias, body.version, { actor: actorOf(res, body.by), reason: body.reason, idempotencyKey: req.get('Idempotency-Key') ?? undefined }));
  }));
  r.post('/v1/models/:name/rollback', 'approver', route(async (req, res) => {
    const name = modelName(req);
    const body = parseBody(rollbackRequestSchema, req.body ?? {});
    const result = await deps.registryOps.rollback({ model: name, toVersion: body.toVersion, actor: actorOf(res, body.by), reason: body.reason }, req.get('Idempotency-Key') ?? undefined);
    // this replica serves the restored version before answering; others follow the notification
    await models.refresh();
    res.json(result);
  }));
  r.post('/v1/models/:name/deployments', 'approver', route(async (req, res) => {
    const name = modelName(req);
    const body = parseBody(rolloutRequestSchema, req.body);
    if (!(await repos.registry.getVersion(name, body.version))) throw new ApiError('not_found', `model "${name}" has no version ${body.version}`);
    const started = await deps.rollouts.start(name, { ...body, by: actorOf(res, body.by) }, req.get('Idempotency-Key') ?? undefined);
    res.status(202).location(`/v1/models/${name}/deployments/${started.id}`).json(started);
  }));
  r.get('/v1/models/:name/deployments', 'viewer', route(async (req, res) => {
    const name = modelName(req);
    res.json({ rollouts: await deps.rollouts.list(name), deployments: await repos.registry.listDeployments(name), serving: models.served().find((m) => m.name === name) ?? null });
  }));
  r.get('/v1/models/:name/deployments/:id', 'viewer', route(async (req, res) => {
    res.json(await deps.rollouts.get(modelName(req), String(req.params.id)));
  }));
  for (const action of ['promote', 'abort'] as const) {
    r.post(`/v1/models/:name/deployments/:id/${action}`, 'approver', route(async (req, res) => {
      const body = parseBody(decisionSchema, req.body ?? {});
      res.status(202).json(await deps.rollouts.decide(modelName(req), String(req.params.id), action, { ...body, by: actorOf(res, body.by) }));
    }));
  }
  r.post('/v1/models/:name/versions/:version/archive', 'approver', route(async (req, res) => {
    const body = parseBody(archiveRequestSchema, req.body ?? {});
    res.json(await changes.archive(modelName(req), versionNumber(req), { actor: actorOf(res, body.by), reason: body.reason }));
  }));
  r.post('/v1/models/:name/versions/:version/reproduce', 'scientist', route(async (req, res) => {
    const name = modelName(req);
    const number = versionNumber(req);
    const by = actorOf(res, req.body?.by);
    res.json(await deps.registryOps.reproduce({ model: name, version: number, actor: by }, req.get('Idempotency-Key') ?? undefined));
  }));

  monitoringRoutes(r, { repos, artifacts: deps.artifacts, monitoring: deps.monitoring, uiUrl: deps.uiUrl, privacy: deps.privacy });
  governanceRoutes(r, { repos, config: deps.privacy });
  feedbackRoutes(r, { repos });
  adminRoutes(r, { repos });
  trainerRoutes(r, { repos });
  batchRoutes(r, { batch: deps.batch });
  importRoutes(r, { repos, artifacts: deps.artifacts, pipelines, maxUploadBytes: deps.maxUploadBytes });
  bundleRoutes(r, { repos, artifacts: deps.artifacts });
  dataRoutes(r, { pool: deps.pool, artifacts: deps.artifacts, secrets: deps.secrets, maxUploadBytes: deps.maxUploadBytes });
  slackRoutes(r, { repos, pipelines, slack: deps.slack, metrics: models.metrics });
  // the web console (HTML for people): after the API's routes, whose access its pages and actions apply
  app.use('/ui', consoleRouter({ ...deps, routes: r, catalog, sessionTtlSeconds: deps.console?.sessionSeconds ?? 8 * 3600, secureCookies: deps.console?.secureCookies ?? false }));
  routesOf.set(app, r.routes);

  app.use((req, _res, next) => next(new ApiError('not_found', `no route for ${req.method} ${req.path}`)));
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const e = toApiError(err);
    // the route's pattern, not the path: a path may hold the ids of data subjects
    if (e.code === 'internal') deps.log?.(`internal error on ${req.method} ${routePattern(req)}: ${(err as Error)?.stack ?? String(err)}`);
    const { status, body } = errorAnswer(e);
    res.status(status).json(body);
  });
  return app;
}

