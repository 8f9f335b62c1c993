/**
 * The web console on the real stack, over real HTTP: signing in with an API key (and a bad one), the
 * session cookie's flags, forged state changes refused (no anti-forgery token, another site's Origin, a
 * viewer's own session), sessions ended by revoking the key, by expiry and by signing out, an approval
 * through the console reaching the run, and every page answering for the roles that may see it.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { ApiStack, startApiStack } from './helpers/api-stack';
import { BREAST_CANCER } from './helpers/pipeline-env';
import { SESSION_COOKIE } from '../src/console/session';
import { startApi } from '../src/stack/runtime';

interface Browserish { cookie: string; csrf: string }

describe('web console: sessions, forgery and roles', () => {
  let stack: ApiStack;
  const keys: Record<string, { token: string; id: string }> = {};
  let waiting = '';

  const origin = () => stack.api.url;

  /** A request as a browser on the console's page would send it (own Origin), with the session cookie. */
  const send = async (method: string, path: string, o: { cookie?: string; form?: Record<string, string>; origin?: string | null; referer?: string } = {}) => {
    const headers: Record<string, string> = {};
    if (o.cookie) headers.cookie = o.cookie;
    if (o.origin !== null) headers.origin = o.origin ?? origin();
    if (o.referer) headers.referer = o.referer;
    if (o.form) headers['content-type'] = 'application/x-www-form-urlencoded';
    const res = await fetch(`${stack.api.url}${path}`, { method, headers, body: o.form ? new URLSearchParams(o.form).toString() : undefined, redirect: 'manual' });
    return { status: res.status, text: await res.text(), headers: res.headers };
  };

  const signIn = async (token: string): Promise<Browserish> => {
    const res = await send('POST', '/ui/sign-in', { form: { key: token } });
    assert.equal(res.status, 303, res.text);
    const cookie = res.headers.get('set-cookie')!.split(';')[0];
    const runs = await send('GET', '/ui/runs', { cookie });
    assert.equal(runs.status, 200, runs.text);
    const csrf = /data-csrf="([^"]+)"/.exec(runs.text)![1];
    return { cookie, csrf };
  };

  const runState = async (id: string) => (await stack.call('GET', `/v1/pipelines/${id}`)).body.state;

  before(async () => {
    stack = await startApiStack({ env: {} });
    for (const role of ['viewer', 'scientist', 'approver']) {
      const created = await stack.call('POST', '/v1/keys', { name: `${role}-person`, role });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      keys[role] = { token: created.body.token, id: created.body.id };
    }
    const started = await stack.call('POST', '/v1/pipelines', { model: 'tumour', data: { uri: BREAST_CANCER }, target: 'diagnosis', seed: 3 });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    waiting = started.body.id;
    await stack.waitRun(waiting, ['awaiting_approval']);
  });
  after(async () => { await stack?.close(); });

  it('the sign-in page has a labelled "API key" field and a "Sign in" button, and signed-out pages lead to it', async () => {
    const page = await send('GET', '/ui/sign-in');
    assert.equal(page.status, 200);
    assert.match(page.text, /<label for="key">API key<\/label>/);
    assert.match(page.text, /<input id="key" name="key" type="password"/);
    assert.match(page.text, /<button[^>]*type="submit">Sign in<\/button>/);
    assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    for (const path of ['/ui', '/ui/runs', '/ui/approvals', '/ui/audit']) {
      const res = await send('GET', path);
      assert.equal(res.status, 303, path);
      assert.match(res.headers.get('location') ?? '', /^\/ui\/(sign-in|runs)/, path);
    }
    // a signed-out action is refused, not redirected
    assert.equal((await send('POST', `/ui/approvals/${waiting}`, { form: { decision: 'approve' } })).status, 401);
  });

  it('htmx comes from the installed package, not a CDN: the served file is the package\'s', async () => {
    const res = await fetch(`${stack.api.url}/ui/assets/htmx.min.js`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /javascript/);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), fs.readFileSync(require.resolve('htmx.org/dist/htmx.min.js')));
    const page = await send('GET', '/ui/sign-in');
    assert.doesNotMatch(page.text, /https?:\/\/(?!127\.0\.0\.1)[^"']*\.(js|css)/, 'no asset from elsewhere');
  });

  it('a wrong key signs nobody in, gets no cookie and is audited', async () => {
    for (const key of ['mlk_aaaaaaaaaaaa_' + 'b'.repeat(43), 'not a key', keys.viewer.token.slice(0, -1) + 'x']) {
      const res = await send('POST', '/ui/sign-in', { form: { key } });
      assert.equal(res.status, 401, key);
      assert.equal(res.headers.get('set-cookie'), null);
      assert.match(res.text, /not valid/);
    }
    assert.equal((await send('POST', '/ui/sign-in', { form: { key: '' } })).status, 400);
    const audit = await stack.call('GET', '/v1/audit?action=access.unauthenticated');
    assert.ok(audit.body.entries.some((e: { subject: string }) => e.subject === 'POST /ui/sign-in'), JSON.stringify(audit.body.entries.slice(0, 3)));
  });

  it('a good key gets an HttpOnly, SameSite=Strict session cookie for /ui (Secure over HTTPS); the store keeps only its hash', async () => {
    const res = await send('POST', '/ui/sign-in', { form: { key: keys.viewer.token } });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), '/ui/runs');
    const cookie = res.headers.get('set-cookie')!;
    assert.match(cookie, new RegExp(`^${SESSION_COOKIE}=[A-Za-z0-9_-]{43}; `));
    const flags = cookie.split(';').map((f) => f.trim());
    assert.ok(flags.includes('HttpOnly') && flags.includes('SameSite=Strict') && flags.includes('Path=/ui'), cookie);
    assert.ok(!flags.includes('Secure'), 'plain HTTP: a Secure cookie would never come back');
    assert.ok(flags.some((f) => /^Max-Age=28800$/.test(f)), cookie);
    const id = cookie.split(';')[0].split('=')[1];
    const { rows } = await stack.stores.pool.query('SELECT id_hash, key_id FROM console_sessions');
    assert.ok(rows.length >= 1);
    assert.ok(rows.every((r) => r.id_hash !== id && !String(r.id_hash).includes(id)), 'the cookie value is not in the table');
    assert.ok(rows.some((r) => r.key_id === keys.viewer.id));
    // a cookie of the right shape that names no session is no way in
    assert.equal((await send('GET', '/ui/runs', { cookie: `${SESSION_COOKIE}=${'A'.repeat(43)}` })).status, 303);
  });

  it('behind TLS (the public URL is https), the session cookie is Secure, and so is the one that clears it', async () => {
    const config = { ...stack.config, api: { ...stack.config.api, port: 0, url: 'https://console.example' } };
    const tls = await startApi(config, { temporalAddress: stack.temporal.address, temporalUiUrl: 'http://ui.test', databaseUrl: stack.db.url }, stack.stores, () => undefined);
    try {
      const signIn = await fetch(`${tls.url}/ui/sign-in`, { method: 'POST', redirect: 'manual', headers: { origin: tls.url, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ key: keys.viewer.token }).toString() });
      assert.equal(signIn.status, 303);
      const cookie = signIn.headers.get('set-cookie')!;
      assert.ok(cookie.split('; ').includes('Secure'), cookie);
      const stale = await fetch(`${tls.url}/ui/runs`, { redirect: 'manual', headers: { cookie: `${SESSION_COOKIE}=${'B'.repeat(43)}` } });
      assert.match(stale.headers.get('set-cookie') ?? '', /Max-Age=0; HttpOnly; SameSite=Strict; Secure/);
    } finally {
      await tls.stop();
    }
  });

  it('forged approvals are refused and change nothing: no token, a wrong token, another site, no origin at all', async () => {
    const approver = await signIn(keys.approver.token);
    const path = `/ui/approvals/${waiting}`;
    const cases: [string, Parameters<typeof send>[2]][] = [
      ['no token', { cookie: approver.cookie, form: { decision: 'approve' } }],
      ['wrong token', { cookie: approver.cookie, form: { decision: 'approve', _csrf: approver.csrf.replace(/^./, (c) => (c === 'a' ? 'b' : 'a')) } }],
      ['another site', { cookie: approver.cookie, form: { decision: 'approve', _csrf: approver.csrf }, origin: 'https://evil.example' }],
      ['no Origin or Referer', { cookie: approver.cookie, form: { decision: 'approve', _csrf: approver.csrf }, origin: null }],
      ['a Referer elsewhere', { cookie: approver.cookie, form: { decision: 'approve', _csrf: approver.csrf }, origin: null, referer: 'https://evil.example/ui/approvals' }],
    ];
    for (const [what, o] of cases) {
      const res = await send('POST', path, o);
      assert.equal(res.status, 403, `${what}: ${res.text.slice(0, 300)}`);
    }
    assert.equal(await runState(waiting), 'awaiting_approval');
    const run = (await stack.call('GET', `/v1/pipelines/${waiting}`)).body;
    assert.equal(run.approval.received?.length ?? 0, 0, 'no decision reached the run');
  });

  it('behind a proxy that ends TLS, the browser\'s https origin for this host is the console\'s own; another port or host is not', async () => {
    const host = new URL(stack.api.url).host;
    const proxied = await send('POST', '/ui/sign-in', { form: { key: keys.viewer.token }, origin: `https://${host}` });
    assert.equal(proxied.status, 303, proxied.text);
    for (const origin of [`https://${host.replace(/:\d+$/, ':1')}`, 'https://127.0.0.2', `http://evil.example`]) {
      const forged = await send('POST', '/ui/sign-in', { form: { key: keys.viewer.token }, origin });
      assert.equal(forged.status, 403, `${origin}: ${forged.text.slice(0, 200)}`);
    }
  });

  it('a viewer sees no Approve button, and a POST forged from the viewer\'s own session is refused, audited and changes nothing', async () => {
    const viewer = await signIn(keys.viewer.token);
    const page = await send('GET', '/ui/approvals', { cookie: viewer.cookie });
    assert.equal(page.status, 200);
    assert.match(page.text, new RegExp(waiting));
    assert.doesNotMatch(page.text, />Approve</);
    assert.doesNotMatch(page.text, />Reject</);
    const forged = await send('POST', `/ui/approvals/${waiting}`, { cookie: viewer.cookie, form: { decision: 'approve', comment: 'let me in', _csrf: viewer.csrf } });
    assert.equal(forged.status, 403, forged.text);
    assert.match(forged.text, /needs the approver role/);
    assert.equal(await runState(waiting), 'awaiting_approval');
    const audit = await stack.call('GET', '/v1/audit?action=access.forbidden');
    assert.ok(audit.body.entries.some((e: { actor: string; subject: string }) => e.actor === 'viewer-person' && e.subject === 'POST /ui/approvals/:id'), JSON.stringify(audit.body.entries.slice(0, 3)));
    // the same for a rollout and a label: refused before any use case runs
    assert.equal((await send('POST', '/ui/rollouts/tumour/rollout-x/promote', { cookie: viewer.cookie, form: { _csrf: viewer.csrf } })).status, 403);
    assert.equal((await send('POST', '/ui/review/00000000-0000-4000-8000-000000000000/label', { cookie: viewer.cookie, form: { label: 'x', _csrf: viewer.csrf } })).status, 403);
    // reading the audit log is an admin's power, on the console as in the API
    assert.equal((await send('GET', '/ui/audit', { cookie: viewer.cookie })).status, 403);
  });

  it('a bad decision is a 400 page; the approver approves with a comment and the run deploys, recorded as theirs', async () => {
    const approver = await signIn(keys.approver.token);
    const path = `/ui/approvals/${waiting}`;
    assert.equal((await send('POST', path, { cookie: approver.cookie, form: { decision: 'maybe', _csrf: approver.csrf } })).status, 400);
    assert.equal((await send('POST', path, { cookie: approver.cookie, form: { decision: 'approve', comment: 'nul \u0000', _csrf: approver.csrf } })).status, 400);
    const ok = await send('POST', path, { cookie: approver.cookie, form: { decision: 'approve', comment: 'looks good <b>to me</b>', _csrf: approver.csrf } });
    assert.equal(ok.status, 303, ok.text);
    assert.equal(ok.headers.get('location'), '/ui/approvals?done=approve');
    const run = await stack.waitRun(waiting, ['deployed']);
    assert.equal(run.approval.decision.by, 'approver-person');
    assert.equal(run.approval.decision.comment, 'looks good <b>to me</b>');
    assert.equal(run.approval.decision.channel, 'console');
    const after = await send('GET', '/ui/approvals?done=approve', { cookie: approver.cookie });
    assert.match(after.text, /Your approval was recorded/);
    assert.match(after.text, /looks good &lt;b&gt;to me&lt;\/b&gt;/, 'the comment is shown escaped');
    assert.doesNotMatch(after.text, /<b>to me<\/b>/);
    // a second decision on a run that is no longer waiting is a conflict, said on the page
    const again = await send('POST', path, { cookie: approver.cookie, form: { decision: 'reject', _csrf: approver.csrf } });
    assert.equal(again.status, 409, again.text);
  });

  it('every page renders for an admin; a viewer reads all but the audit log', async () => {
    const admin = await signIn(stack.config.api.adminKey!);
    const viewer = await signIn(keys.viewer.token);
    const datasetId = (await stack.call('GET', `/v1/pipelines/${waiting}`)).body.datasetId;
    const pages = ['/ui/runs', '/ui/runs?state=deployed&trigger=manual&model=tumour&since=2020-01-01', `/ui/runs/compare?id=${waiting}`, '/ui/runs/progress', '/ui/registry', '/ui/registry/tumour',
      '/ui/registry/tumour/versions/1', '/ui/registry/tumour/versions/1/report', '/ui/datasets', `/ui/datasets/${datasetId}`, `/ui/datasets?from=${datasetId}&to=${datasetId}`,
      '/ui/approvals', '/ui/rollouts', '/ui/rollouts/live', '/ui/monitoring', '/ui/monitoring/tumour', '/ui/audit', '/ui/audit?action=console.signed_in'];
    for (const path of pages) {
      const res = await send('GET', path, { cookie: admin.cookie });
      assert.equal(res.status, 200, `${path}: ${res.text.slice(0, 500)}`);
      if (path !== '/ui/audit' && !path.startsWith('/ui/audit?')) assert.equal((await send('GET', path, { cookie: viewer.cookie })).status, 200, `viewer ${path}`);
    }
    // the filters narrow the table; a model filter cannot leave its quotes in Temporal's list query
    const table = async (query: string) => /<table class="grid" id="runs">[\s\S]*?<\/table>|No run matches these filters/.exec((await send('GET', `/ui/runs?${query}`, { cookie: admin.cookie })).text)![0];
    assert.match(await table('model=tumour&state=deployed'), new RegExp(waiting));
    assert.match(await table('state=failed'), /No run matches/);
    assert.match(await table('model=other'), /No run matches/);
    assert.match(await table(`since=${new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10)}`), /No run matches/);
    assert.match(await table(`model=${encodeURIComponent("x' OR WorkflowType != 'x")}`), /No run matches/);
    const audit = await send('GET', '/ui/audit', { cookie: admin.cookie });
    assert.match(audit.text, /the chain of \d+ entries is intact/);
    assert.match(audit.text, /console\.signed_in/);
    const lineage = await send('GET', '/ui/registry/tumour/versions/1', { cookie: admin.cookie });
    assert.match(lineage.text, /aria-label="Lineage graph/);
    for (const [path, status] of [['/ui/runs?state=sleeping', 400], ['/ui/runs?since=yesterday', 400], ['/ui/registry/tumour/versions/0', 400], ['/ui/registry/nosuch', 404], ['/ui/registry/tumour/versions/9', 404], ['/ui/nowhere', 404], ['/ui/runs/compare', 400]] as const) {
      assert.equal((await send('GET', path, { cookie: admin.cookie })).status, status, path);
    }
  });

  it('hostile text in addresses and filters comes back as text, and a link cannot make a page say something', async () => {
    const admin = await signIn(stack.config.api.adminKey!);
    const script = '<script>alert(1)</script>';
    const quoted = '"><img src=x onerror=alert(1)>';
    const pages = [
      [`/ui/audit?action=${encodeURIComponent(script)}&subject=${encodeURIComponent(quoted)}`, 200],
      [`/ui/datasets/${encodeURIComponent(script)}`, 404],
      [`/ui/runs/compare?id=${encodeURIComponent(script)}`, 404],
      [`/ui/approvals?done=${encodeURIComponent(script)}`, 200],
      [`/ui/approvals?done=${encodeURIComponent('Your key expired, enter it at evil.example')}`, 200],
    ] as const;
    for (const [path, status] of pages) {
      const res = await send('GET', path, { cookie: admin.cookie });
      assert.equal(res.status, status, `${path}: ${res.text.slice(0, 300)}`);
      assert.doesNotMatch(res.text, /<script>alert|<img src=x/, path);
      assert.doesNotMatch(res.text, /evil\.example/, path);
    }
    const audit = await send('GET', pages[0][0], { cookie: admin.cookie });
    assert.match(audit.text, /value="&lt;script&gt;alert\(1\)&lt;\/script&gt;"/);
    assert.match(audit.text, /value="&quot;&gt;&lt;img src=x onerror=alert\(1\)&gt;"/);
  });

  it('revoking the key ends its sessions at their next request', async () => {
    const created = await stack.call('POST', '/v1/keys', { name: 'leaver', role: 'approver' });
    const leaver = await signIn(created.body.token);
    assert.equal((await stack.call('DELETE', `/v1/keys/${created.body.id}`)).status, 200);
    const page = await send('GET', '/ui/approvals', { cookie: leaver.cookie });
    assert.equal(page.status, 303);
    assert.equal(page.headers.get('location'), '/ui/sign-in?ended=1');
    assert.match(page.headers.get('set-cookie') ?? '', /Max-Age=0/);
    const action = await send('POST', `/ui/approvals/${waiting}`, { cookie: leaver.cookie, form: { decision: 'approve', _csrf: leaver.csrf } });
    assert.equal(action.status, 401);
    const { rows } = await stack.stores.pool.query('SELECT 1 FROM console_sessions WHERE key_id = $1', [created.body.id]);
    assert.equal(rows.length, 0, 'the ended session is gone from the store');
  });

  it('sessions expire, and signing out ends one for good', async () => {
    const scientist = await signIn(keys.scientist.token);
    await stack.stores.pool.query("UPDATE console_sessions SET expires_at = now() - interval '1 second' WHERE key_id = $1", [keys.scientist.id]);
    assert.equal((await send('GET', '/ui/runs', { cookie: scientist.cookie })).status, 303);

    const again = await signIn(keys.scientist.token);
    assert.equal((await send('POST', '/ui/sign-out', { cookie: again.cookie, form: {} })).status, 403, 'signing out needs the token too');
    const out = await send('POST', '/ui/sign-out', { cookie: again.cookie, form: { _csrf: again.csrf } });
    assert.equal(out.status, 303);
    assert.match(out.headers.get('set-cookie') ?? '', new RegExp(`^${SESSION_COOKIE}=; .*Max-Age=0`));
    assert.equal((await send('GET', '/ui/runs', { cookie: again.cookie })).status, 303);
  });
});
