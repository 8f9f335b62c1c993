/**
 * Models trained elsewhere, end to end through the API: each file examples/export/export_models.py
 * writes (scikit-learn through skl2onnx, LightGBM through onnxmltools) is uploaded to
 * POST /v1/models/:name/versions, imported, evaluated, approved by policy, deployed and served; what
 * the platform serves equals what the framework itself predicted, within 1e-5. Bad files are refused at
 * once, and nothing is started or registered.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { onnx } from 'onnx-proto';
import { parseCsv } from '../src/ml/csv';
import { cellText, Table } from '../src/ml/table';
import { ADMIN_AUTH, ApiStack, startApiStack, TEST_ADMIN_KEY } from './helpers/api-stack';
import { mlopsCli } from './helpers/cli';
import { Export, ExportedModel, exportModels } from './helpers/python-export';

/** The rows a client would send: every column but the target, null where missing. */
function instancesOf(table: Table, target: string): Record<string, number | string | null>[] {
  return Array.from({ length: table.rowCount }, (_, r) => Object.fromEntries(table.columns.filter((c) => c.name !== target).map((c) => [
    c.name, c.kind === 'number' ? (Number.isNaN(c.values[r]) ? null : c.values[r]) : cellText(c, r),
  ])));
}

describe('models trained elsewhere, imported through the API', () => {
  let exported: Export;
  let stack: ApiStack;

  before(async () => {
    exported = await exportModels();
    stack = await startApiStack({ env: { MLOPS_TASK_QUEUE: 'import', MLOPS_DATA_ROOTS: exported.dir, MLOPS_MAX_UPLOAD: '50mb' } });
  }, { timeout: 45 * 60_000 });

  after(async () => {
    await stack?.close();
    if (exported) fs.rmSync(exported.dir, { recursive: true, force: true });
  });

  const upload = async (model: string, onnx: Uint8Array, metadata: unknown, headers: Record<string, string> = ADMIN_AUTH) => {
    const form = new FormData();
    form.append('onnx', new Blob([onnx]), 'model.onnx');
    form.append('metadata', typeof metadata === 'string' ? metadata : JSON.stringify(metadata));
    const response = await fetch(`${stack.api.url}/v1/models/${model}/versions`, { method: 'POST', headers, body: form });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  };

  const cases: { name: string; model: string }[] = [
    { name: 'weather_logistic_pipeline', model: 'weather-sklearn' },
    { name: 'breast_cancer_random_forest', model: 'cancer-forest' },
    { name: 'weather_lightgbm', model: 'weather-lightgbm' },
    { name: 'weather_ridge_pipeline', model: 'weather-ridge' },
  ];
  for (const c of cases) {
    it(`${c.name}: imported, evaluated, approved, deployed, and served as its framework predicts`, async () => {
      const m: ExportedModel | undefined = exported.models.find((x) => x.name === c.name);
      assert.ok(m, `the export script did not write ${c.name}`);
      const started = await upload(c.model, fs.readFileSync(path.join(exported.dir, m.file)), {
        evaluation: { data: { uri: path.join(exported.dir, m.data) } }, target: m.target, task: m.task,
        ...(m.features ? { features: m.features } : {}), approval: { mode: 'auto' },
      });
      assert.equal(started.status, 202, JSON.stringify(started.body));
      const done = await stack.waitRun(started.body.id, ['deployed']);
      assert.equal(done.kind, 'import');
      assert.ok(done.metrics, 'the imported model was scored on the evaluation data');

      const version = (await stack.call('GET', `/v1/models/${c.model}/versions/${done.modelVersion}`)).body;
      assert.deepEqual([version.status, version.deployment, version.signature.source], ['approved', 'production', 'import']);
      assert.equal(version.params.source, 'import');
      assert.equal(version.params.uploadedBy, 'admin');
      assert.ok(version.artifacts.smokeSet && version.artifacts.referenceProfile, 'smoke set and reference profile kept like a trained version\'s');

      const table = parseCsv(fs.readFileSync(path.join(exported.dir, m.data), 'utf8'));
      const instances = instancesOf(table, m.target);
      const served = await stack.call('POST', `/v1/models/${c.model}/predict`, { instances });
      assert.equal(served.status, 200, JSON.stringify(served.body));
      assert.equal(served.body.predictions.length, instances.length);
      served.body.predictions.forEach((p: { probabilities?: Record<string, number>; value?: number }, i: number) => {
        if (m.task === 'regression') {
          const want = m.values![i];
          assert.ok(Math.abs(p.value! - want) <= 1e-5 * Math.max(1, Math.abs(want)), `row ${i}: served ${p.value}, ${m.framework} ${want}`);
          return;
        }
        m.classes!.forEach((label, k) => {
          const got = p.probabilities![label];
          assert.ok(Math.abs(got - m.probabilities![i][k]) <= 1e-5, `row ${i}, class ${label}: served ${got}, ${m.framework} ${m.probabilities![i][k]}`);
        });
      });
    });
  }

  it('mlops import uploads a local evaluation file and the model, and follows the run to deployment', async () => {
    const m = exported.models.find((x) => x.name === 'weather_logistic_pipeline')!;
    const mlops = mlopsCli(stack.api.url, TEST_ADMIN_KEY);
    const run = await mlops('import', path.join(exported.dir, m.file), '--model', 'weather-cli', '--eval-data', path.join(exported.dir, m.data), '--target', m.target, '--auto', '--wait');
    assert.equal(run.status, 0, run.stderr + run.stdout);
    assert.match(run.stdout, /import train-weather-cli-\w+ started/);
    const version = (await stack.call('GET', '/v1/models/weather-cli')).body.versions[0];
    assert.deepEqual([version.status, version.deployment], ['approved', 'production']);
  });

  it('refuses what is not a loadable ONNX model at once, and starts nothing', async () => {
    const weather = exported.models.find((x) => x.name === 'weather_logistic_pipeline')!;
    const metadata = { evaluation: { data: { uri: path.join(exported.dir, weather.data) } }, target: weather.target };
    const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46]), Buffer.alloc(200, 7)]);
    const refusals: [Uint8Array, unknown, number, RegExp][] = [
      [jpeg, metadata, 400, /JPEG/i],
      [Buffer.from('definitely not a model'), metadata, 400, /not an ONNX/i],
      [fs.readFileSync(path.join(exported.dir, weather.file)), '{not json', 400, /"metadata" is not valid JSON/],
      [fs.readFileSync(path.join(exported.dir, weather.file)), { ...metadata, target: undefined }, 400, /target/],
    ];
    for (const [bytes, meta, status, message] of refusals) {
      const r = await upload('refused', bytes, meta);
      assert.equal(r.status, status, JSON.stringify(r.body));
      assert.match(r.body.error.message, message);
    }
    // not a multipart body, an unexpected part, no file part
    const asJson = await stack.call('POST', '/v1/models/refused/versions', { onnx: 'x', metadata: metadata });
    assert.equal(asJson.status, 400);
    assert.match(asJson.body.error.message, /send multipart\/form-data with the parts "onnx" and "metadata"/);
    const extra = new FormData();
    extra.append('onnx', new Blob([fs.readFileSync(path.join(exported.dir, weather.file))]), 'model.onnx');
    extra.append('metadata', JSON.stringify(metadata));
    extra.append('script', 'rm -rf /');
    const withExtra = await fetch(`${stack.api.url}/v1/models/refused/versions`, { method: 'POST', headers: ADMIN_AUTH, body: extra });
    assert.equal(withExtra.status, 400);
    assert.match(((await withExtra.json()) as { error: { message: string } }).error.message, /unexpected part "script"/);
    const noFile = new FormData();
    noFile.append('metadata', JSON.stringify(metadata));
    const withoutFile = await fetch(`${stack.api.url}/v1/models/refused/versions`, { method: 'POST', headers: ADMIN_AUTH, body: noFile });
    assert.equal(withoutFile.status, 400);
    assert.match(((await withoutFile.json()) as { error: { message: string } }).error.message, /the part "onnx" \(the model file\) is missing/);
    // inputs that match no column of a stored evaluation dataset: refused before anything starts
    const other = await fetch(`${stack.api.url}/v1/datasets?format=csv`, { method: 'POST', headers: { ...ADMIN_AUTH, 'content-type': 'text/csv' }, body: 'a,b,label\n1,2,x\n3,4,y\n5,6,x\n' });
    const dataset = (await other.json()) as { id: string };
    const unmatched = await upload('refused', fs.readFileSync(path.join(exported.dir, weather.file)), { evaluation: { dataset: dataset.id }, target: 'label' });
    assert.equal(unmatched.status, 400, JSON.stringify(unmatched.body));
    assert.match(unmatched.body.error.message, /column/);
    // nothing was registered and no run was started under that name
    assert.equal((await stack.call('GET', '/v1/models/refused')).status, 404);
    const runs = (await stack.call('GET', '/v1/runs?model=refused')).body.runs;
    assert.deepEqual(runs, []);
  });

  it('refuses a viewer, and an upload larger than MLOPS_MAX_UPLOAD', async () => {
    const key = await stack.call('POST', '/v1/keys', { name: 'import-viewer', role: 'viewer' });
    const weather = exported.models.find((x) => x.name === 'weather_logistic_pipeline')!;
    const r = await upload('viewer-try', fs.readFileSync(path.join(exported.dir, weather.file)), { evaluation: { data: { uri: path.join(exported.dir, weather.data) } }, target: weather.target }, { authorization: `Bearer ${key.body.token}` });
    assert.equal(r.status, 403);
    const huge = await upload('too-big', Buffer.alloc(stack.config.sources.maxUploadBytes + 1024, 1), { evaluation: { dataset: 'f'.repeat(64) }, target: 'y' });
    assert.equal(huge.status, 413, JSON.stringify(huge.body));
  });

  it('a graph with several outputs that could be the answer is refused until the metadata names one with output; then it deploys and serves that one', async () => {
    // x -> first = x, second = -x: both are one float per row, so which is the value is the uploader's to say
    const FLOAT = onnx.TensorProto.DataType.FLOAT;
    const info = (name: string) => ({ name, type: { tensorType: { elemType: FLOAT, shape: { dim: [{ dimParam: 'N' }, { dimValue: 1 }] } } } });
    const graph = onnx.ModelProto.encode(onnx.ModelProto.create({
      irVersion: 8, opsetImport: [{ domain: '', version: 17 }], producerName: 'model-import.test',
      graph: { name: 'two-answers', input: [info('x')], output: [info('first'), info('second')], node: [
        { opType: 'Identity', input: ['x'], output: ['first'], name: 'first' },
        { opType: 'Neg', input: ['x'], output: ['second'], name: 'second' },
      ] },
    })).finish();
    const rows = Array.from({ length: 60 }, (_, i) => `${i / 10},${i / 10}`).join('\n');
    const uploaded = await fetch(`${stack.api.url}/v1/datasets?format=csv`, { method: 'POST', headers: { ...ADMIN_AUTH, 'content-type': 'text/csv' }, body: `x,y\n${rows}\n` });
    const dataset = ((await uploaded.json()) as { id: string }).id;
    const metadata = { evaluation: { dataset }, target: 'y', task: 'regression', approval: { mode: 'auto' } };

    const unnamed = await upload('two-answers', graph, metadata);
    assert.equal(unnamed.status, 400, JSON.stringify(unnamed.body));
    assert.equal(unnamed.body.error.details.reason, 'unreadable_output');
    assert.match(unnamed.body.error.message, /several outputs could be it \(first, second\): name one with output/);
    assert.equal((await stack.call('GET', '/v1/models/two-answers')).status, 404, 'nothing registered');

    const named = await upload('two-answers', graph, { ...metadata, output: 'second' });
    assert.equal(named.status, 202, JSON.stringify(named.body));
    const done = await stack.waitRun(named.body.id, ['deployed']);
    const version = (await stack.call('GET', `/v1/models/two-answers/versions/${done.modelVersion}`)).body;
    assert.deepEqual(version.signature.outputs, { kind: 'regressor', value: 'second' });
    const served = await stack.call('POST', '/v1/models/two-answers/predict', { instances: [{ x: 2.5 }] });
    assert.equal(served.status, 200, JSON.stringify(served.body));
    assert.equal(served.body.predictions[0].value, -2.5, 'the output named, not the first one');
  });
});
