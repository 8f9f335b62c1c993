/**
 * Alerts end to end: the Alerter on a real metadata store (PGlite, and PostgreSQL when
 * TEST_DATABASE_URL is set) sending over real HTTP to two stand-ins for third parties: a Slack Web
 * API that answers chat.postMessage like Slack does, and a webhook receiver.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import {
  AlertBusyError, AlertDeliveryError, Alerter, AlertInput, AlertInputError, listAlerts, signWebhook, validateAlert, verifyWebhookSignature,
} from '../src/alerts/alerter';
import type { Alert, AlertChannel } from '../src/alerts/channel';
import { alertChannels } from '../src/alerts/channels';
import { createSlackClient, formatValue, slackMessage } from '../src/alerts/slack-alerts';
import { availableBackends, createTestDatabase, TestDatabase } from './helpers/database';
import { createRepositories } from '../src/store/repositories';

const TOKEN = 'xoxb-test-token';
const SECRET = 'webhook-secret';
const MINUTE = 60_000;

interface SlackRequest { path: string; authorization?: string; form: Record<string, string>; blocks: Array<Record<string, any>> }
interface WebhookRequest { headers: http.IncomingHttpHeaders; raw: string }

/** Reads a request body as text. */
function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function close(server: http.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/**
 * Slack's Web API as far as alerts use it: chat.postMessage takes a form-encoded body (blocks as a JSON
 * string), checks the bearer token, and answers { ok: true, channel, ts } — or, as told, an error.
 */
async function startSlack() {
  const state = { mode: 'ok' as 'ok' | 'channel_not_found' | 'http500', requests: [] as SlackRequest[] };
  let n = 0;
  // a body that fails to arrive ends that connection, instead of an unhandled rejection ending the tests
  const server = http.createServer((req, res) => { readBody(req).then((body) => {
    const form = Object.fromEntries(new URLSearchParams(body));
    state.requests.push({ path: req.url ?? '', authorization: req.headers.authorization, form, blocks: form.blocks ? JSON.parse(form.blocks) : [] });
    const json = (body: object) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (state.mode === 'http500') { res.writeHead(500).end('internal error'); return; }
    if (req.url !== '/api/chat.postMessage') { json({ ok: false, error: 'unknown_method' }); return; }
    if (req.headers.authorization !== `Bearer ${TOKEN}`) { json({ ok: false, error: 'invalid_auth' }); return; }
    if (state.mode === 'channel_not_found') { json({ ok: false, error: 'channel_not_found' }); return; }
    n++;
    json({ ok: true, channel: form.channel === '#ml-alerts' ? 'C0ALERTS' : form.channel, ts: `17000000${String(n).padStart(2, '0')}.000100` });
  }, (err: Error) => res.destroy(err)); });
  const url = await listen(server);
  return Object.assign(state, { apiUrl: `${url}/api/`, close: () => close(server) });
}

/** A webhook receiver that records what it got and answers with the status it is told (or never). */
async function startReceiver() {
  const state = { status: 200, hang: false, requests: [] as WebhookRequest[] };
  const server = http.createServer((req, res) => { readBody(req).then((raw) => {
    state.requests.push({ headers: req.headers, raw });
    if (state.hang) return; // no answer: the sender's timeout must end the wait
    res.writeHead(state.status, { 'content-type': 'text/plain' }).end(state.status < 300 ? 'ok' : 'receiver broke');
  }, (err: Error) => res.destroy(err)); });
  const url = await listen(server);
  return Object.assign(state, { url: `${url}/hooks/alerts`, close: () => close(server) });
}

for (const backend of availableBackends()) {
  describe(`alerts on ${backend}`, () => {
    let db: TestDatabase;
    let slack: Awaited<ReturnType<typeof startSlack>>;
    let receiver: Awaited<ReturnType<typeof startReceiver>>;
    let clock = Date.parse('2031-03-01T10:00:00Z');
    let logs: string[] = [];

    before(async () => {
      db = await createTestDatabase(backend);
      slack = await startSlack();
      receiver = await startReceiver();
    });
    after(async () => {
      await slack.close();
      await receiver.close();
      await db.close();
    });
    beforeEach(() => {
      slack.mode = 'ok';
      slack.requests.length = 0;
      receiver.status = 200;
      receiver.hang = false;
      receiver.requests.length = 0;
      logs = [];
      clock += 24 * 60 * MINUTE; // each test starts a day later: no dedup or rate window carries over
    });

    /** An Alerter over the channels the registry builds from these settings, as the composition root builds it. */
    function alerter(o: { slack?: boolean; webhook?: boolean | string; secret?: string | null; dedupMs?: number; ratePerHour?: number; token?: string; webhookTimeoutMs?: number } = {}) {
      const webhookUrl = typeof o.webhook === 'string' ? o.webhook : o.webhook ? receiver.url : undefined;
      const settings = {
        slackChannel: o.slack === false ? undefined : '#ml-alerts',
        webhookUrl,
        webhookSecret: o.secret === null ? undefined : (o.secret ?? SECRET),
        dedupMs: o.dedupMs ?? 60 * MINUTE,
        ratePerHour: o.ratePerHour ?? 10,
      };
      const log = (line: string) => logs.push(line);
      const client = o.slack === false ? undefined : createSlackClient(o.token ?? TOKEN, slack.apiUrl, 10_000);
      const channels = alertChannels({ alerts: settings, slack: client, log, ...(o.webhookTimeoutMs ? { httpTimeoutMs: o.webhookTimeoutMs } : {}) });
      return new Alerter(db.pool, { channels, dedupMs: settings.dedupMs, ratePerHour: settings.ratePerHour, log, now: () => new Date(clock) });
    }

    const drift = (id: string, model: string, extra: Partial<AlertInput> = {}): AlertInput => ({
      id, dedupKey: `drift:${model}`, model, severity: 'critical', title: `Data drift on ${model}`,
      summary: '3 of 10 features drifted since the last check', fields: { 'drift share': 0.3, psi: 0.31234, rows: 1200 },
      link: `http://localhost:8080/v1/models/${model}/monitoring`, ...extra,
    });

    it('posts a Block Kit message to Slack with the title, summary, numbers, severity, model and link', async () => {
      const outcome = await alerter().raise(drift('chk-1:drift', 'churn'));
      assert.equal(outcome.state, 'sent');
      assert.match(outcome.channels.slack, /^sent C0ALERTS 1700000001\.000100$/);
      assert.equal(slack.requests.length, 1);
      const req = slack.requests[0];
      assert.equal(req.path, '/api/chat.postMessage');
      assert.equal(req.authorization, `Bearer ${TOKEN}`);
      assert.equal(req.form.channel, '#ml-alerts');
      assert.match(req.form.text, /\[critical\] Data drift on churn/);
      assert.match(req.form.text, /psi=0\.3123, rows=1200/);
      const [header, summary, fields, context] = req.blocks;
      assert.deepEqual(header.text, { type: 'plain_text', text: 'Data drift on churn', emoji: true });
      assert.equal(summary.text.text, '3 of 10 features drifted since the last check');
      assert.deepEqual(fields.fields.map((f: { text: string }) => f.text), ['*drift share*\n0.3', '*psi*\n0.3123', '*rows*\n1200']);
      assert.equal(context.type, 'context');
      assert.match(context.elements[0].text, /\*critical\*/);
      assert.match(context.elements[0].text, /model `churn`/);
      assert.match(context.elements[0].text, /<http:\/\/localhost:8080\/v1\/models\/churn\/monitoring\|details>/);

      const [stored] = await listAlerts(createRepositories(db.pool), { model: 'churn' });
      assert.equal(stored.id, 'chk-1:drift');
      assert.equal(stored.state, 'sent');
      assert.equal(stored.dedupKey, 'drift:churn');
      assert.deepEqual(stored.fields, { 'drift share': 0.3, psi: 0.31234, rows: 1200 });
      assert.equal(stored.sentAt, new Date(clock).toISOString());
      assert.equal(stored.reason, null);
    });

    it('signs webhook requests: the signature verifies, and a tampered body, another secret or an old timestamp do not', async () => {
      const outcome = await alerter({ slack: false, webhook: true }).raise(drift('chk-2:drift', 'fraud'));
      assert.deepEqual(outcome, { id: 'chk-2:drift', state: 'sent', channels: { webhook: 'sent' } });
      assert.equal(receiver.requests.length, 1);
      const { headers, raw } = receiver.requests[0];
      assert.equal(headers['content-type'], 'application/json');
      const payload = JSON.parse(raw);
      assert.deepEqual(payload, {
        id: 'chk-2:drift', severity: 'critical', title: 'Data drift on fraud', summary: '3 of 10 features drifted since the last check',
        fields: { 'drift share': 0.3, psi: 0.31234, rows: 1200 }, model: 'fraud', link: 'http://localhost:8080/v1/models/fraud/monitoring',
        createdAt: new Date(clock).toISOString(),
      });
      const ts = headers['x-mlops-timestamp'] as string;
      const sig = headers['x-mlops-signature'] as string;
      assert.equal(ts, String(Math.floor(clock / 1000)));
      assert.equal(sig, `v1=${createHmac('sha256', SECRET).update(`${ts}.${raw}`).digest('hex')}`);
      const at = new Date(clock);
      assert.equal(verifyWebhookSignature(SECRET, ts, raw, sig, 300, at), true);
      assert.equal(verifyWebhookSignature(SECRET, ts, Buffer.from(raw), sig, 300, at), true);
      assert.equal(verifyWebhookSignature(SECRET, ts, raw.replace('0.31234', '0.01234'), sig, 300, at), false, 'tampered body');
      assert.equal(verifyWebhookSignature('another-secret', ts, raw, sig, 300, at), false, 'other secret');
      assert.equal(verifyWebhookSignature(SECRET, String(Number(ts) - 1), raw, sig, 300, at), false, 'timestamp changed');
      assert.equal(verifyWebhookSignature(SECRET, ts, raw, sig, 300, new Date(clock + 301_000)), false, 'replayed after the tolerance');
      assert.equal(verifyWebhookSignature(SECRET, ts, raw, sig, 300, new Date(clock - 301_000)), false, 'timestamp from the future');
      assert.equal(verifyWebhookSignature(SECRET, ts, raw, sig, 600, new Date(clock + 301_000)), true, 'a wider tolerance accepts it');
    });

    it('refuses malformed signatures and timestamps', () => {
      const now = new Date('2031-01-01T00:00:00Z');
      const ts = String(now.getTime() / 1000);
      const good = signWebhook(SECRET, ts, '{}');
      assert.equal(verifyWebhookSignature(SECRET, ts, '{}', good, 300, now), true);
      for (const bad of [undefined, '', good.slice(3), `v0=${good.slice(3)}`, good.slice(0, -2), `${good.slice(0, -2)}zz`, `${good}00`, good.toUpperCase()]) {
        assert.equal(verifyWebhookSignature(SECRET, ts, '{}', bad, 300, now), false, `signature ${bad}`);
      }
      for (const badTs of [undefined, '', 'abc', '1e9', '-5', `${ts}.5`, ' 1']) {
        assert.equal(verifyWebhookSignature(SECRET, badTs, '{}', good, 300, now), false, `timestamp ${badTs}`);
      }
      assert.equal(verifyWebhookSignature('', ts, '{}', signWebhook('', ts, '{}'), 300, now), false, 'an empty secret verifies nothing');
    });

    it('sends the webhook unsigned when no secret is set, and says so', async () => {
      const a = alerter({ slack: false, webhook: true, secret: null });
      assert.match(logs.join('\n'), /MLOPS_ALERT_WEBHOOK_SECRET is not set/);
      assert.equal((await a.raise(drift('chk-3:drift', 'unsigned'))).state, 'sent');
      assert.equal(receiver.requests[0].headers['x-mlops-signature'], undefined);
      assert.ok(receiver.requests[0].headers['x-mlops-timestamp']);
    });

    it('suppresses the same problem within the dedup window and sends it again after', async () => {
      const a = alerter({ webhook: true });
      assert.equal((await a.raise(drift('d-1', 'dedup'))).state, 'sent');
      clock += 10 * MINUTE;
      const dup = await a.raise(drift('d-2', 'dedup'));
      assert.deepEqual(dup, { id: 'd-2', state: 'suppressed', reason: 'duplicate of d-1', channels: {} });
      // another problem of the same model is not a duplicate
      clock += MINUTE;
      assert.equal((await a.raise(drift('d-3', 'dedup', { dedupKey: 'quality:dedup', title: 'Accuracy dropped' }))).state, 'sent');
      assert.equal(slack.requests.length, 2);
      assert.equal(receiver.requests.length, 2);
      clock += 50 * MINUTE; // 61 minutes after d-1
      assert.equal((await a.raise(drift('d-4', 'dedup'))).state, 'sent');
      clock += 5 * MINUTE;
      assert.deepEqual((await a.raise(drift('d-5', 'dedup'))).reason, 'duplicate of d-4', 'the window restarts at the latest send');
      assert.equal(slack.requests.length, 3);
      const stored = await listAlerts(createRepositories(db.pool), { model: 'dedup' });
      assert.deepEqual(stored.map((r) => [r.id, r.state]), [['d-5', 'suppressed'], ['d-4', 'sent'], ['d-3', 'sent'], ['d-2', 'suppressed'], ['d-1', 'sent']]);
      assert.equal(stored.find((r) => r.id === 'd-2')?.reason, 'duplicate of d-1');
      assert.match(logs.join('\n'), /alert d-2 suppressed \(duplicate of d-1\)/);
    });

    it('sends nothing more once a model used its hourly budget, per model, until the hour has passed', async () => {
      const a = alerter({ ratePerHour: 3 });
      for (let i = 1; i <= 3; i++) {
        assert.equal((await a.raise(drift(`r-${i}`, 'noisy', { dedupKey: `problem-${i}:noisy` }))).state, 'sent');
        clock += MINUTE;
      }
      const fourth = await a.raise(drift('r-4', 'noisy', { dedupKey: 'problem-4:noisy' }));
      assert.equal(fourth.state, 'suppressed');
      assert.equal(fourth.reason, 'rate limit: 3 alerts for noisy sent in the last hour (at most 3)');
      assert.equal((await a.raise(drift('r-5', 'quiet', { dedupKey: 'problem-5:quiet' }))).state, 'sent', 'other models keep their budget');
      assert.equal(slack.requests.length, 4);
      clock += 57 * MINUTE; // the first send is now exactly an hour old, so out of the window: one slot is free again
      assert.equal((await a.raise(drift('r-6', 'noisy', { dedupKey: 'problem-6:noisy' }))).state, 'sent');
      assert.equal((await a.raise(drift('r-7', 'noisy', { dedupKey: 'problem-7:noisy' }))).state, 'suppressed');
      // alerts without a model share one budget
      for (let i = 1; i <= 3; i++) await a.raise({ ...drift(`p-${i}`, 'x', { dedupKey: `platform-${i}` }), model: undefined });
      assert.match((await a.raise({ ...drift('p-4', 'x', { dedupKey: 'platform-4' }), model: undefined })).reason ?? '', /^rate limit: 3 alerts sent/);
    });

    it('raising the same occurrence again returns the stored outcome and sends nothing', async () => {
      const a = alerter({ webhook: true });
      const first = await a.raise(drift('i-1', 'idem'));
      const again = await a.raise(drift('i-1', 'idem'));
      assert.deepEqual(again, first);
      assert.equal(slack.requests.length, 1);
      assert.equal(receiver.requests.length, 1);
      // suppressed stays suppressed, even after the window that suppressed it has passed
      clock += MINUTE;
      const dup = await a.raise(drift('i-2', 'idem'));
      clock += 2 * 60 * MINUTE;
      assert.deepEqual(await a.raise(drift('i-2', 'idem')), dup);
      // a second Alerter (another worker) sees the same stored outcome
      assert.deepEqual(await alerter({ webhook: true }).raise(drift('i-1', 'idem')), first);
      assert.equal(slack.requests.length, 1);
      assert.equal((await listAlerts(createRepositories(db.pool), { model: 'idem' })).length, 2);
    });

    it('records a failed Slack call as failed and throws; raising it again after the fix sends it', async () => {
      slack.mode = 'channel_not_found';
      const a = alerter();
      const err = await a.raise(drift('f-1', 'broken')).then(() => assert.fail('expected a throw'), (e) => e);
      assert.ok(err instanceof AlertDeliveryError);
      assert.match(err.message, /alert f-1 was not delivered: every channel failed: slack \(channel_not_found\)/);
      assert.deepEqual(err.outcome, { id: 'f-1', state: 'failed', reason: 'every channel failed: slack (channel_not_found)', channels: { slack: 'failed: channel_not_found' } });
      const [stored] = await listAlerts(createRepositories(db.pool), { model: 'broken' });
      assert.equal(stored.state, 'failed');
      assert.equal(stored.sentAt, null);
      assert.deepEqual(stored.channels, { slack: 'failed: channel_not_found' });

      slack.mode = 'ok';
      clock += MINUTE;
      const fixed = await a.raise(drift('f-1', 'broken'));
      assert.equal(fixed.state, 'sent');
      assert.equal(fixed.reason, undefined);
      assert.equal(slack.requests.length, 2);
      assert.equal((await listAlerts(createRepositories(db.pool), { model: 'broken' }))[0].reason, null);
    });

    it('an HTTP 500 from Slack fails the alert too', async () => {
      slack.mode = 'http500';
      await assert.rejects(alerter().raise(drift('f-2', 'http500')), (e: AlertDeliveryError) => {
        assert.equal(e.outcome.channels.slack, 'failed: HTTP 500');
        return true;
      });
      assert.equal(slack.requests.length, 1, 'the Slack client does not retry on its own');
      assert.equal((await listAlerts(createRepositories(db.pool), { model: 'http500' }))[0].state, 'failed');
    });

    it('a wrong Slack token fails with Slack\'s own error', async () => {
      await assert.rejects(alerter({ token: 'xoxb-wrong' }).raise(drift('f-3', 'badtoken')), /slack \(invalid_auth\)/);
    });

    it('when only some channels fail the alert counts as sent, and raising it again resends only the failed channel', async () => {
      slack.mode = 'channel_not_found';
      const a = alerter({ webhook: true });
      const partial = await a.raise(drift('f-4', 'partial'));
      assert.equal(partial.state, 'sent');
      assert.equal(partial.reason, 'not delivered to slack (channel_not_found)');
      assert.deepEqual(partial.channels, { slack: 'failed: channel_not_found', webhook: 'sent' });
      assert.equal(receiver.requests.length, 1);
      assert.match(logs.join('\n'), /alert f-4: not delivered to slack/);
      // still counts as sent for dedup
      clock += MINUTE;
      assert.equal((await a.raise(drift('f-5', 'partial'))).reason, 'duplicate of f-4');

      slack.mode = 'ok';
      const sentAt = (await listAlerts(createRepositories(db.pool), { model: 'partial' })).find((r) => r.id === 'f-4')?.sentAt;
      clock += MINUTE;
      const completed = await a.raise(drift('f-4', 'partial'));
      assert.equal(completed.state, 'sent');
      assert.equal(completed.reason, undefined);
      assert.match(completed.channels.slack, /^sent /);
      assert.equal(completed.channels.webhook, 'sent');
      assert.equal(receiver.requests.length, 1, 'the webhook already had it');
      assert.equal(slack.requests.length, 2);
      const after = (await listAlerts(createRepositories(db.pool), { model: 'partial' })).find((r) => r.id === 'f-4');
      assert.notEqual(after?.sentAt, sentAt, 'sent_at moves to the delivery that completed it');
      // and now it is complete: nothing more is sent
      await a.raise(drift('f-4', 'partial'));
      assert.equal(slack.requests.length, 2);
    });

    it('a failed retry of a partially sent alert keeps it sent, with the reason', async () => {
      slack.mode = 'channel_not_found';
      const a = alerter({ webhook: true });
      await a.raise(drift('f-6', 'stillbroken'));
      const firstSent = new Date(clock).toISOString();
      clock += MINUTE;
      const again = await a.raise(drift('f-6', 'stillbroken'));
      assert.equal(again.state, 'sent');
      assert.equal(again.reason, 'not delivered to slack (channel_not_found)');
      assert.equal(receiver.requests.length, 1);
      assert.equal(slack.requests.length, 2);
      assert.equal((await listAlerts(createRepositories(db.pool), { model: 'stillbroken' }))[0].sentAt, firstSent, 'sent_at stays at the delivery that reached someone');
    });

    it('a webhook answering non-2xx, not answering in time, or not listening fails the alert', async () => {
      receiver.status = 500;
      await assert.rejects(alerter({ slack: false, webhook: true }).raise(drift('w-1', 'hook500')), /webhook \(HTTP 500: receiver broke\)/);
      receiver.status = 302;
      await assert.rejects(alerter({ slack: false, webhook: true }).raise(drift('w-2', 'hook302')), /webhook \(HTTP 302/);
      receiver.hang = true;
      const started = Date.now();
      await assert.rejects(alerter({ slack: false, webhook: true, webhookTimeoutMs: 300 }).raise(drift('w-3', 'hookslow')), /webhook \(no answer within 300 ms\)/);
      assert.ok(Date.now() - started < 5_000);
      // a port nothing listens on: a server we start and stop at once
      const gone = http.createServer();
      const url = await listen(gone);
      await close(gone);
      await assert.rejects(alerter({ slack: false, webhook: `${url}/hook` }).raise(drift('w-4', 'hookgone')), /webhook \(ECONNREFUSED\)/);
      const states = await Promise.all(['hook500', 'hook302', 'hookslow', 'hookgone'].map(async (m) => (await listAlerts(createRepositories(db.pool), { model: m }))[0].state));
      assert.deepEqual(states, ['failed', 'failed', 'failed', 'failed']);
    });

    it('a failed alert whose problem was announced meanwhile is suppressed when retried', async () => {
      receiver.status = 503;
      const a = alerter({ slack: false, webhook: true });
      await assert.rejects(a.raise(drift('m-1', 'meanwhile')), AlertDeliveryError);
      receiver.status = 200;
      clock += MINUTE;
      assert.equal((await a.raise(drift('m-2', 'meanwhile'))).state, 'sent');
      clock += MINUTE;
      assert.deepEqual(await a.raise(drift('m-1', 'meanwhile')), { id: 'm-1', state: 'suppressed', reason: 'duplicate of m-2', channels: { webhook: 'failed: HTTP 503: receiver broke' } });
      assert.equal(receiver.requests.length, 2);
    });

    it('with no channel configured the alert is recorded, with a log line', async () => {
      const a = alerter({ slack: false });
      assert.deepEqual(a.channelNames, []);
      const outcome = await a.raise(drift('n-1', 'nochannel'));
      assert.deepEqual(outcome, { id: 'n-1', state: 'recorded', reason: 'no alert channel configured', channels: {} });
      assert.match(logs.join('\n'), /alert n-1 recorded, not sent: no alert channel configured/);
      assert.deepEqual(await a.raise(drift('n-1', 'nochannel')), outcome);
      assert.equal((await listAlerts(createRepositories(db.pool), { model: 'nochannel' }))[0].state, 'recorded');
      assert.equal(slack.requests.length + receiver.requests.length, 0);
    });

    it('a half-configured Slack (token without channel, or channel without token) is not used, and the log says what is missing', async () => {
      const log = (l: string) => logs.push(l);
      const noChannel = alertChannels({ alerts: { dedupMs: 0, ratePerHour: 10 }, slack: createSlackClient(TOKEN, slack.apiUrl, 10_000), log });
      const noToken = alertChannels({ alerts: { slackChannel: '#x', dedupMs: 0, ratePerHour: 10 }, log });
      assert.deepEqual([noChannel, noToken], [[], []]);
      assert.match(logs[0], /no channel: set SLACK_ALERT_CHANNEL/);
      assert.match(logs[1], /no token: set SLACK_BOT_TOKEN/);
    });

    it('any AlertChannel gets the alert as stored and its receipt is kept; a failing one is retried alone', async () => {
      const got: Alert[] = [];
      let pagerUp = false;
      const pager: AlertChannel = { name: 'pager', async send(alert) { if (!pagerUp) throw new Error('pager down'); got.push(alert); return `incident ${got.length}`; } };
      const a = new Alerter(db.pool, { channels: [...alertChannels({ alerts: { webhookUrl: receiver.url, webhookSecret: SECRET, dedupMs: MINUTE, ratePerHour: 10 }, log: () => {} }), pager], dedupMs: MINUTE, ratePerHour: 10, now: () => new Date(clock) });
      assert.deepEqual(a.channelNames, ['webhook', 'pager']);
      const first = await a.raise(drift('ac-1', 'paged'));
      assert.deepEqual([first.state, first.channels], ['sent', { webhook: 'sent', pager: 'failed: pager down' }]);
      pagerUp = true;
      const again = await a.raise(drift('ac-1', 'paged'));
      assert.deepEqual(again.channels, { webhook: 'sent', pager: 'sent incident 1' });
      assert.equal(receiver.requests.length, 1, 'the webhook, which had it, is not sent it again');
      assert.deepEqual(got, [{
        id: 'ac-1', dedupKey: 'drift:paged', severity: 'critical', title: 'Data drift on paged', summary: '3 of 10 features drifted since the last check',
        fields: { 'drift share': 0.3, psi: 0.31234, rows: 1200 }, model: 'paged', link: 'http://localhost:8080/v1/models/paged/monitoring', createdAt: new Date(clock).toISOString(),
      }]);
    });

    it('two attempts raising the same occurrence at once send one message; the loser is told to retry', async () => {
      receiver.hang = true; // keeps the first attempt "sending" while the second arrives
      const a = alerter({ slack: false, webhook: true, webhookTimeoutMs: 1_500 });
      const first = a.raise(drift('c-1', 'race'));
      while (receiver.requests.length === 0) await new Promise((r) => setTimeout(r, 20));
      await assert.rejects(alerter({ slack: false, webhook: true }).raise(drift('c-1', 'race')), (e: Error) => e instanceof AlertBusyError && /being sent by another attempt/.test(e.message));
      await assert.rejects(first, AlertDeliveryError);
      assert.equal(receiver.requests.length, 1);
    });

    it('concurrent raises: one message per occurrence and per problem', async () => {
      const a = alerter();
      const b = alerter();
      const results = await Promise.allSettled([a.raise(drift('cc-1', 'concurrent')), b.raise(drift('cc-1', 'concurrent')), b.raise(drift('cc-2', 'concurrent'))]);
      assert.equal(slack.requests.length, 1);
      const fulfilled = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      const rejected = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
      for (const e of rejected) assert.ok(e instanceof AlertBusyError, String(e));
      const stored = await listAlerts(createRepositories(db.pool), { model: 'concurrent' });
      assert.deepEqual(stored.map((r) => r.state).sort(), ['sent', 'suppressed']);
      assert.ok(fulfilled.length >= 2);
    });

    it('an attempt that died while sending is taken over once its lease has run out', async () => {
      const a = alerter({ slack: false, webhook: true });
      // what a worker killed mid-send leaves behind
      await db.pool.query(
        `INSERT INTO alerts (id, dedup_key, model_name, severity, title, body, state, created_at, sent_at)
         VALUES ('l-1', 'drift:lease', 'lease', 'warning', 'Drift', '{"summary": "", "fields": []}', 'sending', $1, $1)`,
        [new Date(clock)],
      );
      clock += 30_000;
      await assert.rejects(a.raise(drift('l-1', 'lease')), AlertBusyError);
      clock += 31_000;
      const outcome = await a.raise(drift('l-1', 'lease'));
      assert.equal(outcome.state, 'sent');
      assert.equal(JSON.parse(receiver.requests[0].raw).title, 'Drift', 'the stored alert is sent, as first raised');
    });

    it('rejects malformed alerts before storing anything', async () => {
      const a = alerter();
      const good = drift('bad-0', 'bad');
      const cases: Array<[string, unknown]> = [
        ['id must be a non-empty string', { ...good, id: '' }],
        ['id must be a non-empty string', { ...good, id: 42 }],
        ['id is longer than 200', { ...good, id: 'x'.repeat(201) }],
        ['dedupKey must be a non-empty string', { ...good, dedupKey: '  ' }],
        ['title must be a non-empty string', { ...good, title: undefined }],
        ['model must be a non-empty string', { ...good, model: '' }],
        ['summary must be a string', { ...good, summary: null }],
        ['severity must be one of info, warning, critical \\(got "fatal"\\)', { ...good, severity: 'fatal' }],
        ['fields must be an object', { ...good, fields: [1, 2] }],
        ['fields must be an object', { ...good, fields: null }],
        ['field "psi" must be a finite number or a string', { ...good, fields: { psi: Number.NaN } }],
        ['field "psi" must be a finite number or a string', { ...good, fields: { psi: Infinity } }],
        ['field "flag" must be a finite number or a string', { ...good, fields: { flag: true } }],
        ['field names must not be empty', { ...good, fields: { '': 1 } }],
        ['at most 40 fields', { ...good, fields: Object.fromEntries(Array.from({ length: 41 }, (_, i) => [`f${i}`, i])) }],
        ['link must be an http\\(s\\) URL', { ...good, link: 'not a url' }],
        ['link must be an http\\(s\\) URL', { ...good, link: 'javascript:alert(1)' }],
        ['expected an object', null],
      ];
      for (const [message, input] of cases) {
        assert.throws(() => validateAlert(input as AlertInput), (e: Error) => e instanceof AlertInputError && new RegExp(message).test(e.message), message);
        await assert.rejects(a.raise(input as AlertInput), AlertInputError);
      }
      assert.equal((await listAlerts(createRepositories(db.pool), { model: 'bad' })).length, 0);
      assert.equal(slack.requests.length, 0);
    });

    it('lists alerts newest first, by model, up to a limit', async () => {
      const a = alerter({ slack: false });
      for (let i = 1; i <= 3; i++) { await a.raise(drift(`ls-${i}`, 'listed')); clock += MINUTE; }
      await a.raise(drift('ls-other', 'listed-other'));
      assert.deepEqual((await listAlerts(createRepositories(db.pool), { model: 'listed' })).map((r) => r.id), ['ls-3', 'ls-2', 'ls-1']);
      assert.deepEqual((await listAlerts(createRepositories(db.pool), { model: 'listed', limit: 2 })).map((r) => r.id), ['ls-3', 'ls-2']);
      assert.equal((await listAlerts(createRepositories(db.pool), { limit: 1 }))[0].id, 'ls-other');
      const [row] = await listAlerts(createRepositories(db.pool), { model: 'listed', limit: 1 });
      assert.deepEqual(Object.keys(row).sort(), ['channels', 'createdAt', 'dedupKey', 'fields', 'id', 'link', 'model', 'reason', 'sentAt', 'severity', 'state', 'summary', 'title']);
      for (const limit of [0, -1, 1.5, 1001, Number.NaN]) await assert.rejects(listAlerts(createRepositories(db.pool), { limit }), AlertInputError);
    });
  });
}

describe('the Slack message', () => {
  const base = { severity: 'warning' as const, title: 'Accuracy dropped', summary: 'Accuracy fell below 0.8', fields: {} };

  it('escapes Slack markup in text that comes from data', () => {
    const { blocks } = slackMessage({ ...base, summary: 'a <b> & c', model: '<!channel>', fields: { 'x<y': 'p&q' } });
    const json = JSON.stringify(blocks);
    assert.match(json, /a &lt;b&gt; &amp; c/);
    assert.match(json, /model `&lt;!channel&gt;`/);
    assert.match(json, /\*x&lt;y\*\\np&amp;q/);
    assert.ok(!json.includes('<!channel>'));
  });

  it('keeps within Block Kit limits: long titles are cut, more than 10 fields take several sections', () => {
    const fields = Object.fromEntries(Array.from({ length: 23 }, (_, i) => [`feature_${i}`, i / 7]));
    const { blocks, text } = slackMessage({ ...base, title: 'T'.repeat(400), fields });
    const header = blocks[0] as { text: { text: string } };
    assert.equal(header.text.text.length, 150);
    const sections = blocks.filter((b) => 'fields' in b) as Array<{ fields: unknown[] }>;
    assert.deepEqual(sections.map((s) => s.fields.length), [10, 10, 3]);
    assert.ok(text.length <= 3000);
  });

  it('leaves out the summary block when there is no summary, and the link when there is none', () => {
    const { blocks } = slackMessage({ ...base, summary: '' });
    assert.deepEqual(blocks.map((b) => (b as { type: string }).type), ['header', 'context']);
    assert.ok(!JSON.stringify(blocks).includes('details>'));
  });

  it('shows whole numbers as they are and others to four significant digits', () => {
    assert.deepEqual([formatValue(1200), formatValue(0.31234), formatValue(12345.678), formatValue(0.000012346), formatValue('ok')], ['1200', '0.3123', '12350', '0.00001235', 'ok']);
  });
});
