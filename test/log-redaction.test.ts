/**
 * The attack: an operator ships every line `mlops up` writes to a log store many people can read. With
 * known secret values configured (admin key, Slack token and signing secret, the metadata store's
 * password, PagerDuty and webhook keys, encryption keys), the platform runs what touches them: API-key
 * creation and use, connections registered with passwords (one that works, one that cannot connect), a
 * pipeline read through a connection, a full pipeline approved from Slack, predictions with recognisable
 * feature values (through the fast path and through Express), refused keys. Then every line the process
 * wrote, standard output and standard error, is searched for each secret and each input value.
 * Along the way: every line is JSON with the ECS fields, the banner included; there is exactly one line
 * per HTTP request, named by route pattern; workflow and activity lines carry their ids.
 */
import assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Client } from 'pg';
import { createTestDatabase, TestDatabase } from './helpers/database';
import { eventually } from './helpers/eventually';
import { BREAST_CANCER } from './helpers/pipeline-env';
import { buttonPress, slackStandIn, SlackStandIn } from './helpers/slack';
import { TEST_DATA_ROOTS } from './helpers/sources';
import { REPO_ROOT, startTemporal } from './helpers/temporal';

const hex = (n: number) => randomBytes(n).toString('hex');

/** Every secret the stack is given or hands out; none may appear in any line. Filled as they are made. */
const SECRETS: Record<string, string> = {
  adminKey: `admin-${hex(16)}`,
  slackBotToken: `xoxb-${hex(6)}-${hex(10)}`,
  slackSigningSecret: `signing-${hex(16)}`,
  databasePassword: `dbpw-${hex(12)}`,
  warehousePassword: `whpw-${hex(12)}`,
  unreachablePassword: `nopw-${hex(12)}`,
  pagerdutyKey: `pd${hex(14)}`,
  webhookSecret: `hook-${hex(14)}`,
  encryptionKey: randomBytes(32).toString('base64'),
  piiKey: randomBytes(32).toString('base64'),
  refusedKey: `mlk_abcdefabcdef_${randomBytes(32).toString('base64url').slice(0, 43)}`,
  headerKey: `x-api-key-value-${hex(10)}`,
};

/** Feature values no model, metric or default would print: a person's data, sent to predict. */
const INPUT_VALUES = [13.371337, 21.424242, 87.919191];

describe('logs keep secrets and people\'s data out (mlops up, every line)', () => {
  let temporal: TestWorkflowEnvironment;
  let platformDb: TestDatabase;
  let warehouse: TestDatabase;
  let slack: SlackStandIn;
  let child: ChildProcess;
  let dataDir: string;
  let stdout = '';
  let stderr = '';
  let api = '';
  /** Requests this test sent, by route pattern: the log must have one line for each. */
  const sent = new Map<string, number>();
  const roles: string[] = [];

  const call = async (method: string, route: string, url: string, o: { body?: unknown; raw?: string; headers?: Record<string, string>; key?: string | null } = {}) => {
    sent.set(`${method} ${route}`, (sent.get(`${method} ${route}`) ?? 0) + 1);
    const key = o.key === undefined ? SECRETS.adminKey : o.key;
    const response = await fetch(api + url, {
      method,
      headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(o.body !== undefined ? { 'content-type': 'application/json' } : {}), ...o.headers },
      body: o.raw ?? (o.body === undefined ? undefined : JSON.stringify(o.body)),
    });
    const text = await response.text();
    return { status: response.status, body: text && (response.headers.get('content-type') ?? '').includes('json') ? JSON.parse(text) : text };
  };
  const waitRun = (id: string, states: string[]) => eventually(`run ${id} to be ${states.join(' or ')}`, async () => {
    const run = (await call('GET', '/v1/pipelines/:id', `/v1/pipelines/${id}`)).body;
    if (!states.includes(run.state) && ['deployed', 'rejected', 'failed'].includes(run.state)) throw new Error(`run ${id} ended ${run.state}: ${JSON.stringify(run)}`);
    return states.includes(run.state) ? run : undefined;
  }, { everyMs: 500 });

  /** A role with a password, owning a fresh database: DATABASE_URL carries a password this way. */
  async function roleWithPassword(db: TestDatabase, password: string, o: { owner: boolean }): Promise<string> {
    const role = `logs_${hex(4)}`;
    const admin = new Client({ connectionString: db.url });
    await admin.connect();
    try {
      await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
      roles.push(role);
      const database = new URL(db.url).pathname.slice(1);
      if (o.owner) await admin.query(`ALTER DATABASE ${database} OWNER TO ${role}`);
      else await admin.query(`GRANT CONNECT ON DATABASE ${database} TO ${role}`);
    } finally {
      await admin.end();
    }
    const url = new URL(db.url);
    url.username = role;
    url.password = password;
    return url.toString();
  }

  before(async () => {
    temporal = await startTemporal();
    slack = await slackStandIn({ latencyMs: 50 });
    platformDb = await createTestDatabase(undefined, { migrate: false });
    warehouse = await createTestDatabase(undefined, { migrate: false });
    const databaseUrl = await roleWithPassword(platformDb, SECRETS.databasePassword, { owner: true });
    SECRETS.warehouseUrl = await roleWithPassword(warehouse, SECRETS.warehousePassword, { owner: false });
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-log-redaction-'));
    const { TEST_DATABASE_URL: _t, NODE_TEST_CONTEXT: _runner, ...inherited } = process.env;
    child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'src', 'cli.ts'), 'up'], {
      cwd: REPO_ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...inherited,
        MLOPS_DATA_DIR: dataDir, MLOPS_API_PORT: '0', MLOPS_DATA_ROOTS: TEST_DATA_ROOTS.join(','), MLOPS_TASK_QUEUE: `logs-${hex(4)}`,
        TEMPORAL_ADDRESS: temporal.address, DATABASE_URL: databaseUrl,
        // the most a deployment would write: every debug line of the SDK and ours
        MLOPS_LOG_LEVEL: 'debug',
        MLOPS_ADMIN_KEY: SECRETS.adminKey,
        SLACK_BOT_TOKEN: SECRETS.slackBotToken, SLACK_SIGNING_SECRET: SECRETS.slackSigningSecret, SLACK_APPROVAL_CHANNEL: '#approvals', SLACK_API_URL: slack.url,
        PAGERDUTY_ROUTING_KEY: SECRETS.pagerdutyKey, PAGERDUTY_EVENTS_URL: 'http://127.0.0.1:9',
        MLOPS_ALERT_WEBHOOK_URL: 'http://127.0.0.1:9/hook', MLOPS_ALERT_WEBHOOK_SECRET: SECRETS.webhookSecret,
        MLOPS_ENCRYPTION_KEY: SECRETS.encryptionKey, MLOPS_PII_KEY: SECRETS.piiKey,
      },
    });
    child.stdout!.on('data', (d) => { stdout += d; });
    child.stderr!.on('data', (d) => { stderr += d; });
    // the address comes from the banner, which off a terminal is a JSON line with the URL as a field
    api = await eventually(() => `mlops up to print its API address; so far:\n${stdout}\n${stderr}`, () => {
      assert.equal(child.exitCode, null, `mlops up exited:\n${stdout}\n${stderr}`);
      const banner = stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).find((l) => l['mlops.endpoint'] === 'api');
      return banner?.['url.full'] as string | undefined;
    }, { timeoutMs: 180_000, everyMs: 250 });
  });

  after(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGINT');
      const stopped = await Promise.race([new Promise((r) => child.once('exit', () => r(true))), new Promise((r) => setTimeout(() => r(false), 20_000))]);
      if (!stopped) try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ }
    }
    await slack?.close();
    for (const db of [platformDb, warehouse]) await db?.close();
    if (roles.length > 0 && platformDb) {
      // roles are cluster-wide: drop them once their databases are gone
      const admin = new Client({ connectionString: platformDb.url.replace(/\/[^/]*$/, '/postgres') });
      await admin.connect().then(async () => { for (const role of roles) await admin.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined); }).finally(() => admin.end());
    }
    await temporal?.teardown();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs keys, connections, a Slack-approved pipeline and predictions, then no line holds a secret or an input value', async () => {
    // keys: created (its token is a secret from then on), used, and refused ones
    const created = await call('POST', '/v1/keys', '/v1/keys', { body: { name: 'analyst', role: 'approver' } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    SECRETS.createdKey = created.body.token;
    assert.equal((await call('GET', '/v1/models', '/v1/models', { key: SECRETS.createdKey })).status, 200);
    assert.equal((await call('GET', '/v1/models', '/v1/models', { key: SECRETS.refusedKey })).status, 401);
    assert.equal((await call('GET', '/v1/models', '/v1/models', { key: null, headers: { 'x-api-key': SECRETS.headerKey } })).status, 401);

    // connections with passwords: one that works, one that cannot connect (its error names the host)
    assert.equal((await call('PUT', '/v1/connections/:name', '/v1/connections/warehouse', { body: { url: SECRETS.warehouseUrl } })).status, 200);
    const unreachable = await call('PUT', '/v1/connections/:name', '/v1/connections/nowhere', { body: { url: `postgres://nobody:${SECRETS.unreachablePassword}@127.0.0.1:1/x` } });
    assert.equal(unreachable.status, 400, JSON.stringify(unreachable.body));
    // a run read through the connection, failing in the source (its error travels through Temporal's logs)
    const throughConnection = await call('POST', '/v1/pipelines', '/v1/pipelines', { body: { model: 'warehouse', data: { connection: 'warehouse', query: 'SELECT * FROM no_such_table' }, target: 'y' } });
    assert.equal(throughConnection.status, 202, JSON.stringify(throughConnection.body));
    await waitRun(throughConnection.body.id, ['failed']);

    // a full pipeline, approved from Slack by a person Slack names
    assert.equal((await call('PUT', '/v1/slack/users/:id', '/v1/slack/users/UALICE', { body: { name: 'alice', role: 'approver' } })).status, 200);
    const started = await call('POST', '/v1/pipelines', '/v1/pipelines', { body: { model: 'cancer', data: { uri: BREAST_CANCER }, target: 'diagnosis' } });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    const runId: string = started.body.id;
    await waitRun(runId, ['awaiting_approval']);
    await eventually('the approval request in Slack', () => slack.calls.find((c) => c.method === 'chat.postMessage' && JSON.stringify(c.body.blocks ?? '').includes(runId)));
    const press = buttonPress({ user: 'UALICE', runId, secret: SECRETS.slackSigningSecret });
    const pressed = await call('POST', '/slack/interactions', '/slack/interactions', { raw: press.raw, headers: press.headers, key: null });
    assert.equal(pressed.status, 200, JSON.stringify(pressed.body));
    const deployed = await waitRun(runId, ['deployed']);

    // predictions with recognisable values, through the fast path and through Express
    const features: string[] = deployed.signature?.features?.map((f: { name: string }) => f.name)
      ?? fs.readFileSync(BREAST_CANCER, 'utf8').split('\n')[0].split(',').filter((c) => c !== 'diagnosis');
    const instance = Object.fromEntries(features.map((f, i) => [f, INPUT_VALUES[i % INPUT_VALUES.length]]));
    for (const url of ['/v1/models/cancer/predict', '/v1/models/cancer/predict?via=express']) {
      const predicted = await call('POST', '/v1/models/:name/predict', url, { body: { instances: [instance, instance] }, key: null });
      assert.equal(predicted.status, 200, JSON.stringify(predicted.body));
    }
    const refused = await call('POST', '/v1/models/:name/predict', '/v1/models/cancer/predict', { body: { instances: [{ ...instance, radius_mean: `text-input-${INPUT_VALUES[0]}` }] }, key: null });
    assert.equal(refused.status, 400, JSON.stringify(refused.body));

    // stop the stack, so every line it would write is written
    child.kill('SIGINT');
    const code = await Promise.race([new Promise((r) => child.once('exit', r)), new Promise((r) => setTimeout(() => r('still running 60 s after SIGINT'), 60_000))]);
    assert.equal(code, 0, stderr);
    const lines = `${stdout}\n${stderr}`.split('\n').filter((l) => l.trim() !== '');
    assert.ok(lines.length > 50, `only ${lines.length} lines`);

    const leaks: string[] = [];
    for (const line of lines) {
      for (const [name, secret] of Object.entries(SECRETS)) {
        if (line.includes(secret)) leaks.push(`${name}: ${line.slice(0, 300)}`);
        // the secret part of an API key alone, and a URL's password alone
        // (everything after the id: the secret is base64url, so it may hold underscores itself)
        const part = name === 'createdKey' || name === 'refusedKey' ? /^mlk_[a-z0-9]+_(.+)$/.exec(secret)?.[1] : undefined;
        if (part && line.includes(part)) leaks.push(`${name} (secret part): ${line.slice(0, 300)}`);
      }
      for (const value of INPUT_VALUES) if (line.includes(String(value))) leaks.push(`input ${value}: ${line.slice(0, 300)}`);
      if (line.includes('taskToken')) leaks.push(`a task token: ${line.slice(0, 300)}`);
    }
    assert.deepEqual(leaks, []);

    // standard output is JSON lines with the ECS fields, the banner among them
    const records = stdout.split('\n').filter((l) => l.trim() !== '').map((l) => {
      const record = JSON.parse(l);
      for (const field of ['@timestamp', 'log.level', 'message', 'service.name']) assert.ok(field in record, `${field} in ${l.slice(0, 300)}`);
      return record;
    });
    assert.ok(records.some((r) => /press Ctrl-C/.test(r.message) && r['url.full']), 'the banner is JSON with the console URL as a field');

    // exactly one line per request, named by route pattern, never by the raw path
    const logged = new Map<string, number>();
    for (const r of records.filter((r) => r['service.name'] === 'mlops-api' && 'http.request.method' in r)) {
      assert.ok(!r['url.path'].includes(runId), `a raw id in ${JSON.stringify(r)}`);
      logged.set(`${r['http.request.method']} ${r['url.path']}`, (logged.get(`${r['http.request.method']} ${r['url.path']}`) ?? 0) + 1);
    }
    assert.deepEqual(Object.fromEntries([...logged].sort()), Object.fromEntries([...sent].sort()));
    const predicts = records.filter((r) => r['url.path'] === '/v1/models/:name/predict' && r['http.response.status_code'] === 200);
    assert.deepEqual(predicts.map((r) => [r['mlops.model'], r['mlops.version']]), [['cancer', deployed.modelVersion], ['cancer', deployed.modelVersion]]);

    // workflow and activity lines come through Temporal's logger with their ids
    const activities = records.filter((r) => r['mlops.workflow.id'] === runId && r['mlops.activity.type']);
    assert.ok(activities.some((r) => r['mlops.activity.type'] === 'train' || /train/i.test(r['mlops.activity.type'])), `activity lines of ${runId}: ${JSON.stringify(activities.map((r) => r['mlops.activity.type']))}`);
    assert.ok(activities.every((r) => r['service.name'] === 'mlops-worker' && typeof r['mlops.activity.attempt'] === 'number'));
  });
});
