/**
 * The PagerDuty channel end to end: the Alerter on a real metadata store sending over real HTTP to a
 * stand-in for PagerDuty's Events API v2 that checks every event against the v2 schema strictly
 * (a missing or unknown field is a 400, as PagerDuty answers an invalid event) and keeps incidents by
 * dedup_key, so a trigger, its repeats and its resolution are seen as PagerDuty would see them.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { createMonitoringActivities } from '../src/activities/monitoring';
import { AlertDeliveryError, Alerter, AlertInput, AlertResolveError, listAlerts } from '../src/alerts/alerter';
import { alertChannels, createAlerter } from '../src/alerts/channels';
import { ConfigError, loadConfig } from '../src/config';
import { createRepositories } from '../src/store/repositories';
import { ApiStack, startApiStack } from './helpers/api-stack';
import { createTestDatabase, TestDatabase } from './helpers/database';
import { BREAST_CANCER } from './helpers/pipeline-env';

const ROUTING_KEY = 'R0UT1NGKEY0123456789abcdefABCDEF';
const MINUTE = 60_000;

type Json = Record<string, unknown>;

/** Checks one Events API v2 body; returns what is wrong with it, or undefined. */
function schemaProblem(e: unknown): string | undefined {
  const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
  const onlyKeys = (o: Json, allowed: string[], where: string) => Object.keys(o).filter((k) => !allowed.includes(k)).map((k) => `unknown field ${where}${k}`)[0];
  if (!isObject(e)) return 'the event must be an object';
  const unknown = onlyKeys(e, ['routing_key', 'event_action', 'dedup_key', 'payload', 'links', 'images', 'client', 'client_url'], '');
  if (unknown) return unknown;
  if (typeof e.routing_key !== 'string' || e.routing_key.length !== 32) return 'routing_key must be a 32-character string';
  if (!['trigger', 'acknowledge', 'resolve'].includes(e.event_action as string)) return 'event_action must be trigger, acknowledge or resolve';
  if (e.dedup_key !== undefined && (typeof e.dedup_key !== 'string' || e.dedup_key.length === 0 || e.dedup_key.length > 255)) return 'dedup_key must be a string of 1 to 255 characters';
  if (e.event_action !== 'trigger') {
    if (typeof e.dedup_key !== 'string') return `dedup_key is required to ${e.event_action}`;
    return e.payload === undefined ? undefined : 'payload is only for trigger events';
  }
  const p = e.payload;
  if (!isObject(p)) return 'payload is required to trigger';
  const unknownInPayload = onlyKeys(p, ['summary', 'source', 'severity', 'timestamp', 'component', 'group', 'class', 'custom_details'], 'payload.');
  if (unknownInPayload) return unknownInPayload;
  if (typeof p.summary !== 'string' || p.summary.length === 0 || p.summary.length > 1024) return 'payload.summary must be a string of 1 to 1024 characters';
  if (typeof p.source !== 'string' || p.source.length === 0) return 'payload.source is required';
  if (!['critical', 'error', 'warning', 'info'].includes(p.severity as string)) return 'payload.severity must be critical, error, warning or info';
  if (p.timestamp !== undefined && (typeof p.timestamp !== 'string' || Number.isNaN(Date.parse(p.timestamp)))) return 'payload.timestamp must be an ISO 8601 time';
  for (const k of ['component', 'group', 'class'] as const) if (p[k] !== undefined && typeof p[k] !== 'string') return `payload.${k} must be a string`;
  if (p.custom_details !== undefined && !isObject(p.custom_details)) return 'payload.custom_details must be an object';
  if (e.links !== undefined) {
    if (!Array.isArray(e.links)) return 'links must be an array';
    for (const l of e.links) {
      if (!isObject(l) || typeof l.href !== 'string' || (l.text !== undefined && typeof l.text !== 'string') || onlyKeys(l, ['href', 'text'], 'links[].')) return 'links[] must be {href, text?}';
    }
  }
  return undefined;
}

interface Incident { dedupKey: string; status: 'triggered' | 'resolved'; triggers: number; events: Json[] }

/**
 * PagerDuty's enqueue endpoint: 202 {status, message, dedup_key} for a valid event, 400 with the
 * problem for an invalid one (echoing the routing key, so redaction is tested), or the status it is told.
 */
async function startPagerDuty() {
  const state = {
    fail: [] as number[], // statuses to answer, one per request, before accepting again
    requests: [] as Json[],
    incidents: new Map<string, Incident>(),
    invalid: [] as string[],
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const json = (status: number, body: object) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (req.method !== 'POST' || req.url !== '/v2/enqueue') { json(404, { status: 'not found' }); return; }
      if (!String(req.headers['content-type']).startsWith('application/json')) { json(400, { status: 'invalid event', message: 'content-type must be JSON' }); return; }
      let event: Json;
      try { event = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Json; } catch { json(400, { status: 'invalid event', message: 'not JSON' }); return; }
      state.requests.push(event);
      const status = state.fail.shift();
      if (status === 429) { json(429, { status: 'throttle event', message: 'Requests for this service are arriving too quickly.' }); return; }
      if (status !== undefined) { res.writeHead(status, { 'content-type': 'text/plain' }).end('upstream broke'); return; }
      const problem = schemaProblem(event);
      if (problem) {
        state.invalid.push(problem);
        json(400, { status: 'invalid event', message: 'Event object is invalid', errors: [problem, `routing_key ${String(event.routing_key)}`] });
        return;
      }
      const key = event.dedup_key as string;
      const incident = state.incidents.get(key) ?? { dedupKey: key, status: 'resolved', triggers: 0, events: [] };
      incident.events.push(event);
      if (event.event_action === 'trigger') {
        if (incident.status !== 'triggered') incident.triggers++;
        incident.status = 'triggered';
      } else if (event.event_action === 'resolve') incident.status = 'resolved';
      state.incidents.set(key, incident);
      json(202, { status: 'success', message: 'Event processed', dedup_key: key });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return Object.assign(state, {
    url,
    close: async () => { server.closeAllConnections(); await new Promise<void>((resolve) => server.close(() => resolve())); },
  });
}

describe('the PagerDuty channel', () => {
  let db: TestDatabase;
  let pd: Awaited<ReturnType<typeof startPagerDuty>>;
  let clock = Date.parse('2031-05-01T10:00:00Z');
  let logs: string[] = [];

  before(async () => {
    db = await createTestDatabase();
    pd = await startPagerDuty();
  });
  after(async () => {
    await pd.close();
    await db.close();
  });
  beforeEach(() => {
    pd.fail = [];
    pd.requests.length = 0;
    pd.invalid.length = 0;
    logs = [];
    clock += 24 * 60 * MINUTE;
  });

  /** An Alerter over the channels the registry builds from these settings, as the composition root does. */
  function alerter(o: { eventsUrl?: string; dedupMs?: number; timeoutMs?: number } = {}) {
    const settings = loadConfig({ PAGERDUTY_ROUTING_KEY: ROUTING_KEY, PAGERDUTY_EVENTS_URL: o.eventsUrl ?? `${pd.url}/`, MLOPS_ALERT_DEDUP_SECONDS: String((o.dedupMs ?? 60 * MINUTE) / 1000) }).alerts;
    const log = (line: string) => logs.push(line);
    const channels = alertChannels({ alerts: settings, log, ...(o.timeoutMs ? { httpTimeoutMs: o.timeoutMs } : {}) });
    assert.deepEqual(channels.map((c) => c.name), ['pagerduty']);
    return new Alerter(db.pool, { channels, dedupMs: settings.dedupMs, ratePerHour: settings.ratePerHour, log, now: () => new Date(clock) });
  }

  const breach = (id: string, model: string, kind = 'drift', extra: Partial<AlertInput> = {}): AlertInput => ({
    id, dedupKey: `monitor:${model}:${kind}`, model, severity: 'warning', title: `${model}: ${kind}`,
    summary: '3 of 10 features drifted (30%, the limit is 50%)', fields: { model, version: 2, 'rows checked': 1200, 'PSI age': 0.31 },
    link: `http://localhost:8080/v1/models/${model}/monitoring`, ...extra,
  });

  it('triggers a valid v2 event: dedup_key per problem, severity from the alert, summary, source, details and link', async () => {
    const outcome = await alerter().raise(breach('chk-1:alert', 'churn'));
    assert.deepEqual([outcome.state, outcome.channels], ['sent', { pagerduty: 'sent dedup_key monitor:churn:drift' }]);
    assert.deepEqual(pd.invalid, []);
    assert.deepEqual(pd.requests, [{
      routing_key: ROUTING_KEY, event_action: 'trigger', dedup_key: 'monitor:churn:drift',
      payload: {
        summary: 'churn: drift: 3 of 10 features drifted (30%, the limit is 50%)', source: 'mlops/churn', severity: 'warning',
        timestamp: new Date(clock).toISOString(), component: 'churn', group: 'mlops', class: 'drift',
        custom_details: { model: 'churn', version: 2, 'rows checked': 1200, 'PSI age': 0.31, summary: '3 of 10 features drifted (30%, the limit is 50%)', alert: 'chk-1:alert' },
      },
      links: [{ href: 'http://localhost:8080/v1/models/churn/monitoring', text: 'Details' }],
    }]);
    for (const severity of ['critical', 'info'] as const) {
      await alerter().raise(breach(`sev-${severity}`, `sev-${severity}`, 'quality', { severity }));
      assert.equal((pd.requests.at(-1)!.payload as Json).severity, severity);
    }
  });

  it('keeps the summary within 1024 characters and leaves out what the alert does not have', async () => {
    await alerter().raise({ id: 'long-1', dedupKey: 'platform:long', severity: 'info', title: 'Long', summary: 'x'.repeat(5000), fields: {} });
    assert.deepEqual(pd.invalid, []);
    const event = pd.requests[0];
    const payload = event.payload as Json;
    assert.equal((payload.summary as string).length, 1024);
    assert.equal(payload.source, 'mlops');
    assert.equal(payload.component, undefined);
    assert.equal(event.links, undefined);
  });

  it('triggers, then resolves the same dedup_key when a later check is clean; a recurrence triggers again at once', async () => {
    const a = alerter();
    await a.raise(breach('chk-2:alert', 'loans'));
    assert.equal(pd.incidents.get('monitor:loans:drift')?.status, 'triggered');
    const resolved = await a.resolve({ id: 'chk-3:resolve', model: 'loans', prefix: 'monitor:loans:' });
    assert.deepEqual(resolved, { id: 'chk-3:resolve', resolved: ['monitor:loans:drift'], channels: { 'monitor:loans:drift': { pagerduty: 'resolved dedup_key monitor:loans:drift' } } });
    assert.deepEqual(pd.requests.map((r) => [r.event_action, r.dedup_key]), [['trigger', 'monitor:loans:drift'], ['resolve', 'monitor:loans:drift']]);
    assert.deepEqual(pd.requests[1], { routing_key: ROUTING_KEY, event_action: 'resolve', dedup_key: 'monitor:loans:drift' });
    assert.equal(pd.incidents.get('monitor:loans:drift')?.status, 'resolved');
    // nothing open any more: another clean check sends nothing
    assert.deepEqual((await a.resolve({ id: 'chk-4:resolve', model: 'loans', prefix: 'monitor:loans:' })).resolved, []);
    assert.equal(pd.requests.length, 2);
    // the same problem ten minutes later, inside the dedup window: announced, not suppressed as a duplicate
    clock += 10 * MINUTE;
    const again = await a.raise(breach('chk-5:alert', 'loans'));
    assert.equal(again.state, 'sent');
    assert.equal(pd.incidents.get('monitor:loans:drift')?.triggers, 2);
  });

  it('a clean check resolves only that model\'s monitoring problems, not other models\' or its rollout alerts', async () => {
    const a = alerter();
    await a.raise(breach('m1:alert', 'alpha', 'drift'));
    await a.raise(breach('m2:alert', 'alpha', 'errors+quality'));
    await a.raise(breach('m3:alert', 'beta', 'drift'));
    await a.raise({ ...breach('r1:alert', 'alpha'), id: 'r1:alert', dedupKey: 'rollout:alpha:7' });
    const out = await a.resolve({ id: 'm4:resolve', model: 'alpha', prefix: 'monitor:alpha:' });
    assert.deepEqual(out.resolved.sort(), ['monitor:alpha:drift', 'monitor:alpha:errors+quality']);
    assert.deepEqual(pd.requests.filter((r) => r.event_action === 'resolve').map((r) => r.dedup_key).sort(), ['monitor:alpha:drift', 'monitor:alpha:errors+quality']);
    assert.equal(pd.incidents.get('monitor:beta:drift')?.status, 'triggered');
    assert.equal(pd.incidents.get('rollout:alpha:7')?.status, 'triggered');
  });

  it('retries do not double: raising the same occurrence again sends nothing, and a failed trigger is sent once when retried', async () => {
    const a = alerter();
    await a.raise(breach('rt-1:alert', 'retry'));
    const again = await a.raise(breach('rt-1:alert', 'retry'));
    assert.equal(again.state, 'sent');
    assert.equal(pd.requests.length, 1);

    pd.fail = [503];
    await assert.rejects(a.raise(breach('rt-2:alert', 'retry2')), (err: unknown) => err instanceof AlertDeliveryError && /HTTP 503/.test(err.outcome.channels.pagerduty));
    const retried = await a.raise(breach('rt-2:alert', 'retry2'));
    assert.equal(retried.state, 'sent');
    const triggers = pd.requests.filter((r) => r.dedup_key === 'monitor:retry2:drift');
    assert.equal(triggers.length, 2, 'one refused attempt, one accepted');
    assert.equal(pd.incidents.get('monitor:retry2:drift')?.triggers, 1);
    assert.equal(pd.incidents.get('monitor:retry2:drift')?.events.length, 1);
  });

  it('a 400, a 429 and a 5xx fail the alert as the webhook\'s errors do, without the routing key in anything stored or logged', async () => {
    const a = alerter();
    // a 400: the stand-in refuses an event whose routing key is not 32 characters, and echoes the key
    const badKey = 'short-key-but-still-secret';
    const b = new Alerter(db.pool, {
      channels: alertChannels({ alerts: { dedupMs: MINUTE, ratePerHour: 10, pagerduty: { routingKey: badKey, eventsUrl: pd.url } }, log: () => {} }),
      dedupMs: MINUTE, ratePerHour: 10, log: (l) => logs.push(l), now: () => new Date(clock),
    });
    await assert.rejects(b.raise(breach('e-400:alert', 'errs400')), (err: unknown) => {
      assert.ok(err instanceof AlertDeliveryError);
      assert.match(err.outcome.channels.pagerduty, /^failed: HTTP 400 \(PagerDuty refused the event\): .*routing_key must be a 32-character string/);
      assert.doesNotMatch(JSON.stringify(err.outcome) + err.message, new RegExp(badKey));
      assert.match(err.outcome.channels.pagerduty, /\[routing key\]/);
      return true;
    });
    pd.fail = [429];
    await assert.rejects(a.raise(breach('e-429:alert', 'errs429')), (err: unknown) => err instanceof AlertDeliveryError && /HTTP 429 \(PagerDuty is throttling this routing key\)/.test(err.outcome.channels.pagerduty));
    pd.fail = [500];
    await assert.rejects(a.raise(breach('e-500:alert', 'errs500')), (err: unknown) => err instanceof AlertDeliveryError && /HTTP 500/.test(err.outcome.reason ?? ''));
    // no answer in time, and nobody listening
    const slow = http.createServer(() => { /* never answers */ });
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    const slowUrl = `http://127.0.0.1:${(slow.address() as AddressInfo).port}`;
    try {
      await assert.rejects(alerter({ eventsUrl: slowUrl, timeoutMs: 300 }).raise(breach('e-slow:alert', 'errsslow')), (err: unknown) => err instanceof AlertDeliveryError && /no answer within 300 ms/.test(err.message));
    } finally {
      slow.closeAllConnections();
      await new Promise<void>((resolve) => slow.close(() => resolve()));
    }
    await assert.rejects(alerter({ eventsUrl: slowUrl }).raise(breach('e-down:alert', 'errsdown')), (err: unknown) => err instanceof AlertDeliveryError && /ECONNREFUSED/.test(err.message));

    const stored = await listAlerts(createRepositories(db.pool), { limit: 1000 });
    const everything = JSON.stringify(stored) + logs.join('\n') + JSON.stringify((await db.pool.query('SELECT * FROM alerts')).rows);
    assert.ok(stored.some((s) => s.id === 'e-400:alert' && s.state === 'failed'));
    assert.doesNotMatch(everything, new RegExp(`${ROUTING_KEY}|${badKey}`));
  });

  it('a refused resolution keeps the problem open and throws; the retry resolves it', async () => {
    const a = alerter();
    await a.raise(breach('rs-1:alert', 'flaky'));
    pd.fail = [429];
    await assert.rejects(a.resolve({ id: 'rs-2:resolve', model: 'flaky', prefix: 'monitor:flaky:' }), (err: unknown) => {
      assert.ok(err instanceof AlertResolveError);
      assert.deepEqual(err.outcome.resolved, []);
      assert.match(err.outcome.channels['monitor:flaky:drift'].pagerduty, /^failed: HTTP 429/);
      return true;
    });
    assert.equal(pd.incidents.get('monitor:flaky:drift')?.status, 'triggered');
    const retried = await a.resolve({ id: 'rs-2:resolve', model: 'flaky', prefix: 'monitor:flaky:' });
    assert.deepEqual(retried.resolved, ['monitor:flaky:drift']);
    assert.equal(pd.incidents.get('monitor:flaky:drift')?.status, 'resolved');
  });

  it('the monitor activities: a breached check triggers, a later clean check resolves with the same dedup_key', async () => {
    const repos = createRepositories(db.pool);
    const activities = createMonitoringActivities({ repos, alerter: alerter(), artifacts: {} as never, sources: {} as never });
    const window = { from: new Date(clock - 60 * MINUTE).toISOString(), to: new Date(clock).toISOString() };
    await repos.monitoring.saveCheck({ id: 'monitor-fraud-1', model: 'fraud', version: 3, window, rows: 500, labelled: 0, drift: null, quality: null, serving: null, breaches: [{ kind: 'drift', message: '4 of 9 features drifted' }] });
    assert.equal((await activities.raiseMonitorAlert({ checkId: 'monitor-fraud-1' })).state, 'sent');
    // a check that still breaches resolves nothing
    assert.deepEqual(await activities.resolveMonitorAlerts({ checkId: 'monitor-fraud-1', model: 'fraud' }), { resolved: [] });
    await repos.monitoring.saveCheck({ id: 'monitor-fraud-2', model: 'fraud', version: 3, window, rows: 500, labelled: 0, drift: null, quality: null, serving: null, breaches: [] });
    assert.deepEqual(await activities.resolveMonitorAlerts({ checkId: 'monitor-fraud-2', model: 'fraud' }), { resolved: ['monitor:fraud:drift'] });
    assert.deepEqual(pd.requests.map((r) => [r.event_action, r.dedup_key]), [['trigger', 'monitor:fraud:drift'], ['resolve', 'monitor:fraud:drift']]);
    const { rows } = await db.pool.query('SELECT resolved_by FROM alert_problems WHERE dedup_key = $1', ['monitor:fraud:drift']);
    assert.equal(rows[0].resolved_by, 'monitor-fraud-2:resolve');
  });
});

describe('PagerDuty through the monitor workflow, on the real stack', () => {
  let pd: Awaited<ReturnType<typeof startPagerDuty>>;
  let stack: ApiStack;

  before(async () => {
    pd = await startPagerDuty();
    stack = await startApiStack({ env: { MLOPS_TASK_QUEUE: 'pagerduty-test', PAGERDUTY_ROUTING_KEY: ROUTING_KEY, PAGERDUTY_EVENTS_URL: pd.url } });
  });
  after(async () => {
    await stack?.close();
    await pd?.close();
  });

  it('a clean check run by modelMonitor resolves the open incident with its dedup_key, as a versioned step', async () => {
    // the problem an earlier check announced, through an alerter built from the same settings as the worker's
    const alerter = createAlerter(stack.stores.pool, stack.config.alerts, { log: () => {} });
    const raised = await alerter.raise({ id: 'monitor-ghost-0:alert', dedupKey: 'monitor:ghost:drift', model: 'ghost', severity: 'warning', title: 'ghost: drift', summary: '2 of 4 features drifted', fields: { rows: 300 } });
    assert.equal(raised.channels.pagerduty, 'sent dedup_key monitor:ghost:drift');
    // "ghost" has no production version: its check finds nothing, which is clean
    const handle = await stack.temporal.client.workflow.start('modelMonitor', { taskQueue: stack.config.temporal.taskQueue, workflowId: 'monitor-ghost-1', args: [{ model: 'ghost' }] });
    const result = await handle.result() as { check: { breaches: unknown[] }; resolved?: string[] };
    assert.deepEqual(result.check.breaches, []);
    assert.deepEqual(result.resolved, ['monitor:ghost:drift']);
    assert.deepEqual(pd.requests.map((r) => [r.event_action, r.dedup_key]), [['trigger', 'monitor:ghost:drift'], ['resolve', 'monitor:ghost:drift']]);
    assert.equal(pd.incidents.get('monitor:ghost:drift')?.status, 'resolved');
    assert.deepEqual(pd.invalid, []);
    // the step is behind patched(): new runs record the marker, older histories replay without it
    const { events } = await handle.fetchHistory();
    const markers = events!.filter((e) => e.markerRecordedEventAttributes).map((e) => e.markerRecordedEventAttributes!);
    const patches = markers.filter((m) => m.markerName === 'core_patch').map((m) => {
      const data: unknown = m.details?.['patch-data']?.payloads?.[0]?.data;
      return typeof data === 'string' ? Buffer.from(data, 'base64').toString('utf8') : Buffer.from((data as Uint8Array | undefined) ?? []).toString('utf8');
    });
    assert.ok(patches.some((p) => p.includes('resolve-alerts-on-clean-check')), `patch marker recorded: ${JSON.stringify(markers).slice(0, 400)}`);
    // nothing was open for it any more: the next clean check tells PagerDuty nothing
    const again = await stack.temporal.client.workflow.execute('modelMonitor', { taskQueue: stack.config.temporal.taskQueue, workflowId: 'monitor-ghost-2', args: [{ model: 'ghost' }] }) as { resolved?: string[] };
    assert.deepEqual(again.resolved, []);
    assert.equal(pd.requests.length, 2);
  });

  it('when no alert channel takes a breach\'s alert, the check still goes on to the retraining the breach calls for', async () => {
    // a model trained from a file; new rows in the file are the breach (new data), PagerDuty is down
    const data = path.join(stack.files, 'cancer-growing.csv');
    fs.copyFileSync(BREAST_CANCER, data);
    const trained = await stack.call('POST', '/v1/pipelines', { model: 'growing', data: { uri: data }, target: 'diagnosis', approval: { mode: 'auto' } });
    assert.equal(trained.status, 202, JSON.stringify(trained.body));
    await stack.waitRun(trained.body.id, ['deployed']);
    const monitor = (id: string) => stack.temporal.client.workflow.execute('modelMonitor', { taskQueue: stack.config.temporal.taskQueue, workflowId: id, args: [{ model: 'growing' }] }) as Promise<{ check: { breaches: { kind: string }[] }; alert?: unknown; action?: { retraining: string; trigger: string } }>;
    await monitor('monitor-growing-1'); // the first sighting of the source
    const lines = fs.readFileSync(BREAST_CANCER, 'utf8').trimEnd().split('\n');
    fs.appendFileSync(data, `${lines.slice(1, 40).join('\n')}\n`);
    const before = pd.requests.length;
    pd.fail.push(...Array(10).fill(500));
    const result = await monitor('monitor-growing-2');
    pd.fail.length = 0;
    assert.ok(result.check.breaches.some((b) => b.kind === 'new-data'), JSON.stringify(result.check));
    assert.equal(result.alert, undefined, 'no alert went out');
    assert.equal(pd.requests.length - before, 5, 'the alert was tried five times (a fault, not an outage), then given up');
    const alert = (await listAlerts(createRepositories(stack.stores.pool), { model: 'growing' })).find((a) => a.id === 'monitor-growing-2:alert');
    assert.equal(alert?.state, 'failed', JSON.stringify(alert));
    assert.equal(result.action?.trigger, 'new-data', JSON.stringify(result.action));
    assert.equal(result.action?.retraining, 'started', JSON.stringify(result.action));
  });
});

describe('PagerDuty settings', () => {
  it('are off without a routing key, and default to PagerDuty\'s events URL with one', () => {
    assert.equal(loadConfig({}).alerts.pagerduty, undefined);
    assert.deepEqual(loadConfig({ PAGERDUTY_ROUTING_KEY: ROUTING_KEY }).alerts.pagerduty, { routingKey: ROUTING_KEY, eventsUrl: 'https://events.pagerduty.com' });
    assert.equal(loadConfig({ PAGERDUTY_ROUTING_KEY: ROUTING_KEY, PAGERDUTY_EVENTS_URL: 'http://127.0.0.1:18299/' }).alerts.pagerduty?.eventsUrl, 'http://127.0.0.1:18299');
  });

  it('refuse a malformed routing key without repeating it, and an events URL that is not a plain http(s) base', () => {
    const secretish = 'has spaces and/slashes';
    assert.throws(() => loadConfig({ PAGERDUTY_ROUTING_KEY: secretish }), (err: Error) => err instanceof ConfigError && err.message.includes('PAGERDUTY_ROUTING_KEY') && !err.message.includes(secretish));
    for (const url of ['events.pagerduty.com', 'ftp://events.pagerduty.com', 'https://user:pw@events.pagerduty.com', 'https://events.pagerduty.com/?x=1']) {
      assert.throws(() => loadConfig({ PAGERDUTY_ROUTING_KEY: ROUTING_KEY, PAGERDUTY_EVENTS_URL: url }), (err: Error) => err instanceof ConfigError && err.message.includes('PAGERDUTY_EVENTS_URL'), url);
    }
  });
});
