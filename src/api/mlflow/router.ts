/**
 * An MLflow-compatible tracking server under /mlflow: the REST routes the official `mlflow` Python client
 * (3.x) calls for experiments, runs, logged models, artifacts and the model registry, so
 * `MLFLOW_TRACKING_URI=http://host:8080/mlflow` and `MLFLOW_TRACKING_TOKEN=<API key>` work with unchanged
 * client code. The router is self-contained: it reads its own bodies (artifact uploads are raw bytes,
 * the rest JSON), checks the same API keys as /v1, and answers errors in MLflow's shape, which its
 * client parses. The wire format follows MLflow's REST API (its protos), not the platform's OpenAPI.
 */
import express, { NextFunction, Request, Response, Router } from 'express';
import { Pool } from 'pg';
import { ArtifactStore } from '../../store/artifacts';
import type { AccessControl } from '../access';
import { holdsNul, NUL_REFUSED } from '../http-errors';
import { artifactRoutes } from './artifact-routes';
import { loggedModelRoutes } from './logged-model-routes';
import { ImportOnnxVersion } from './onnx-import';
import { errorBody, MlflowError, toMlflowError } from './protocol';
import { registryRoutes } from './registry-routes';
import { MlflowRoutes, MlflowRouteSpec } from './routes';
import { trackingRoutes } from './tracking-routes';
import { routePattern } from '../../logging/http-request-log';

export const MLFLOW_MOUNT = '/mlflow';

export interface MlflowDeps {
  pool: Pool;
  artifacts: ArtifactStore;
  access: AccessControl;
  /** Largest artifact upload, in bytes (MLOPS_MAX_UPLOAD). */
  maxUploadBytes: number;
  /** Largest JSON body (MLOPS_MAX_BODY). */
  maxBody: string;
  /** Hands a registered ONNX version to the platform's import workflow (see onnx-import.ts). */
  importOnnxVersion: ImportOnnxVersion;
  log?: (line: string) => void;
}

const tables = new WeakMap<Router, MlflowRouteSpec[]>();

/** Every MLflow route with the role it needs (the attack test walks them). */
export function mlflowRouteTable(router: Router): MlflowRouteSpec[] {
  return tables.get(router) ?? [];
}

export function mlflowRouter(deps: MlflowDeps): Router {
  const router = express.Router();
  const routes = new MlflowRoutes(router, deps.access, MLFLOW_MOUNT);
  // uploads first: their bodies are the artifact's bytes, never parsed
  artifactRoutes(routes, deps);
  // the client sends JSON whatever it declares; a GET has no body and is left alone
  router.use(express.json({ limit: deps.maxBody, strict: true, type: () => true }));
  // PostgreSQL text cannot hold U+0000: refuse it here rather than fail in a query
  router.use((req, _res, next) => next(/%00/.test(req.url) || holdsNul(req.body) || holdsNul(req.query) ? new MlflowError('INVALID_PARAMETER_VALUE', NUL_REFUSED) : undefined));
  trackingRoutes(routes, deps.pool);
  loggedModelRoutes(routes, deps.pool);
  registryRoutes(routes, deps);
  tables.set(router, routes.routes);

  router.use((req, _res, next) => next(new MlflowError('ENDPOINT_NOT_FOUND', `no MLflow route for ${req.method} ${req.path}`)));
  router.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const e = toMlflowError(err);
    if (e.code === 'INTERNAL_ERROR') deps.log?.(`internal error on ${req.method} ${routePattern(req)}: ${(err as Error)?.stack ?? String(err)}`);
    res.status(e.status).json(errorBody(e));
  });
  return router;
}
