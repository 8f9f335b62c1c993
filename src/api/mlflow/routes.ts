/**
 * Registers the MLflow routes with the least role each needs, and keeps the table of them (the attack
 * test walks it). A caller's MLflow token (`MLFLOW_TRACKING_TOKEN`, sent as `Authorization: Bearer`)
 * is an API key of the platform, checked by the same AccessControl as /v1: refusals are audited and
 * throttled alike. A handler returns the JSON to answer with, or answers itself (artifact downloads).
 */
import type { Request, Response, Router } from 'express';
import type { Role } from '../../auth/roles';
import type { AccessControl, Principal } from '../access';

export type MlflowMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface MlflowRouteSpec {
  method: MlflowMethod;
  /** The route's path under /mlflow, in Express's syntax. */
  path: string;
  role: Role;
}

/** A request the access check let through, and who sent it. */
export interface MlflowCall {
  req: Request;
  res: Response;
  /** The API key's name (`admin` for the configured admin key): who the store records as creator. */
  actor: string;
  principal: Principal;
}

export type MlflowHandler = (call: MlflowCall) => Promise<unknown>;

export class MlflowRoutes {
  readonly routes: MlflowRouteSpec[] = [];

  constructor(private readonly router: Router, private readonly access: AccessControl, private readonly mountPath: string) {}

  add(method: MlflowMethod, path: string, role: Role, handler: MlflowHandler): void {
    this.routes.push({ method, path, role });
    this.router[method](path, (req, res, next) => {
      this.run(role, path, handler, req, res).catch(next);
    });
  }

  private async run(role: Role, path: string, handler: MlflowHandler, req: Request, res: Response): Promise<void> {
    const principal = await this.access.admit(role, {
      authorization: req.get('authorization'),
      address: req.ip ?? req.socket.remoteAddress ?? 'unknown',
      method: req.method,
      // the route's pattern, not the request's path: artifact paths and ids have no place in the audit log
      where: `${this.mountPath}${path}`,
    });
    // admit returns no principal only for open routes, and no MLflow route is open
    if (!principal) throw new Error(`the MLflow route ${path} was let through without a principal`);
    const body = await handler({ req, res, actor: principal.name, principal });
    if (!res.headersSent) res.json(body ?? {});
  }
}
