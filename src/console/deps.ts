/** What the console's pages and actions are given: the same use cases and stores the API routes use. */
import type { Request, Response } from 'express';
import type { AccessControl, RouteSpec, SecuredRoutes } from '../api/access';
import type { Config } from '../config';
import { ApiError } from '../errors';
import type { ArtifactStore } from '../store/artifacts';
import type { Repositories } from '../store/repositories';
import type { Catalog } from '../usecases/catalog';
import type { MonitoringService } from '../usecases/monitoring';
import type { PipelineService } from '../usecases/pipelines';
import type { RolloutService } from '../usecases/rollouts';
import type { PageContext } from './html';
import type { SessionLocals } from './session';

export interface ConsoleDeps {
  repos: Repositories;
  access: AccessControl;
  /** The API's routes with their access: each console page and action applies the access of the route it stands for. */
  routes: SecuredRoutes;
  pipelines: PipelineService;
  rollouts: RolloutService;
  monitoring: MonitoringService;
  catalog: Catalog;
  artifacts: ArtifactStore;
  privacy: Pick<Config['privacy'], 'decryptionKeys'>;
  uiUrl: (workflowId: string) => string;
  /** How long a console session lasts, in seconds. */
  sessionTtlSeconds: number;
  /** Mark the session cookie Secure on every answer (the public URL is https, TLS ends at a proxy); else only over TLS. */
  secureCookies: boolean;
  log?: (line: string) => void;
}

/** An API route, as "METHOD /path" in SecuredRoutes' terms. */
export type ApiRoute = `${'GET' | 'POST' | 'PUT' | 'DELETE'} /${string}`;

/** The route spec the console stands in for; a missing one is a bug in the console (the router looks each up as it is built). */
export function routeSpec(deps: ConsoleDeps, route: ApiRoute): RouteSpec {
  const [method, path] = route.split(' ');
  const spec = deps.routes.routes.find((r) => r.method === method.toLowerCase() && r.path === path);
  if (!spec) throw new Error(`the console names an API route that does not exist: ${route}`);
  return spec;
}

/** Whether the signed-in principal may use that API route (to show or hide a button; the action checks again). */
export function may(deps: ConsoleDeps, ctx: PageContext, route: ApiRoute): boolean {
  return deps.access.permits(routeSpec(deps, route).access, ctx.principal);
}

/** The page context from the session middleware's locals. */
export function contextOf(req: Request, res: Response): PageContext {
  const locals = res.locals as SessionLocals;
  return { principal: locals.principal, csrfToken: locals.csrfToken, path: `${req.baseUrl}${req.path}` };
}

/** A query parameter given at most once, as text of at most 200 characters; undefined when absent or empty. */
export function queryParam(req: Request, name: string): string | undefined {
  const value = req.query[name];
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || value.length > 200) throw new ApiError('invalid_request', `${name} must be given once, as text of at most 200 characters`);
  return value;
}
