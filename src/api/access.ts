/**
 * Who may call what. Every route is registered through `SecuredRoutes` with the least role it needs
 * (or `open`), so the table of routes and roles exists in one place: the route-by-role test walks it,
 * and the OpenAPI document shows it. Callers present `Authorization: Bearer <key>`: an API key from the
 * store, or the configured admin key. Refusals are 401 (no valid key) or 403 (a valid key whose role is
 * too low), and both are written to the audit log; an address that keeps presenting bad keys gets
 * 429s for them.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { allows, Role } from '../auth/roles';
import { ApiError } from '../errors';
import type { Repositories } from '../store/repositories';

export type Access = Role | 'open' | 'predict' | 'feedback';

export interface Principal {
  /** Who, in the audit log and approvals: the API key's name (a person or a system), `admin` for the configured admin key. */
  name: string;
  role: Role;
  keyId?: string;
}

export interface RouteSpec {
  method: 'get' | 'post' | 'put' | 'delete';
  path: string;
  access: Access;
}

export interface AccessOptions {
  repos: Pick<Repositories, 'apiKeys' | 'registry'>;
  /** MLOPS_ADMIN_KEY: accepted as an admin, so first start and scripts need no manual step. */
  adminKey: string;
  /** Predict: `open` to anyone, or `key` (any valid key; viewer is enough). */
  predict: 'open' | 'key';
  /** Feedback: `key` (any valid key), or `open` to anyone who can reach the API. */
  feedback: 'open' | 'key';
  /** Bad keys one address may present per minute before it gets 429s. */
  failuresPerMinute?: number;
}

const digest = (text: string) => createHash('sha256').update(text).digest();

/**
 * Refused credentials per address and minute (bad API keys, forged Slack signatures): past the budget,
 * an address gets 429s, which say nothing about its guesses and cost the server almost nothing.
 */
export class FailureThrottle {
  private failures = new Map<string, { count: number; since: number }>();

  constructor(private readonly perMinute = 20) {}

  /** Counts one failure of `address`; throws a 429 with `message` once its budget for the minute is spent. */
  count(address: string, message: string): void {
    if (!this.allow(address)) throw new ApiError('rate_limited', message);
  }

  /** Counts one failure of `key`; false once its budget for the minute is spent. */
  allow(key: string): boolean {
    const now = Date.now();
    const f = this.failures.get(key);
    if (f && now - f.since <= 60_000 && f.count >= this.perMinute) return false;
    if (!f || now - f.since > 60_000) this.failures.set(key, { count: 1, since: now });
    else f.count++;
    if (this.failures.size > 10_000) {
      // a flood of addresses must not grow memory without bound: the minute's past entries go first, so
      // many addresses do not wipe out the count of one that is still guessing
      for (const [other, entry] of this.failures) if (now - entry.since > 60_000) this.failures.delete(other);
      if (this.failures.size > 10_000) this.failures.clear();
    }
    return true;
  }
}

/** Role refusals audited per key and minute: enough for a person (or a walk over every route), not for a loop. */
export const REFUSAL_AUDITS_PER_MINUTE = 120;

/** Resolves bearer tokens to principals and enforces roles per route. */
export class AccessControl {
  private readonly adminDigest: Buffer;
  private readonly badKeys: FailureThrottle;
  /** Role refusals audited per key and minute: past the budget they are still refused, not written down, so a valid key cannot grow the audit log without bound. */
  private readonly refusalAudits: FailureThrottle;

  constructor(private readonly o: AccessOptions) {
    this.adminDigest = digest(o.adminKey);
    this.badKeys = new FailureThrottle(o.failuresPerMinute);
    this.refusalAudits = new FailureThrottle(REFUSAL_AUDITS_PER_MINUTE);
  }

  /** The principal behind an Authorization header's bearer token: undefined without one, 'invalid' for a bad one. */
  async authenticate(header: string | undefined): Promise<Principal | 'invalid' | undefined> {
    if (!header) return undefined;
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) return 'invalid';
    const token = match[1];
    if (timingSafeEqual(digest(token), this.adminDigest)) return { name: 'admin', role: 'admin' };
    const key = await this.o.repos.apiKeys.verifyApiKey(token);
    return key ? { name: key.name, role: key.role, keyId: key.id } : 'invalid';
  }

  /** The least role a route with this access needs; undefined when it needs no key at all. */
  private requiredRole(access: Access): Role | undefined {
    if (access === 'open' || (access === 'predict' && this.o.predict === 'open') || (access === 'feedback' && this.o.feedback === 'open')) return undefined;
    return access === 'predict' || access === 'feedback' ? 'viewer' : access;
  }

  /** Whether a route with this access needs no key at all (its guard is then left out). */
  isOpen(access: Access): boolean {
    return this.requiredRole(access) === undefined;
  }

  /** Middleware: lets the request through when its principal's role allows `access`, else 401/403. */
  guard(access: Access): RequestHandler {
    return (req: Request, res: Response, next: NextFunction) => {
      this.check(access, req, res).then(() => next(), next);
    };
  }

  private async check(access: Access, req: Request, res: Response): Promise<void> {
    // a data subject's id is personal data: refused attempts on subject routes are recorded by the route's pattern
    const where = req.path.startsWith('/v1/subjects/') ? (req.route?.path as string | undefined) ?? '/v1/subjects/:id' : req.path;
    const principal = await this.admit(access, { authorization: req.get('authorization'), address: req.ip ?? req.socket.remoteAddress ?? 'unknown', method: req.method, where });
    if (principal) res.locals.principal = principal;
  }

  /**
   * The principal a request acts as when its role allows `access` (none for open access); otherwise a
   * 401, 403 or 429 to throw, with refusals audited. `where` names the route in the audit log.
   */
  async admit(access: Access, request: { authorization: string | undefined; address: string; method: string; where: string }): Promise<Principal | undefined> {
    const required = this.requiredRole(access);
    if (required === undefined) return undefined;
    const { address } = request;
    const principal = await this.authenticate(request.authorization);
    if (principal === undefined || principal === 'invalid') {
      if (principal === 'invalid') {
        // guessing keys from one address soon earns 429s, which say nothing about the guesses (valid keys still pass)
        this.badKeys.count(address, 'too many requests with invalid API keys from this address; wait a minute');
        await this.audit('access.unauthenticated', 'anonymous', request, { reason: 'invalid API key', address });
      }
      throw new ApiError('unauthorized', principal === 'invalid'
        ? 'the API key is not valid (unknown, revoked, expired or malformed)'
        : 'this route needs an API key: send "Authorization: Bearer <key>"');
    }
    await this.authorize(access, principal, request);
    return principal;
  }

  /**
   * The role check of `admit` for a principal already known (a console session's): a 403, audited,
   * when its role is below what `access` needs. The console's actions pass the access of the API route
   * they stand for, so both are refused alike.
   */
  async authorize(access: Access, principal: Principal, request: { address: string; method: string; where: string }): Promise<void> {
    const required = this.requiredRole(access);
    if (required === undefined || allows(principal.role, required)) return;
    if (this.refusalAudits.allow(principal.keyId ?? principal.name)) await this.audit('access.forbidden', principal.name, request, { role: principal.role, required, address: request.address });
    throw new ApiError('forbidden', `this needs the ${required} role; the key "${principal.name}" has ${principal.role}`);
  }

  /** Whether `principal` may use a route with this access (the console shows an action's button only then). */
  permits(access: Access, principal: Principal): boolean {
    const required = this.requiredRole(access);
    return required === undefined || allows(principal.role, required);
  }

  /** Names the configured admin key without revealing it: a console session opened with it keeps this, and ends when the key changes. */
  adminFingerprint(): string {
    return createHash('sha256').update(this.adminDigest).digest('hex');
  }

  /** Who a console session acts as now: its API key if still valid, or the admin key if unchanged; undefined otherwise. */
  async sessionPrincipal(session: { keyId?: string; adminFingerprint?: string }): Promise<Principal | undefined> {
    if (session.adminFingerprint !== undefined) {
      const current = Buffer.from(this.adminFingerprint(), 'hex');
      const given = Buffer.from(session.adminFingerprint, 'hex');
      return given.length === current.length && timingSafeEqual(given, current) ? { name: 'admin', role: 'admin' } : undefined;
    }
    if (session.keyId === undefined) return undefined;
    const key = await this.o.repos.apiKeys.activeApiKey(session.keyId);
    return key ? { name: key.name, role: key.role, keyId: key.id } : undefined;
  }

  private async audit(action: string, actor: string, request: { method: string; where: string }, details: Record<string, unknown>): Promise<void> {
    await this.o.repos.registry.recordAudit({ actor, action, subject: `${request.method} ${request.where}`, details }).catch(() => undefined);
  }
}

/** The principal a guarded handler runs for. */
export function principalOf(res: Response): Principal | undefined {
  return res.locals.principal as Principal | undefined;
}

/**
 * Who a request acts as, for the audit trail and approvals: the key's name, and nobody else. The shared
 * admin key is one person, `admin`. A body may repeat the caller's own name in `by` (older clients do);
 * naming someone else is refused, so one key cannot count as two approvers.
 */
export function actorOf(res: Response, by?: unknown): string {
  const principal = principalOf(res);
  const name = principal?.name ?? 'anonymous';
  if (by !== undefined && by !== name) {
    throw new ApiError('forbidden', `a request acts as the key that signed it ("${name}"); "by" cannot name someone else`);
  }
  return name;
}

/**
 * For what a request asks, not the route it takes, a higher role than the route's: a 403 saying why
 * (`what ... needs the <role> role (this key is <role>)`) unless the caller has it.
 */
export function requireRoleFor(res: Response, role: Role, what: string, advice = ''): void {
  const principal = principalOf(res);
  if (principal && allows(principal.role, role)) return;
  throw new ApiError('forbidden', `${what}, which needs the ${role} role (this key is ${principal?.role ?? 'anonymous'})${advice}`);
}

/**
 * A run that approves itself by its own thresholds (`approval.mode: "auto"`) is a deployment decided in
 * advance: it takes the approver role, as deciding afterwards does. A scientist's run waits for people,
 * or for the model's own auto-approval policy, which only an admin sets.
 */
export function checkApprovalMode(res: Response, approval: { mode?: string } | undefined): void {
  if (approval?.mode === 'auto') {
    requireRoleFor(res, 'approver', '"approval": {"mode": "auto"} deploys the model without a person deciding', ': leave approval manual, or have an admin set autoApprove in the model\'s approval policy');
  }
}

/** Where routes are registered: an Express app or router. */
export type RouteTarget = { [M in RouteSpec['method']]: (path: string, ...handlers: RequestHandler[]) => unknown };

/** Routes registered with the access they need; `routes` lists them all. */
export class SecuredRoutes {
  readonly routes: RouteSpec[] = [];

  constructor(readonly router: RouteTarget, private readonly access: AccessControl) {}

  private add(method: RouteSpec['method'], path: string, access: Access, handlers: RequestHandler[]): void {
    this.routes.push({ method, path, access });
    if (this.access.isOpen(access)) this.router[method](path, ...handlers);
    else this.router[method](path, this.access.guard(access), ...handlers);
  }

  get(path: string, access: Access, ...handlers: RequestHandler[]): void { this.add('get', path, access, handlers); }
  post(path: string, access: Access, ...handlers: RequestHandler[]): void { this.add('post', path, access, handlers); }
  put(path: string, access: Access, ...handlers: RequestHandler[]): void { this.add('put', path, access, handlers); }
  delete(path: string, access: Access, ...handlers: RequestHandler[]): void { this.add('delete', path, access, handlers); }
}
