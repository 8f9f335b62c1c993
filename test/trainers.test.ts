/**
 * Registered trainers: training code in Python, registered by an admin and named by a scientist's
 * pipeline, runs on the custom-training queue; its model is imported, evaluated, approved and served.
 * A trainer that fails, hangs or writes no model fails the run with its log's last lines and leaves no
 * version; nobody but an admin registers one, and a pipeline cannot name one that does not exist.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApiStack, startApiStack } from './helpers/api-stack';
import { basePythonPackages } from './helpers/python-export';
import { REPO_ROOT } from './helpers/sources';

const CANCER = path.join(REPO_ROOT, 'datasets', 'breast-cancer-wisconsin.csv');
const TRAINERS = path.join(REPO_ROOT, 'examples', 'trainers');

describe('registered trainers', () => {
  let stack: ApiStack;
  let pythonPath: string;
  let scientist: Record<string, string>;
  /** Runs that deploy themselves (auto approval) are started by an approver: a scientist's wait for people. */
  let approver: Record<string, string>;

  before(async () => {
    pythonPath = await basePythonPackages();
    stack = await startApiStack({ env: { MLOPS_TASK_QUEUE: 'trainers' } });
    const key = await stack.call('POST', '/v1/keys', { name: 'trainer-scientist', role: 'scientist' });
    scientist = { authorization: `Bearer ${key.body.token}` };
    approver = { authorization: `Bearer ${(await stack.call('POST', '/v1/keys', { name: 'trainer-approver', role: 'approver' })).body.token}` };
  }, { timeout: 30 * 60_000 });
  after(async () => { await stack?.close(); });

  const register = (name: string, command: string[], o: { timeoutSeconds?: number; headers?: Record<string, string> } = {}) =>
    stack.call('PUT', `/v1/trainers/${name}`, { command, env: { PYTHONPATH: pythonPath, PYTHONDONTWRITEBYTECODE: '1' }, ...(o.timeoutSeconds ? { timeoutSeconds: o.timeoutSeconds } : {}) }, { headers: o.headers });
  const start = (model: string, trainer: string, params: Record<string, unknown> = {}) =>
    stack.call('POST', '/v1/pipelines', { model, data: { uri: CANCER }, target: 'diagnosis', trainer: { kind: 'custom', name: trainer, params }, approval: { mode: 'auto' } }, { headers: approver });

  for (const [trainer, script] of [['sklearn-forest', 'sklearn-forest/train.py'], ['lightgbm', 'lightgbm/train.py']] as const) {
    it(`${trainer}: the registered script trains, and its model is imported, evaluated, approved and served`, async () => {
      const saved = await register(trainer, ['python3', path.join(TRAINERS, script)]);
      assert.equal(saved.status, 200, JSON.stringify(saved.body));
      assert.deepEqual(saved.body.env, ['PYTHONDONTWRITEBYTECODE', 'PYTHONPATH'], 'environment values are not shown');
      const started = await start(`cancer-${trainer}`, trainer, trainer === 'lightgbm' ? { n_estimators: 50 } : { n_estimators: 30 });
      assert.equal(started.status, 202, JSON.stringify(started.body));
      const done = await stack.waitRun(started.body.id, ['deployed']);
      assert.equal(done.kind, 'custom');
      assert.ok(done.metrics.auc > 0.95, `auc ${done.metrics.auc}`);
      assert.equal(done.params.trainer, trainer);
      assert.ok(done.params.trainerMetrics.validation_accuracy > 0.85);
      const log = await stack.stores.artifacts.get(done.params.trainerLog);
      assert.match(log.toString('utf8'), /validation_accuracy/);
      // the served model answers rows of the dataset as the trainer's model, classes and all
      const [header, ...lines] = fs.readFileSync(CANCER, 'utf8').trim().split('\n');
      const names = header.split(',');
      const rows = lines.slice(0, 50).map((line) => Object.fromEntries(line.split(',').map((v, j) => [names[j], names[j] === 'diagnosis' ? v : Number(v)])));
      const served = await stack.call('POST', `/v1/models/cancer-${trainer}/predict`, { instances: rows.map(({ diagnosis: _d, ...x }) => x) });
      assert.equal(served.status, 200, JSON.stringify(served.body));
      const right = served.body.predictions.filter((p: { label: string }, i: number) => p.label === rows[i].diagnosis).length;
      assert.ok(right >= 45, `${right} of 50 rows classified right`);
      for (const p of served.body.predictions) assert.deepEqual(Object.keys(p.probabilities).sort(), ['benign', 'malignant']);
      const partial = await stack.call('POST', `/v1/models/cancer-${trainer}/predict`, { instances: [{ radius_mean: 17.99 }] });
      assert.equal(partial.status, 400);
      assert.match(partial.body.error.message, /smoothness_mean/);
    });
  }

  it('a trainer that exits 1, hangs past its limit or writes no model fails the run with its last lines, and no version is made', async () => {
    const cases: [string, string[], number | undefined, RegExp][] = [
      ['exits', ['sh', '-c', 'echo "loading data"; echo "boom: no GPU" >&2; exit 1'], undefined, /exited with code 1; its last lines:\nloading data\nboom: no GPU/],
      ['hangs', ['sh', '-c', 'echo "epoch 1"; sleep 600'], 2, /ran past its time limit of 2 s and was stopped; its last lines:\nepoch 1/],
      ['silent', ['sh', '-c', 'echo "done, I think"'], undefined, /exited 0 but wrote no model\.onnx/],
      ['missing', ['/nonexistent/python3', 'train.py'], undefined, /could not start "\/nonexistent\/python3"/],
      // a features.json too big to carry in the run's history, beside a model file
      ['bloated', ['sh', '-c', 'printf x > "$MLOPS_OUTPUT_DIR/model.onnx"; head -c 70000 /dev/zero > "$MLOPS_OUTPUT_DIR/features.json"'], undefined, /wrote a features\.json over 64 KiB/],
    ];
    for (const [name, command, timeoutSeconds, message] of cases) {
      assert.equal((await register(name, command, { timeoutSeconds })).status, 200);
      const started = await start(`broken-${name}`, name);
      assert.equal(started.status, 202, JSON.stringify(started.body));
      const failed = await stack.waitRun(started.body.id, ['failed']);
      assert.match(failed.error, message);
      assert.equal((await stack.call('GET', `/v1/models/broken-${name}`)).status, 404, 'no version was registered');
    }
  });

  it('only an admin registers trainers; a pipeline cannot name one that does not exist, nor a command', async () => {
    const byScientist = await register('mine', ['sh', '-c', 'cat /etc/passwd'], { headers: scientist });
    assert.equal(byScientist.status, 403);
    assert.equal((await stack.call('GET', '/v1/trainers/mine')).status, 404, 'nothing was saved');
    const listed = await stack.call('GET', '/v1/trainers', undefined, { headers: scientist });
    assert.equal(listed.status, 200);
    const unknown = await start('nobody', 'no-such-trainer');
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.error.message, /no trainer is named "no-such-trainer"/);
    const command = await stack.call('POST', '/v1/pipelines', { model: 'x', data: { uri: CANCER }, target: 'diagnosis', trainer: { kind: 'custom', name: 'exits', command: ['sh'] } }, { headers: scientist });
    assert.equal(command.status, 400);
    const reserved = await stack.call('PUT', '/v1/trainers/reserved', { command: ['true'], env: { MLOPS_OUTPUT_DIR: '/etc' } });
    assert.equal(reserved.status, 400);
    assert.match(reserved.body.error.message, /set by the platform/);
    // malformed registrations: each a 400 that says what is wrong, and nothing saved
    const malformed: [string, unknown, RegExp][] = [
      ['Bad Name', { command: ['true'] }, /not a valid trainer name/],
      ['empty', { command: [] }, /command/],
      ['shell-line', { command: 'python3 train.py' }, /command/],
      ['relative', { command: ['true'], workdir: 'train' }, /workdir is an absolute path/],
      ['bad-env', { command: ['true'], env: { 'NOT VALID': 'x' } }, /environment names/],
      ['zero', { command: ['true'], timeoutSeconds: 0 }, /timeoutSeconds/],
      ['extra', { command: ['true'], shell: true }, /shell/],
    ];
    for (const [name, body, message] of malformed) {
      const r = await stack.call('PUT', `/v1/trainers/${encodeURIComponent(name)}`, body);
      assert.equal(r.status, 400, `${name}: ${JSON.stringify(r.body)}`);
      assert.match(r.body.error.message, message, name);
    }
    const names = (await stack.call('GET', '/v1/trainers')).body.trainers.map((t: { name: string }) => t.name);
    assert.ok(!names.some((n: string) => ['empty', 'shell-line', 'relative', 'bad-env', 'zero', 'extra'].includes(n)), JSON.stringify(names));
  });

  it('a trainer sees none of the worker\'s secrets, only its own environment', async () => {
    const script = 'echo "secret=${MLOPS_SNOOP_SECRET:-none} db=${DATABASE_URL:-none} admin=${MLOPS_ADMIN_KEY:-none} input=${MLOPS_INPUT_DIR:+set} path=${PYTHONPATH:+set}"; exit 1';
    assert.equal((await register('snoop', ['sh', '-c', script])).status, 200);
    process.env.MLOPS_SNOOP_SECRET = 'do-not-leak';
    try {
      const started = await start('snooped', 'snoop');
      const failed = await stack.waitRun(started.body.id, ['failed']);
      assert.match(failed.error, /secret=none db=none admin=none input=set path=set/);
    } finally {
      delete process.env.MLOPS_SNOOP_SECRET;
    }
  });
});
