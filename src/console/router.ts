/**
 * The web console at /ui: server-rendered pages over the same use cases the API routes call, with
 * htmx (served from the installed package) for live parts. Signing in exchanges an API key for a
 * session (session.ts); every page and action then applies the access of the API route it stands
 * for, through the same AccessControl, so the console can do nothing its user's key could not.
 */
import express, { NextFunction, Request, Response } from 'express';
import { holdsNul, NUL_REFUSED, toApiError } from '../api/http-errors';
import { ApiError, STATUS_OF } from '../errors';
import { decide } from '../usecases/approvals';
import { labelReviewItem } from '../usecases/review';
import { driftReportHtml, versionReportHtml } from '../usecases/reports';
import { MODEL_NAME } from '../domain/model-version';
import { CONSOLE_CSS, CONSOLE_JS, htmxScript } from './assets';
import { ApiRoute, ConsoleDeps, contextOf, routeSpec } from './deps';
import { CONSOLE_CSP, escapeHtml, Html, link, notice, page, PageContext, UI } from './html';
import { APPROVAL_ROUTE, approvalsPage } from './pages/approvals';
import { auditPage } from './pages/audit';
import { LABEL_ROUTE, modelMonitoringPage, monitoringIndex } from './pages/monitoring';
import { datasetPage, datasetsPage, modelPage, modelsPage, versionPage, versionParam } from './pages/registry';
import { ABORT_ROUTE, PROMOTE_ROUTE, rolloutsFragment } from './pages/rollouts';
import { comparePage, progressFragment, runsPage } from './pages/runs';
import { checkForgery, clearedCookie, isHttps, isOwnOrigin, requireSession, sessionCookie, sessionIdOf } from './session';

export type { ConsoleDeps } from './deps';

/** What a finished action says on the page it returns to; a fixed list, so a link cannot make the page say anything else. */
const DONE: Record<string, string> = {
  approve: 'Your approval was recorded.',
  reject: 'Your rejection was recorded.',
  promote: 'The rollout was promoted.',
  abort: 'The rollout was aborted.',
  labelled: 'The label was saved.',
};

const doneNotice = (req: Request): Html | undefined => {
  const key = typeof req.query.done === 'string' ? req.query.done : '';
  return Object.hasOwn(DONE, key) ? notice(DONE[key]) : undefined;
};

const modelParam = (req: Request, name = 'name'): string => {
  const value = String(req.params[name]);
  if (!MODEL_NAME.test(value)) throw new ApiError('not_found', `model "${value}" does not exist`);
  return value;
};

function sendHtml(res: Response, status: number, html: Html): void {
  res.status(status).set({ 'Content-Security-Policy': CONSOLE_CSP, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'same-origin' }).type('html').send(html);
}

function signInPage(message?: Html): Html {
  return page('Sign in', undefined, `<section class="signin">${message ?? ''}
    <form method="post" action="${UI}/sign-in">
      <label for="key">API key</label>
      <input id="key" name="key" type="password" autocomplete="off" required maxlength="200" autofocus>
      <button class="primary" type="submit">Sign in</button>
    </form>
    <p class="muted">Use an API key an admin gave you (mlops keys create) or the admin key. The key stays on the server: the console keeps a session cookie instead.</p></section>`);
}

export function consoleRouter(deps: ConsoleDeps): express.Router {
  const router = express.Router();
  const session = requireSession({ repos: deps.repos, access: deps.access, ttlSeconds: deps.sessionTtlSeconds, secureCookies: deps.secureCookies });
  const secure = (req: Request) => deps.secureCookies || isHttps(req);
  const where = (req: Request) => `${req.baseUrl}${req.route?.path ?? req.path}`;
  const address = (req: Request) => req.ip ?? req.socket.remoteAddress ?? 'unknown';
  /**
   * The check a page or action runs on each request: the access of the API route it stands for, looked
   * up when the console is built (it is mounted after the API's routes), so a name that matches no route
   * stops the server at start rather than at a click.
   */
  const accessCheck = (api: ApiRoute) => {
    const { access } = routeSpec(deps, api);
    return (req: Request, res: Response) => deps.access.authorize(access, contextOf(req, res).principal, { address: address(req), method: req.method, where: where(req) });
  };

  router.use(express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 50 }));
  router.use((req, _res, next) => next(holdsNul(req.body) || holdsNul(req.query) ? new ApiError('invalid_request', NUL_REFUSED) : undefined));

  router.get('/assets/console.css', (_req, res) => { res.type('css').set('Cache-Control', 'public, max-age=300').send(CONSOLE_CSS); });
  router.get('/assets/console.js', (_req, res) => { res.type('js').set('Cache-Control', 'public, max-age=300').send(CONSOLE_JS); });
  router.get('/assets/htmx.min.js', (_req, res) => { res.type('js').set('Cache-Control', 'public, max-age=3600').send(htmxScript()); });

  router.get('/sign-in', (req, res) => {
    sendHtml(res, 200, signInPage(req.query.ended ? notice('Your session ended; sign in again.', 'bad') : undefined));
  });
  router.post('/sign-in', (req, res, next) => {
    void (async () => {
      // a page elsewhere must not sign a browser in under someone else's key (login forgery)
      const origin = req.get('origin');
      if (origin && !isOwnOrigin(req, origin)) throw new ApiError('forbidden', 'sign in from the console\'s own page');
      const key = typeof req.body?.key === 'string' ? req.body.key.trim() : '';
      if (!key) throw new ApiError('invalid_request', 'enter an API key');
      // the same check as the API's (bad keys are audited and throttled per address)
      const principal = await deps.access.admit('viewer', { authorization: `Bearer ${key}`, address: address(req), method: 'POST', where: `${UI}/sign-in` });
      if (!principal) throw new ApiError('unauthorized', 'the API key is not valid');
      await deps.repos.consoleSessions.pruneConsoleSessions();
      const created = await deps.repos.consoleSessions.createConsoleSession(principal.keyId ? { keyId: principal.keyId, ttlSeconds: deps.sessionTtlSeconds } : { adminFingerprint: deps.access.adminFingerprint(), ttlSeconds: deps.sessionTtlSeconds });
      await deps.repos.registry.recordAudit({ actor: principal.name, action: 'console.signed_in', subject: principal.keyId ?? 'admin', details: { address: address(req), expiresAt: created.expiresAt } });
      res.append('Set-Cookie', sessionCookie(created.id, { secure: secure(req), maxAgeSeconds: deps.sessionTtlSeconds }));
      res.redirect(303, `${UI}/runs`);
    })().catch(next);
  });
  router.post('/sign-out', session, (req, res, next) => {
    void (async () => {
      checkForgery(req, res);
      const id = sessionIdOf(req);
      if (id) await deps.repos.consoleSessions.deleteConsoleSession(id);
      await deps.repos.registry.recordAudit({ actor: contextOf(req, res).principal.name, action: 'console.signed_out', subject: contextOf(req, res).principal.keyId ?? 'admin', details: {} });
      res.append('Set-Cookie', clearedCookie(secure(req)));
      res.redirect(303, `${UI}/sign-in`);
    })().catch(next);
  });
  router.get(['/', ''], (_req, res) => { res.redirect(303, `${UI}/runs`); });

  /** A page: the session, then the access of the API route it stands for, then the page. */
  const view = (path: string, api: ApiRoute, title: (req: Request) => string, render: (ctx: PageContext, req: Request) => Promise<Html>) => {
    const authorize = accessCheck(api);
    router.get(path, session, (req, res, next) => {
      void (async () => {
        await authorize(req, res);
        const ctx = contextOf(req, res);
        sendHtml(res, 200, page(title(req), ctx, await render(ctx, req)));
      })().catch(next);
    });
  };
  /** A piece of a page that htmx refreshes: the same checks, no frame. */
  const fragment = (path: string, api: ApiRoute, render: (ctx: PageContext, req: Request) => Promise<Html>) => {
    const authorize = accessCheck(api);
    router.get(path, session, (req, res, next) => {
      void (async () => {
        await authorize(req, res);
        sendHtml(res, 200, await render(contextOf(req, res), req));
      })().catch(next);
    });
  };
  /** A standalone report page (it carries its own stricter policy: no script at all). */
  const report = (path: string, api: ApiRoute, render: (req: Request) => Promise<Html>) => {
    const authorize = accessCheck(api);
    router.get(path, session, (req, res, next) => {
      void (async () => {
        await authorize(req, res);
        const html = await render(req);
        res.status(200).set({ 'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; img-src data:", 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' }).type('html').send(html);
      })().catch(next);
    });
  };
  /** A state change: the session, a forgery check, the API route's access, then the same use case; back to `to` with a notice. */
  const action = (path: string, api: ApiRoute, run: (ctx: PageContext, req: Request) => Promise<{ to: string; done: string }>) => {
    const authorize = accessCheck(api);
    router.post(path, session, (req, res, next) => {
      void (async () => {
        checkForgery(req, res);
        await authorize(req, res);
        const { to, done } = await run(contextOf(req, res), req);
        res.redirect(303, `${to}?done=${encodeURIComponent(done)}`);
      })().catch(next);
    });
  };

  // reports link to each other under /ui, where the session cookie opens them
  const reportDeps = {
    repos: deps.repos, artifacts: deps.artifacts, uiUrl: deps.uiUrl,
    versionReportHref: (model: string, version: number) => `${UI}/registry/${encodeURIComponent(model)}/versions/${version}/report`,
  };

  view('/runs', 'GET /v1/pipelines/:id', () => 'Runs', (ctx, req) => runsPage(deps, ctx, req));
  fragment('/runs/progress', 'GET /v1/pipelines/:id', async () => progressFragment(await deps.pipelines.list({ running: true, limit: 20 })));
  view('/runs/compare', 'GET /v1/pipelines/:id', () => 'Compare runs', (ctx, req) => comparePage(deps, ctx, req));

  view('/registry', 'GET /v1/models', () => 'Registry', () => modelsPage(deps));
  view('/datasets', 'GET /v1/datasets', () => 'Dataset versions', (_ctx, req) => datasetsPage(deps, req));
  view('/datasets/:id', 'GET /v1/datasets/:id', (req) => `Dataset ${String(req.params.id).slice(0, 12)}`, (_ctx, req) => datasetPage(deps, String(req.params.id)));
  view('/registry/:name', 'GET /v1/models/:name', (req) => `Model ${req.params.name}`, (_ctx, req) => modelPage(deps, modelParam(req)));
  view('/registry/:name/versions/:version', 'GET /v1/models/:name/versions/:version', (req) => `${req.params.name} v${req.params.version}`, (_ctx, req) => versionPage(deps, modelParam(req), versionParam(String(req.params.version))));
  report('/registry/:name/versions/:version/report', 'GET /v1/models/:name/versions/:version/report', (req) => versionReportHtml(reportDeps, modelParam(req), versionParam(String(req.params.version))));

  view('/approvals', 'GET /v1/pipelines/:id', () => 'Approvals', (ctx, req) => approvalsPage(deps, ctx, doneNotice(req)));
  action('/approvals/:id', APPROVAL_ROUTE, async (ctx, req) => {
    const decision = req.body?.decision;
    if (decision !== 'approve' && decision !== 'reject') throw new ApiError('invalid_request', 'decision is "approve" or "reject"');
    const comment = typeof req.body?.comment === 'string' && req.body.comment.trim() ? req.body.comment.trim().slice(0, 2000) : undefined;
    await decide(deps.repos, deps.pipelines, String(req.params.id), { decision, by: ctx.principal.name, channel: 'console', ...(comment ? { comment } : {}) });
    return { to: `${UI}/approvals`, done: decision };
  });

  view('/rollouts', 'GET /v1/models/:name/deployments', () => 'Rollouts', async (ctx, req) => `${doneNotice(req) ?? ''}${await rolloutsFragment(deps, ctx)}`);
  fragment('/rollouts/live', 'GET /v1/models/:name/deployments', (ctx) => rolloutsFragment(deps, ctx));
  for (const [verb, api] of [['promote', PROMOTE_ROUTE], ['abort', ABORT_ROUTE]] as const) {
    action(`/rollouts/:name/:id/${verb}`, api, async (ctx, req) => {
      await deps.rollouts.decide(modelParam(req), String(req.params.id), verb, { by: ctx.principal.name, reason: 'from the console' });
      return { to: `${UI}/rollouts`, done: verb };
    });
  }

  view('/monitoring', 'GET /v1/models/:name/monitoring', () => 'Monitoring', () => monitoringIndex(deps));
  view('/monitoring/:name', 'GET /v1/models/:name/monitoring', (req) => `Monitoring ${req.params.name}`, (ctx, req) => modelMonitoringPage(deps, ctx, modelParam(req), doneNotice(req)));
  report('/monitoring/:name/checks/:checkId/report', 'GET /v1/models/:name/monitoring/checks/:checkId/report', (req) => driftReportHtml(reportDeps, modelParam(req), String(req.params.checkId)));
  action('/review/:id/label', LABEL_ROUTE, async (ctx, req) => {
    const label = typeof req.body?.label === 'string' ? req.body.label.trim() : '';
    if (!label || label.length > 500) throw new ApiError('invalid_request', 'a label has 1 to 500 characters');
    const item = await labelReviewItem(deps.repos, String(req.params.id), label, ctx.principal.name, deps.privacy.decryptionKeys);
    return { to: `${UI}/monitoring/${encodeURIComponent(item.model)}`, done: 'labelled' };
  });

  view('/audit', 'GET /v1/audit', () => 'Audit log', (_ctx, req) => auditPage(deps, req));


  router.use((req, _res, next) => next(new ApiError('not_found', `the console has no page ${req.method} ${req.baseUrl}${req.path}`)));
  // errors as pages: a refused action says why, with the way back; an ended session leads to sign-in
  router.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const e = toApiError(err);
    if (e.code === 'internal') deps.log?.(`console: internal error on ${req.method} ${req.originalUrl}: ${(err as Error)?.stack ?? String(err)}`);
    const status = STATUS_OF[e.code];
    const ctx = res.locals.principal ? contextOf(req, res) : undefined;
    if (!ctx) { sendHtml(res, status, signInPage(notice(e.message, 'bad'))); return; }
    if (req.get('HX-Request')) { sendHtml(res, status, notice(e.message, 'bad')); return; }
    const back = req.get('referer');
    sendHtml(res, status, page(status === 403 ? 'Not allowed' : status === 404 ? 'Not found' : 'That did not work', ctx,
      `${notice(e.message, 'bad')}<p>${back && back.startsWith(`${req.protocol}://${req.get('host')}${UI}`) ? link(back, 'Back') : link(`${UI}/runs`, 'Back to runs')}</p><p class="muted">${escapeHtml(`${req.method} ${req.baseUrl}${req.path}`)}</p>`));
  });
  return router;
}
