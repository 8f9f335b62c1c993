/**
 * Signing in to the console: an API key is exchanged for a session cookie, and every later request is
 * checked three ways before a page or action runs.
 * - The session: the cookie's id must name an unexpired session (store/console-sessions.ts), and the key
 *   it was opened with must still be valid: revoking a key ends its sessions at their next request.
 * - Forgery: the cookie is SameSite=Strict and HttpOnly (Secure over HTTPS); every POST must also carry
 *   the session's token (form field `_csrf` or header X-CSRF-Token) and come from this origin
 *   (Origin, else Referer), so a page elsewhere can neither send the cookie nor guess the token.
 * - The role: each action names the API route it stands for, and AccessControl.authorize applies that
 *   route's access, so the console refuses exactly what the API refuses.
 */
import { timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { AccessControl, Principal } from '../api/access';
import { ApiError } from '../errors';
import type { Repositories } from '../store/repositories';
import { UI } from './html';

export const SESSION_COOKIE = 'mlops_console';

export interface SessionDeps {
  repos: Pick<Repositories, 'consoleSessions'>;
  access: AccessControl;
  /** How long a session lasts from sign-in (MLOPS_CONSOLE_SESSION_HOURS). */
  ttlSeconds: number;
  /** Every cookie Secure, whatever the request came over (the public URL is https). */
  secureCookies: boolean;
}

/** What the session middleware leaves in res.locals for pages and actions. */
export interface SessionLocals {
  principal: Principal;
  csrfToken: string;
}

/** The cookie header's value for a session id: HttpOnly, SameSite=Strict, Secure over HTTPS, scoped to the console. */
export function sessionCookie(id: string, o: { secure: boolean; maxAgeSeconds: number }): string {
  return [`${SESSION_COOKIE}=${id}`, `Path=${UI}`, `Max-Age=${Math.max(0, Math.floor(o.maxAgeSeconds))}`, 'HttpOnly', 'SameSite=Strict', ...(o.secure ? ['Secure'] : [])].join('; ');
}

/** The header that removes the cookie (sign-out, or a session that ended). */
export const clearedCookie = (secure: boolean) => sessionCookie('', { secure, maxAgeSeconds: 0 });

/** The session id from the request's cookies, when it has one of the right shape. */
export function sessionIdOf(req: Request): string | undefined {
  for (const part of (req.get('cookie') ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === SESSION_COOKIE) {
      const id = value.join('=');
      return /^[A-Za-z0-9_-]{43}$/.test(id) ? id : undefined;
    }
  }
  return undefined;
}

/** Whether the request came over HTTPS (directly, or as the app's `trust proxy` setting says). */
export const isHttps = (req: Request) => req.secure;

/**
 * Middleware for every signed-in page and action: resolves the session to a principal, or sends the
 * browser to the sign-in page (a 401 for htmx and non-GET requests, which cannot follow a redirect usefully).
 */
export function requireSession(deps: SessionDeps) {
  return (req: Request, res: Response, next: NextFunction) => {
    void (async () => {
      const id = sessionIdOf(req);
      const session = id ? await deps.repos.consoleSessions.findConsoleSession(id) : undefined;
      const principal = session ? await deps.access.sessionPrincipal(session) : undefined;
      if (!session || !principal) {
        // a session whose key was revoked or whose admin key changed is ended for good
        if (id && session) await deps.repos.consoleSessions.deleteConsoleSession(id);
        if (id) res.append('Set-Cookie', clearedCookie(deps.secureCookies || isHttps(req)));
        if (req.method === 'GET' && !req.get('HX-Request')) {
          res.redirect(303, `${UI}/sign-in${session || id ? '?ended=1' : ''}`);
          return;
        }
        throw new ApiError('unauthorized', 'sign in to the console first (your session ended or never began)');
      }
      const locals: SessionLocals = { principal, csrfToken: session.csrfToken };
      Object.assign(res.locals, locals);
      next();
    })().catch(next);
  };
}

/**
 * Whether `origin` is this server's, as the browser saw it: this request's host, over the request's
 * scheme or over https. Behind a proxy that ends TLS, the request arrives over http while the browser's
 * page was https; the host is what keeps another site's page out.
 */
export function isOwnOrigin(req: Request, origin: string | undefined): boolean {
  const host = req.get('host');
  return origin !== undefined && host !== undefined && (origin === `${req.protocol}://${host}` || origin === `https://${host}`);
}

/**
 * Refuses a state change that did not come from a console page: the Origin (else the Referer's origin)
 * must be this server's, and the session's token must be echoed. A refusal changes nothing.
 */
export function checkForgery(req: Request, res: Response): void {
  const origin = req.get('origin');
  let from: string | undefined = origin && origin !== 'null' ? origin : undefined;
  if (!from) {
    const referer = req.get('referer');
    try { from = referer ? new URL(referer).origin : undefined; } catch { from = undefined; }
  }
  if (!isOwnOrigin(req, from)) throw new ApiError('forbidden', 'this request did not come from a console page (its Origin is missing or another site\'s)');
  const expected = Buffer.from(String((res.locals as SessionLocals).csrfToken ?? ''));
  const sent = req.get('x-csrf-token') ?? (typeof req.body?._csrf === 'string' ? req.body._csrf : '');
  const given = Buffer.from(String(sent));
  if (expected.length === 0 || given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new ApiError('forbidden', 'the form\'s anti-forgery token is missing or wrong; reload the page and try again');
  }
}
