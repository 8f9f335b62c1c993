/**
 * The attacks the review found, each tried for real against a running stack, and the damage checked
 * not to have happened: data sources that reach the platform's own database, files and neighbours;
 * one key counting as several approvers; anonymous feedback; forged Slack floods; readiness that
 * leaks error text. A legitimate file and an uploaded dataset still train.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REFUSAL_AUDITS_PER_MINUTE } from '../src/api/access';
import { FORMAT_NAMES } from '../src/ingest/formats';
import { signSlackRequest } from '../src/slack/signature';
import { ADMIN_AUTH, ApiStack, Reply, startApiStack } from './helpers/api-stack';
import { createTestDatabase, TestDatabase } from './helpers/database';
import { mlopsCli } from './helpers/cli';
import { BREAST_CANCER } from './helpers/pipeline-env';
import { REPO_ROOT } from './helpers/sources';

const SIGNING_SECRET = 'attack-test-signing-secret';

describe('attacks: confined sources, who approves, abuse limits', () => {
  let stack: ApiStack;
  let warehouse: TestDatabase;
  let dir: string;
  let target: http.Server;
  let redirector: http.Server;
  let targetUrl: string;
  let redirectorUrl: string;
  const keys: Record<string, string> = {};

  const as = (who: string) => ({ headers: { authorization: `Bearer ${keys[who]}` } });
  const start = (who: string, data: unknown, extra: Record<string, unknown> = {}) =>
    stack.call('POST', '/v1/pipelines', { model: 'attack', data, target: 'diagnosis', ...extra }, as(who));
  const refused = (r: Reply, pattern: RegExp) => {
    assert.ok(r.status >= 400 && r.status < 500, `${r.status} ${JSON.stringify(r.body)}`);
    assert.match(r.body.error.message, pattern);
    assert.equal(r.body.id, undefined, 'no run started');
  };
  const roleOf = async (name: string) => (await stack.stores.pool.query('SELECT role FROM api_keys WHERE name = $1', [name])).rows.map((r) => r.role);

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-attacks-'));
    // a service on loopback that must stay out of reach, and an allowed server that redirects to it
    target = http.createServer((_req, res) => { res.writeHead(200, { 'content-type': 'text/csv' }); res.end('secret\nloopback-only\n'); });
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', () => r()));
    targetUrl = `http://127.0.0.1:${(target.address() as { port: number }).port}`;
    redirector = http.createServer((_req, res) => { res.writeHead(302, { location: `http://localhost:${(target.address() as { port: number }).port}/data.csv` }); res.end(); });
    await new Promise<void>((r) => redirector.listen(0, '127.0.0.1', () => r()));
    redirectorUrl = `http://127.0.0.1:${(redirector.address() as { port: number }).port}`;
    // the data roots: the repository and this test's own folder (other temporary folders are outside)
    stack = await startApiStack({ env: { MLOPS_TASK_QUEUE: 'attacks', MLOPS_DATA_ROOTS: `${REPO_ROOT},${dir}`, MLOPS_MAX_UPLOAD: '1mb', MLOPS_URL_ALLOW: new URL(redirectorUrl).host, SLACK_SIGNING_SECRET: SIGNING_SECRET } });
    warehouse = await createTestDatabase(undefined, { migrate: false });
    await warehouse.pool.query('CREATE TABLE accounts (id integer, owner text)');
    await warehouse.pool.query("INSERT INTO accounts VALUES (1, 'ann'), (2, 'ben')");
    for (const [name, role] of [['analyst', 'scientist'], ['watcher', 'viewer'], ['rita', 'approver']] as const) {
      const created = await stack.call('POST', '/v1/keys', { name, role });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      keys[name] = created.body.token;
    }
  });

  after(async () => {
    await stack.close();
    await warehouse.close();
    target.close();
    redirector.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a scientist\'s source that tries to UPDATE the platform\'s own database is refused, and the key stays a scientist', async () => {
    const update = "UPDATE api_keys SET role = 'admin' WHERE name = 'analyst' RETURNING 1 AS y";
    refused(await start('analyst', { uri: stack.db.url, query: update }), /connection strings are not accepted/);
    refused(await start('analyst', { uri: stack.db.url.replace(/^postgres:/, 'postgresql:') }), /connection strings are not accepted/);
    // even an admin cannot name a connection string, nor register the platform's database as a connection
    refused(await stack.call('POST', '/v1/pipelines', { model: 'attack', data: { uri: stack.db.url, query: update }, target: 'y' }), /connection strings are not accepted/);
    const platform = await stack.call('PUT', '/v1/connections/platform', { url: stack.db.url });
    assert.equal(platform.status, 403, JSON.stringify(platform.body));
    assert.match(platform.body.error.message, /platform's own metadata database/);
    assert.equal((await stack.call('GET', '/v1/connections/platform')).status, 404);
    // a scientist cannot register a connection at all
    assert.equal((await stack.call('PUT', '/v1/connections/mine', { url: warehouse.url }, as('analyst'))).status, 403);
    assert.deepEqual(await roleOf('analyst'), ['scientist']);
  });

  it('a registered connection reads inside a READ ONLY transaction: an UPDATE through it fails the run and changes nothing', async () => {
    const saved = await stack.call('PUT', '/v1/connections/warehouse', { url: warehouse.url });
    assert.equal(saved.status, 200, JSON.stringify(saved.body));
    const password = new URL(warehouse.url).password;
    const listed = JSON.stringify((await stack.call('GET', '/v1/connections')).body);
    assert.match(listed, /"name":"warehouse"/);
    if (password) assert.ok(!listed.includes(password), 'the password is never returned');
    const stored = (await stack.stores.pool.query('SELECT sealed_url::text AS sealed FROM source_connections')).rows[0].sealed as string;
    assert.ok(!stored.includes(new URL(warehouse.url).host), 'the URL is sealed at rest');

    const run = await start('analyst', { connection: 'warehouse', query: "UPDATE accounts SET owner = 'mallory' RETURNING id, owner AS diagnosis" });
    assert.equal(run.status, 202, JSON.stringify(run.body));
    const failed = await stack.waitRun(run.body.id, ['failed']);
    assert.match(failed.error, /read-only transaction/);
    const owners = (await warehouse.pool.query('SELECT owner FROM accounts ORDER BY id')).rows.map((r) => r.owner);
    assert.deepEqual(owners, ['ann', 'ben']);
    refused(await start('analyst', { connection: 'nowhere', query: 'SELECT 1' }), /no connection is named "nowhere"/);
    assert.equal((await stack.call('DELETE', '/v1/connections/warehouse')).status, 204);
    assert.equal((await stack.call('DELETE', '/v1/connections/warehouse')).status, 404);
  });

  it('malformed sources and connections get a clear 4xx naming what is wrong', async () => {
    const bad = async (r: Reply, status: number, pattern: RegExp) => {
      assert.equal(r.status, status, JSON.stringify(r.body));
      assert.match(r.body.error.message, pattern);
    };
    await bad(await start('analyst', { connection: 'warehouse' }), 400, /a "connection" source needs a "query"/);
    await bad(await start('analyst', { uri: '/x.csv', connection: 'warehouse', query: 'SELECT 1' }), 400, /name exactly one source/);
    await bad(await start('analyst', {}), 400, /name exactly one source/);
    await bad(await start('analyst', { connection: 'warehouse', query: 'SELECT 1', format: 'csv' }), 400, /"format" applies to a "uri" source only/);
    await bad(await start('analyst', { dataset: 'f'.repeat(64), query: 'SELECT 1' }), 400, /a "dataset" source takes no "query"/);
    await bad(await start('analyst', { dataset: 'not-a-digest' }), 400, /a dataset id is the 64 hex digits/);
    await bad(await start('analyst', { dataset: 'f'.repeat(64) }), 400, /dataset version "f{64}" does not exist/);
    await bad(await start('analyst', { connection: 'Bad Name!', query: 'SELECT 1' }), 400, /connection names are lower-case/);
    await bad(await stack.call('PUT', '/v1/connections/warehouse', { url: 'mysql://root@db/x' }), 400, /a PostgreSQL URL/);
    await bad(await stack.call('PUT', '/v1/connections/warehouse', { url: 'postgres://nobody@127.0.0.1:1/x' }), 400, /could not connect to the source database/);
    await bad(await stack.call('PUT', '/v1/connections/warehouse', { url: warehouse.url, extra: 1 }), 400, /invalid request/);
    await bad(await stack.call('PUT', '/v1/connections/Bad%20Name', { url: warehouse.url }), 400, /not a valid connection name/);
    assert.equal((await stack.call('GET', '/v1/connections/warehouse')).status, 404, 'nothing was saved');
  });

  it('files outside the data roots, in the data dir, and behind symlinks are refused before a run starts', async () => {
    const adminKey = path.join(stack.dataDir, 'admin-key');
    fs.writeFileSync(adminKey, 'the-admin-key\n');
    fs.symlinkSync('/etc/passwd', path.join(dir, 'passwd.csv'));
    fs.symlinkSync(adminKey, path.join(dir, 'key.csv'));
    fs.symlinkSync(stack.dataDir, path.join(dir, 'data-dir'));
    for (const uri of ['/etc/passwd', 'file:///etc/passwd', '../../../../../../etc/passwd', adminKey, `file://${adminKey}`,
      path.join(dir, 'passwd.csv'), path.join(dir, 'key.csv'), path.join(dir, 'data-dir', 'admin-key'), path.join(stack.dataDir, 'artifacts')]) {
      const r = await start('analyst', { uri });
      refused(r, /MLOPS_DATA_ROOTS|MLOPS_DATA_DIR/);
      assert.equal(r.body.error.details?.setting, 'MLOPS_DATA_ROOTS', uri);
      assert.ok(!JSON.stringify(r.body).includes('the-admin-key'), 'nothing of the file is shown');
    }
  });

  it('URLs to loopback, localhost, private and metadata addresses, other schemes, and a redirect to loopback are refused before a run starts', async () => {
    const port = new URL(targetUrl).port;
    for (const uri of [`${targetUrl}/data.csv`, `http://localhost:${port}/data.csv`, `http://[::1]:${port}/`, `http://[::ffff:127.0.0.1]:${port}/`, `http://0x7f000001:${port}/`,
      `http://2130706433:${port}/`, 'http://169.254.169.254/latest/meta-data/iam/', 'http://[fd00:ec2::254]/latest/', 'http://10.1.2.3/data.csv', 'http://192.168.0.1/x.csv',
      'http://172.16.5.4/x.csv', 'http://100.100.100.200/latest/meta-data/']) {
      refused(await start('analyst', { uri }), /internal address/);
    }
    refused(await start('analyst', { uri: 'ftp://example.com/data.csv' }), /MLOPS_DATA_ROOTS|only http, https and s3/);
    refused(await start('analyst', { uri: 'gopher://127.0.0.1:6379/_INFO' }), /MLOPS_DATA_ROOTS|only http, https and s3/);
    refused(await start('analyst', { uri: `http://user:pw@${new URL(redirectorUrl).host}/x.csv` }), /credentials/);
    // the redirector itself is allowed; where it sends the reader is not
    refused(await start('analyst', { uri: `${redirectorUrl}/data.csv` }), /localhost:\d+ resolves to .*internal address/);
  });

  it('a scientist cannot deploy by asking for auto approval, of a run or of an imported model: 403, nothing started', async () => {
    const auto = { approval: { mode: 'auto', thresholds: {} } };
    const run = await start('analyst', { uri: BREAST_CANCER }, { model: 'self-approved', ...auto });
    assert.equal(run.status, 403, JSON.stringify(run.body));
    assert.match(run.body.error.message, /needs the approver role \(this key is scientist\)/);
    const form = new FormData();
    form.append('onnx', new Blob([Buffer.from('not even looked at')]), 'model.onnx');
    form.append('metadata', JSON.stringify({ evaluation: { data: { uri: BREAST_CANCER } }, target: 'diagnosis', ...auto }));
    const imported = await fetch(`${stack.api.url}/v1/models/self-approved/versions`, { method: 'POST', headers: { authorization: `Bearer ${keys.analyst}` }, body: form });
    assert.equal(imported.status, 403);
    // the damage: no run of that model, no version of it
    assert.deepEqual((await stack.call('GET', '/v1/runs?model=self-approved')).body.runs, []);
    assert.equal((await stack.call('GET', '/v1/models/self-approved')).status, 404);
    // an approver may decide in advance
    const byApprover = await start('rita', { uri: BREAST_CANCER }, { model: 'self-approved', ...auto });
    assert.equal(byApprover.status, 202, JSON.stringify(byApprover.body));
    await stack.waitRun(byApprover.body.id, ['deployed']);
  });

  it('a legitimate file under a data root and an uploaded dataset still train and deploy', async () => {
    const file = path.join(dir, 'cancer.csv');
    fs.copyFileSync(BREAST_CANCER, file);
    const fromFile = await start('analyst', { uri: file });
    assert.equal(fromFile.status, 202, JSON.stringify(fromFile.body));
    const upload = await fetch(`${stack.api.url}/v1/datasets?name=cancer`, { method: 'POST', headers: { authorization: `Bearer ${keys.analyst}`, 'content-type': 'text/csv' }, body: fs.readFileSync(BREAST_CANCER) });
    const uploaded = await upload.json() as { id: string; rowCount: number };
    assert.equal(upload.status, 201, JSON.stringify(uploaded));
    assert.equal(uploaded.rowCount, 569);
    const fromUpload = await start('analyst', { dataset: uploaded.id }, { model: 'attack-upload' });
    assert.equal(fromUpload.status, 202, JSON.stringify(fromUpload.body));
    // a scientist's runs wait for people: rita approves them
    for (const id of [fromFile.body.id, fromUpload.body.id]) {
      await stack.waitRun(id, ['awaiting_approval']);
      const approved = await stack.call('POST', `/v1/pipelines/${id}/approval`, { decision: 'approve' }, as('rita'));
      assert.equal(approved.status, 202, JSON.stringify(approved.body));
    }
    const [a, b] = [await stack.waitRun(fromFile.body.id, ['deployed']), await stack.waitRun(fromUpload.body.id, ['deployed'])];
    assert.equal(a.datasetId, uploaded.id, 'the same rows are the same dataset version, uploaded or read');
    assert.equal(b.datasetId, uploaded.id);
  });

  it('`mlops run --data` with a file the server may not read uploads it and trains on the upload', async () => {
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-elsewhere-'));
    try {
      const file = path.join(elsewhere, 'cancer.csv');
      fs.copyFileSync(BREAST_CANCER, file);
      // an approver's key: a run that deploys itself (--auto) is a decision a scientist cannot make
      const run = await mlopsCli(stack.api.url, keys.rita)('run', '--data', file, '--target', 'diagnosis', '--name', 'cli-upload', '--auto', '--threshold', 'auc=0.5', '--wait');
      assert.equal(run.status, 0, run.stderr + run.stdout);
      assert.match(run.stdout, /uploaded .*cancer\.csv: dataset [0-9a-f]{64} \(569 rows\)/);
      const versions = (await stack.call('GET', '/v1/models/cli-upload')).body.versions;
      assert.equal(versions.length, 1);
    } finally {
      fs.rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('uploads: too large is a 413, malformed CSV and unknown types are 400s, viewers cannot upload', async () => {
    const post = (body: string | Buffer, type: string, who = 'analyst') =>
      fetch(`${stack.api.url}/v1/datasets`, { method: 'POST', headers: { authorization: `Bearer ${keys[who]}`, 'content-type': type }, body });
    const big = await post(Buffer.alloc(1_100_000, 'a,b\n'), 'text/csv');
    assert.equal(big.status, 413);
    assert.match(((await big.json()) as { error: { message: string } }).error.message, /MLOPS_MAX_UPLOAD/);
    const ragged = await post('a,b\n1,2\n3,4,5\n', 'text/csv');
    assert.equal(ragged.status, 400);
    assert.match(((await ragged.json()) as { error: { message: string } }).error.message, /line 3/);
    const jsonl = await post('{"x": 1, "y": "a"}\n{"x": 2, "y": "b"}\n', 'application/x-ndjson');
    assert.equal(jsonl.status, 201);
    assert.equal((await post('a,b\n1,2\n', 'application/pdf')).status, 400);
    const badFormat = await fetch(`${stack.api.url}/v1/datasets?format=xlsx`, { method: 'POST', headers: { authorization: `Bearer ${keys.analyst}`, 'content-type': 'text/csv' }, body: 'a\n1\n' });
    assert.equal(badFormat.status, 400);
    assert.match(((await badFormat.json()) as { error: { message: string } }).error.message, new RegExp(`"xlsx" is not a known format; known: ${FORMAT_NAMES.join(', ')}`));
    const latin1 = await post(Buffer.from('name,y\nJos\xe9,1\n', 'latin1'), 'text/csv');
    assert.equal(latin1.status, 400);
    assert.match(((await latin1.json()) as { error: { message: string } }).error.message, /not valid UTF-8/);
    assert.equal((await post('', 'text/csv')).status, 400);
    assert.equal((await post('a,b\n1,2\n', 'text/csv', 'watcher')).status, 403);
  });

  it('two approvals sent with one key count once, whatever name the body gives', async () => {
    assert.equal((await stack.call('PUT', '/v1/models/two-eyes/approval-policy', { approvers: 2, fourEyes: false })).status, 200);
    const run = await stack.call('POST', '/v1/pipelines', { model: 'two-eyes', data: { uri: BREAST_CANCER }, target: 'diagnosis', approval: { mode: 'manual' } }, as('analyst'));
    assert.equal(run.status, 202, JSON.stringify(run.body));
    await stack.waitRun(run.body.id, ['awaiting_approval']);
    const approve = (body: Record<string, unknown>, who?: string) => stack.call('POST', `/v1/pipelines/${run.body.id}/approval`, { decision: 'approve', ...body }, who ? as(who) : {});
    assert.equal((await approve({})).status, 202);
    for (const by of ['alice', 'bob', 'rita']) assert.equal((await approve({ by })).status, 403, by);
    assert.equal((await approve({ by: 'rita' }, 'analyst')).status, 403, 'a scientist cannot approve, under any name');
    const again = await approve({});
    assert.equal(again.status, 409);
    assert.match(again.body.error.message, /admin already approved/);
    const status = (await stack.call('GET', `/v1/pipelines/${run.body.id}`)).body;
    assert.equal(status.state, 'awaiting_approval');
    assert.equal(status.approval.approvals, 1);
    assert.equal((await approve({}, 'rita')).status, 202);
    const done = await stack.waitRun(run.body.id, ['deployed']);
    assert.equal(done.approval.decision.by, 'admin, rita');
  });

  it('feedback needs a key by default; readiness names a failed check but not its error', async () => {
    const anonymous = await stack.call('POST', '/v1/feedback', { predictionId: '00000000-0000-4000-8000-000000000000', label: 'M' }, { anonymous: true });
    assert.equal(anonymous.status, 401);
    const withKey = await stack.call('POST', '/v1/feedback', { predictionId: '00000000-0000-4000-8000-000000000000', label: 'M' }, as('watcher'));
    assert.equal(withKey.status, 404, 'a valid key reaches the route (the prediction is unknown)');
    const ready = await stack.call('GET', '/readyz', undefined, { anonymous: true });
    assert.deepEqual(ready.body, { status: 'ready', checks: { database: 'ok', temporal: 'ok' } });
  });

  it('a key hammering a route above its role is refused every time, but fills no audit log: 120 entries a minute at most', async () => {
    const count = async () => Number((await stack.stores.pool.query("SELECT count(*) FROM audit_events WHERE action = 'access.forbidden' AND actor = 'watcher'")).rows[0].count);
    const before = await count();
    for (let i = 0; i < 200; i++) assert.equal((await stack.call('POST', '/v1/keys', { name: `x${i}`, role: 'admin' }, as('watcher'))).status, 403);
    const written = (await count()) - before;
    assert.ok(written >= 1 && written <= REFUSAL_AUDITS_PER_MINUTE, `${written} audit entries for 200 refusals`);
    assert.equal((await stack.call('GET', '/v1/keys', undefined, { headers: ADMIN_AUTH })).body.keys.filter((k: { name: string }) => /^x\d+$/.test(k.name)).length, 0, 'no key was made');
  });

  it('a flood of forged Slack requests is throttled per address and counted, not written to the audit log one by one', async () => {
    const auditCount = async () => Number((await stack.stores.pool.query('SELECT count(*) FROM audit_events')).rows[0].count);
    const before = await auditCount();
    const raw = new URLSearchParams({ payload: JSON.stringify({ type: 'block_actions', actions: [{ action_id: 'approve', value: 'x' }] }) }).toString();
    const timestamp = String(Math.floor(Date.now() / 1000));
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) {
      const r = await stack.call('POST', '/slack/interactions', undefined, { anonymous: true, raw, headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': timestamp, 'x-slack-signature': signSlackRequest('wrong-secret', timestamp, raw) } });
      statuses.push(r.status);
    }
    assert.deepEqual([...new Set(statuses.slice(0, 20))], [401]);
    assert.deepEqual([...new Set(statuses.slice(20))], [429]);
    assert.equal(await auditCount(), before, 'no audit entry per forged request');
    assert.match((await stack.call('GET', '/metrics')).body, /mlops_slack_refused_total\{reason="signature"\} 30\b/);
  });
});
