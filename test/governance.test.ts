/**
 * Governance on the real stack: API keys and roles over every route (the whole route-by-role matrix),
 * Slack approvals through a stand-in for Slack's Web API and really signed interaction payloads, the
 * approval policy (two distinct approvers, four-eyes, low-risk auto-approval, reminders, escalation),
 * and the refusals each leave an audit entry.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { RouteSpec } from '../src/api/access';
import { ROLES, Role, allows } from '../src/auth/roles';
import { APPROVE_ACTION, REJECT_ACTION } from '../src/slack/approval-messages';
import { ApiStack, startApiStack, TEST_ADMIN_KEY } from './helpers/api-stack';
import { mlopsCli } from './helpers/cli';
import { eventually } from './helpers/eventually';
import { BREAST_CANCER } from './helpers/pipeline-env';
import { buttonPress as signedPress, slackStandIn } from './helpers/slack';

const SIGNING_SECRET = 'slack-signing-secret-for-tests';

/** A button press signed with the stack's signing secret (or the one given, to forge one). */
const buttonPress = (o: { user: string; runId: string; action?: string; secret?: string; timestamp?: number }) => signedPress({ ...o, secret: o.secret ?? SIGNING_SECRET });

describe('governance: keys, roles, Slack approvals and policies', () => {
  let stack: ApiStack;
  let slack: Awaited<ReturnType<typeof slackStandIn>>;
  const keys: Partial<Record<Role, string>> = {};
  const people: Record<string, string> = {};

  /** A request as the admin (default), as a key's holder, anonymously (null), or a raw Slack press (unauthenticated). */
  const call = (method: string, url: string, body?: unknown, key?: string | null, press?: { raw: string; headers: Record<string, string> }) => {
    if (press) return stack.call(method, url, undefined, { raw: press.raw, headers: press.headers, anonymous: true });
    if (key === null) return stack.call(method, url, body, { anonymous: true });
    return stack.call(method, url, body, key ? { headers: { authorization: `Bearer ${key}` } } : {});
  };
  const auditOf = async (action: string) => (await stack.stores.pool.query('SELECT actor, subject, details FROM audit_events WHERE action = $1 ORDER BY id', [action])).rows;
  const posted = (method: string) => slack.calls.filter((c) => c.method === method);

  before(async () => {
    slack = await slackStandIn();
    stack = await startApiStack({ env: { SLACK_BOT_TOKEN: 'xoxb-governance', SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_APPROVAL_CHANNEL: '#approvals', SLACK_API_URL: slack.url, MLOPS_TASK_QUEUE: 'governance', MLOPS_PREDICT_AUTH: 'key' } });
    for (const role of ROLES) {
      const created = await call('POST', '/v1/keys', { name: `${role}-key`, role });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.match(created.body.token, /^mlk_[a-z0-9]{12}_/);
      keys[role] = created.body.token;
    }
    for (const name of ['carol', 'alice', 'bob']) people[name] = (await call('POST', '/v1/keys', { name, role: 'approver' })).body.token;
  });
  after(async () => {
    await stack?.close();
    await slack?.close();
  });

  it('every route answers 401 without a key, 403 below its role and neither at or above it; open routes do not care (predict needs a key here)', async () => {
    const routes: RouteSpec[] = stack.api.routes;
    assert.ok(routes.length >= 50, `expected the whole API in the route table, got ${routes.length}`);
    const fill = (p: string) => p.replace(/:name/g, 'nobody').replace(/:version/g, '1').replace(/:alias/g, 'champion').replace(/:other/g, 'f'.repeat(64)).replace(/:id|:checkId/g, 'no-such-thing');
    const problems: string[] = [];
    for (const r of routes) {
      const url = fill(r.path);
      const body = r.method === 'post' || r.method === 'put' ? {} : undefined;
      const anonymous = await call(r.method.toUpperCase(), url, body, null);
      if (r.access === 'open') {
        const withKey = await call(r.method.toUpperCase(), url, body, keys.admin);
        if (anonymous.status !== withKey.status) problems.push(`${r.method} ${r.path} (${r.access}): ${anonymous.status} without a key, ${withKey.status} with one`);
        continue;
      }
      if (anonymous.status !== 401) problems.push(`${r.method} ${r.path}: ${anonymous.status} without a key, expected 401`);
      for (const role of ROLES) {
        const res = await call(r.method.toUpperCase(), url, body, keys[role]);
        // with MLOPS_PREDICT_AUTH=key, predict takes any valid key; feedback always does
        const allowed = r.access === 'predict' || r.access === 'feedback' || allows(role, r.access);
        const expected = allowed ? 'neither 401 nor 403' : '403';
        const ok = allowed ? res.status !== 401 && res.status !== 403 : res.status === 403;
        if (!ok) problems.push(`${r.method} ${r.path} as ${role}: ${res.status} ${JSON.stringify(res.body)?.slice(0, 120)}, expected ${expected}`);
        if (res.status >= 500) problems.push(`${r.method} ${r.path} as ${role}: ${res.status}`);
      }
    }
    assert.deepEqual(problems, []);
  });

  it('with MLOPS_PREDICT_AUTH=key, predict checks the key alike in front of Express and through it, and audits refusals', async () => {
    const body = { instances: [{ x: 1 }] };
    for (const path of ['/v1/models/nobody/predict', '/v1/models/nobody/predict?via=express']) {
      const anonymous = await call('POST', path, body, null);
      assert.equal(anonymous.status, 401, path);
      assert.match(anonymous.body.error.message, /needs an API key/, path);
      const forged = await call('POST', path, body, 'mlk_abcdefabcdef_not-a-real-secret');
      assert.equal(forged.status, 401, path);
      assert.match(forged.body.error.message, /not valid/, path);
      // a viewer's key is enough; past the key, the unknown model answers 404
      const viewer = await call('POST', path, body, keys.viewer);
      assert.equal(viewer.status, 404, `${path}: ${JSON.stringify(viewer.body)}`);
      // the body is read before the key is checked, on both paths: bad JSON is a 400 even without a key
      const broken = await stack.call('POST', path, undefined, { raw: '{"instances": [', anonymous: true });
      assert.equal(broken.status, 400, path);
    }
    const { rows } = await stack.stores.pool.query(`SELECT subject FROM audit_events WHERE action = 'access.unauthenticated' AND subject LIKE 'POST /v1/models/nobody/predict%'`);
    assert.ok(rows.length >= 2, `refused predicts are audited on both paths: ${JSON.stringify(rows)}`);
  });

  it('keys: the token is shown once, revoked and expired keys are refused, bad keys are audited and throttled', async () => {
    const list = await call('GET', '/v1/keys');
    assert.ok(list.body.keys.length >= 7);
    assert.ok(list.body.keys.every((k: Record<string, unknown>) => !('token' in k) && !('secretHash' in k)), 'no secret in the list');
    const temp = await call('POST', '/v1/keys', { name: 'temp', role: 'viewer' });
    assert.equal((await call('GET', '/v1/models', undefined, temp.body.token)).status, 200);
    assert.equal((await call('DELETE', `/v1/keys/${temp.body.id}`)).status, 200);
    assert.equal((await call('GET', '/v1/models', undefined, temp.body.token)).status, 401);
    const expiring = await call('POST', '/v1/keys', { name: 'expiring', role: 'viewer', expiresInDays: 1 });
    await stack.stores.pool.query("UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1", [expiring.body.id]);
    assert.equal((await call('GET', '/v1/models', undefined, expiring.body.token)).status, 401);
    for (const bad of [{ name: '', role: 'viewer' }, { name: 'x', role: 'root' }, { name: 'x', role: 'viewer', expiresInDays: 0 }]) {
      assert.equal((await call('POST', '/v1/keys', bad)).status, 400, JSON.stringify(bad));
    }
    assert.equal((await call('DELETE', '/v1/keys/nonexistent1')).status, 404);
    assert.ok((await auditOf('key.created')).length >= 9);
    assert.equal((await auditOf('key.revoked')).length, 1);

    const forged = `mlk_${'a'.repeat(12)}_${'b'.repeat(43)}`;
    assert.equal((await call('GET', '/v1/models', undefined, forged)).status, 401);
    assert.ok((await auditOf('access.unauthenticated')).length >= 1);
    assert.equal((await call('POST', '/v1/pipelines/x/approval', { decision: 'approve' }, keys.viewer)).status, 403);
    const forbidden = await auditOf('access.forbidden');
    assert.ok(forbidden.some((a) => a.actor === 'viewer-key' && a.subject === 'POST /v1/pipelines/x/approval'), JSON.stringify(forbidden));

    // the same through the CLI
    const mlops = mlopsCli(stack.api.url, TEST_ADMIN_KEY);
    const created = await mlops('keys', 'create', 'ci-bot', '--role', 'scientist', '--expires-days', '30');
    assert.equal(created.status, 0, created.stderr);
    const token = /token \(shown once; store it now\): (mlk_\S+)/.exec(created.stdout)?.[1];
    assert.ok(token, created.stdout);
    const id = /created key ([a-z0-9]{12})/.exec(created.stdout)![1];
    const listed = await mlops('keys', 'list');
    assert.match(listed.stdout, new RegExp(`${id}\\s+ci-bot\\s+scientist`));
    assert.ok(!listed.stdout.includes(token!), 'the list never shows a token');
    assert.equal((await mlopsCli(stack.api.url, token!)('keys', 'list')).status, 1, 'a scientist may not list keys');
    assert.equal((await mlops('keys', 'revoke', id)).status, 0);
    assert.equal((await call('GET', '/v1/models', undefined, token)).status, 401);
    const wrong = await mlops('keys', 'create', 'x', '--role', 'emperor');
    assert.equal(wrong.status, 1);
    assert.match(wrong.stderr, /role/);
    for (const [args, message] of [
      [['keys', 'create', 'x', '--role', 'viewer', '--expires-days', 'soon'], /--expires-days takes a whole number/],
      [['keys', 'revoke'], /keys takes list, create/],
      [['policy', 'gov', '--auto-approve', 'auc'], /--auto-approve takes metric=value/],
      [['policy'], /policy needs a model/],
      [['monitor', 'gov', '--window', 'long'], /--window takes a number/],
      [['slack-users', 'set', 'U1'], /slack-users takes list, set/],
    ] as const) {
      const r = await mlops(...args);
      assert.equal(r.status, 1, `${args.join(' ')}: ${r.stdout}`);
      assert.match(r.stderr, message, args.join(' '));
    }

    // guessing: an address presenting bad keys is throttled, last so the other checks see plain 401s
    let last = 0;
    for (let i = 0; i < 25; i++) last = (await call('GET', '/v1/models', undefined, forged)).status;
    assert.equal(last, 429, 'an address presenting bad keys is throttled');
    assert.equal((await call('GET', '/v1/models', undefined, keys.viewer)).status, 200, 'valid keys still pass');
  });

  it('a run needing two approvers asks in Slack; four-eyes, unknown users, forged and replayed presses are refused and audited; the outcome rewrites the message', async () => {
    for (const [id, name, role] of [['UALICE', 'alice', 'approver'], ['UBOB', 'bob', 'approver'], ['UVIC', 'vic', 'viewer']]) {
      assert.equal((await call('PUT', `/v1/slack/users/${id}`, { name, role })).status, 200);
    }
    assert.equal((await call('PUT', '/v1/slack/users/not-an-id', { name: 'x', role: 'viewer' })).status, 400);
    const policy = await call('PUT', '/v1/models/gov/approval-policy', { approvers: 2, fourEyes: true });
    assert.equal(policy.status, 200, JSON.stringify(policy.body));
    assert.equal((await call('PUT', '/v1/models/gov/approval-policy', { approvers: 9 })).status, 400);
    assert.equal((await call('PUT', '/v1/models/gov/approval-policy', { approvers: 2 }, keys.approver)).status, 403);

    const started = await call('POST', '/v1/pipelines', { model: 'gov', data: { uri: BREAST_CANCER }, target: 'diagnosis' }, people.carol);
    assert.equal(started.status, 202, JSON.stringify(started.body));
    const runId = started.body.id;
    const waiting = await stack.waitRun(runId, ['awaiting_approval']);
    assert.equal(waiting.requestedBy, 'carol');
    assert.ok((await auditOf('pipeline.started')).some((a) => a.actor === 'carol' && a.subject === runId), 'the start is audited');
    assert.equal(waiting.approval.governance.approvers, 2);

    // the request in Slack: model, metrics, data version, links, buttons carrying the run id. The run
    // counts presses from the moment it waits, so the message may land a moment after the state shows it.
    const request = await eventually(() => `the approval request in Slack; calls: ${JSON.stringify(slack.calls.map((c) => c.method))}`,
      () => posted('chat.postMessage').find((c) => JSON.stringify(c.body.blocks ?? '').includes(runId)));
    assert.equal(request.body.channel, '#approvals');
    const blocks = JSON.stringify(request.body.blocks);
    for (const part of ['gov', 'auc', 'accuracy', waiting.datasetId.slice(0, 12), 'run in Temporal', '/v1/models/gov/versions/1/report', APPROVE_ACTION, REJECT_ACTION, 'carol']) assert.ok(blocks.includes(part), `${part} in the message`);

    // refusals, each with the right status and an audit entry
    const fourEyes = await call('POST', `/v1/pipelines/${runId}/approval`, { decision: 'approve' }, people.carol);
    assert.equal(fourEyes.status, 403);
    assert.match(fourEyes.body.error.message, /four-eyes/);
    const refusedCount = async (reason: string) => Number(new RegExp(`mlops_slack_refused_total\\{reason="${reason}"\\} (\\d+)`).exec((await call('GET', '/metrics')).body as string)?.[1] ?? 0);
    const [signatureBefore, replayedBefore] = [await refusedCount('signature'), await refusedCount('replayed')];
    const forged = buttonPress({ user: 'UALICE', runId, secret: 'not-the-secret' });
    assert.equal((await call('POST', '/slack/interactions', undefined, undefined, forged)).status, 401);
    const stale = buttonPress({ user: 'UALICE', runId, timestamp: Math.floor(Date.now() / 1000) - 600 });
    assert.equal((await call('POST', '/slack/interactions', undefined, undefined, stale)).status, 401);
    assert.equal((await call('POST', '/slack/interactions', undefined, undefined, buttonPress({ user: 'UNOBODY', runId }))).status, 403);
    assert.equal((await call('POST', '/slack/interactions', undefined, undefined, buttonPress({ user: 'UVIC', runId }))).status, 403);
    const unsigned = await call('POST', '/slack/interactions', undefined, undefined, { raw: 'payload=%7B%7D', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(unsigned.status, 401);

    const alice = buttonPress({ user: 'UALICE', runId });
    const first = await call('POST', '/slack/interactions', undefined, undefined, alice);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.approvals, 1);
    assert.equal(first.body.required, 2);
    assert.equal((await call('POST', '/slack/interactions', undefined, undefined, alice)).status, 409, 'the same signed request replayed');
    // the signal is in once the run's status shows it
    await eventually('the first approval in the run\'s status', async () => (await call('GET', `/v1/pipelines/${runId}`)).body.approval.approvals === 1 || undefined);
    const again = await call('POST', '/slack/interactions', undefined, undefined, buttonPress({ user: 'UALICE', runId, timestamp: Math.floor(Date.now() / 1000) + 1 }));
    assert.equal(again.status, 409, 'a double click');
    assert.match(again.body.error.message, /already approved/);

    // Slack gives up on a press it has no answer to within 3 s. The press is answered before the person
    // is told, however slow Slack's Web API is: with that call held unanswered, bob's press still gets
    // its answer inside Slack's deadline (waiting for the call, it would take the client's 5 s timeout).
    const release = slack.hold('chat.postEphemeral');
    const bobPress = buttonPress({ user: 'UBOB', runId });
    const bobAnswer = await fetch(`${stack.api.url}/slack/interactions`, { method: 'POST', headers: bobPress.headers, body: bobPress.raw, signal: AbortSignal.timeout(3_000) });
    const bob = { status: bobAnswer.status, body: await bobAnswer.json() };
    assert.equal(bob.status, 200, JSON.stringify(bob.body));
    await eventually('the message to bob sent, and held', async () => slack.held.includes('chat.postEphemeral') || undefined);
    release();
    const done = await stack.waitRun(runId, ['deployed']);
    assert.equal(done.approval.decision.decision, 'approve');
    assert.equal(done.approval.decision.by, 'alice, bob');
    assert.deepEqual(done.approval.received.filter((r: { counted: boolean }) => r.counted).map((r: { by: string; channel: string }) => `${r.by}/${r.channel}`), ['alice/slack', 'bob/slack']);

    const late = await call('POST', '/slack/interactions', undefined, undefined, buttonPress({ user: 'UALICE', runId, action: REJECT_ACTION, timestamp: Math.floor(Date.now() / 1000) + 2 }));
    assert.equal(late.status, 409, 'a click after the run ended');
    assert.match(late.body.error.message, /not awaiting approval/);

    const updated = posted('chat.update');
    assert.equal(updated.length, 1);
    assert.equal(updated[0].body.ts, request.ts, 'the request message itself is rewritten');
    assert.match(JSON.stringify(updated[0].body.blocks), /Approved gov v1 \(by alice, bob\)/);
    assert.ok(!JSON.stringify(updated[0].body.blocks).includes(APPROVE_ACTION), 'no buttons left');
    const told = posted('chat.postEphemeral').map((c) => `${c.body.user}: ${c.body.text}`);
    assert.ok(told.some((t) => t.startsWith('UNOBODY: Your decision was not recorded')), told.join('\n'));
    assert.ok(told.some((t) => t.startsWith('UALICE: Recorded: you approved') && t.includes('1 of 2')), told.join('\n'));

    // signed presses by people who may not decide are audited; unsigned, forged and replayed ones are counted
    const refusedSlack = await auditOf('slack.refused');
    assert.deepEqual(refusedSlack.map((a) => a.actor).sort(), ['UNOBODY', 'UVIC'], JSON.stringify(refusedSlack));
    assert.equal((await auditOf('slack.replayed')).length, 0);
    assert.equal(await refusedCount('signature') - signatureBefore, 3, 'the forged, stale and unsigned requests');
    assert.equal(await refusedCount('replayed') - replayedBefore, 1);
    const refusedApprovals = (await auditOf('approval.refused')).map((a) => a.details.reason);
    assert.ok(refusedApprovals.some((r) => /four-eyes/.test(r)));
    assert.ok(refusedApprovals.some((r) => /already approved/.test(r)));
    assert.ok(refusedApprovals.some((r) => /not awaiting approval/.test(r)));

    if (process.env.RECORD_HISTORIES) {
      fs.writeFileSync(path.join(__dirname, 'fixtures', 'histories', 'training-pipeline-two-approvers-update.json'), historyToJSON(await stack.temporal.client.workflow.getHandle(runId).fetchHistory()));
    }
  });

  it('Slack refusing the request or its rewrite stops no run: the failure is audited, and an approval through the API deploys', async () => {
    await call('PUT', '/v1/models/gov-quiet/approval-policy', { approvers: 1, fourEyes: true });
    const approved = async (refused: string, error: string) => {
      const restore = slack.refuse(refused, error);
      try {
        const started = await call('POST', '/v1/pipelines', { model: 'gov-quiet', data: { uri: BREAST_CANCER }, target: 'diagnosis', seed: refused.length }, people.carol);
        const runId = started.body.id;
        await stack.waitRun(runId, ['awaiting_approval']);
        // the request may still be on its way to Slack: the run takes decisions from the moment it waits
        assert.equal((await call('POST', `/v1/pipelines/${runId}/approval`, { decision: 'approve' }, people.alice)).status, 202);
        const done = await stack.waitRun(runId, ['deployed']);
        assert.equal(done.approval.decision.by, 'alice');
        return runId;
      } finally {
        restore();
      }
    };
    const unposted = await approved('chat.postMessage', 'not_in_channel');
    const unrewritten = await approved('chat.update', 'message_not_found');
    const failed = await auditOf('slack.failed');
    assert.ok(failed.some((a) => a.subject === unposted && a.details.what === 'post approval' && /not_in_channel/.test(a.details.reason)), JSON.stringify(failed));
    assert.ok(failed.some((a) => a.subject === unrewritten && a.details.what === 'update approval' && /message_not_found/.test(a.details.reason)), JSON.stringify(failed));
  });

  it('a low-risk run is approved by the policy; an undecided one is reminded, escalated and rejected at its timeout', async () => {
    await call('PUT', '/v1/models/gov/approval-policy', { approvers: 2, fourEyes: true, autoApprove: { thresholds: { auc: 0.9 } } });
    const lowRisk = await call('POST', '/v1/pipelines', { model: 'gov', data: { uri: BREAST_CANCER }, target: 'diagnosis', seed: 5 }, people.carol);
    const auto = await stack.waitRun(lowRisk.body.id, ['deployed']);
    assert.equal(auto.approval.decision.by, 'policy:low-risk');
    assert.deepEqual(auto.approval.schemaChanges, []);

    const before = posted('chat.postMessage').length;
    await call('PUT', '/v1/models/gov/approval-policy', { approvers: 1, fourEyes: true, reminders: ['4 seconds'], escalationChannel: '#ml-escalations' });
    const slow = await call('POST', '/v1/pipelines', { model: 'gov', data: { uri: BREAST_CANCER }, target: 'diagnosis', seed: 6, approval: { mode: 'manual', timeout: '8 seconds' } }, people.carol);
    const rejected = await stack.waitRun(slow.body.id, ['rejected']);
    assert.equal(rejected.approval.decision.by, 'system:timeout');
    assert.equal(rejected.approval.decision.via, 'timeout');
    const after = posted('chat.postMessage').slice(before);
    const ask = after.find((c) => c.body.channel === '#approvals' && c.body.blocks);
    const reminder = after.find((c) => /Reminder: gov v\d still needs approval \(0 of 1\)/.test(c.body.text));
    const escalation = after.find((c) => c.body.channel === '#ml-escalations');
    assert.ok(ask && reminder && escalation, JSON.stringify(after.map((c) => [c.body.channel, c.body.text])));
    assert.equal(reminder!.body.thread_ts, ask!.ts, 'the reminder is in the request thread');
    assert.match(escalation!.body.text, /no approval decision within 8 seconds/);
    assert.ok((await auditOf('approval.escalated')).length >= 1);
    // configuration changes are audited too, and the chain still verifies
    assert.ok((await auditOf('approval_policy.set')).length >= 3);
    const verified = await call('GET', '/v1/audit/verify');
    assert.equal(verified.status, 200);
    assert.equal(verified.body.ok, true, JSON.stringify(verified.body));
  });
});
