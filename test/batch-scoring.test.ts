/**
 * Batch scoring end to end on the real stack: a model trained by a real pipeline scores a dataset into
 * CSV and Parquet part files, checked row by row against what predict answers for the same rows; the
 * job's record, manifest, lineage and prediction log sample; and every bad request refused before
 * anything is written.
 */
import assert from 'node:assert/strict';
import { BUNDLED_DATASETS } from '../src/ingest/source-policy';
import { createHash } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseCsv, toCanonicalCsv } from '../src/ml/csv';
import { cellText, Table } from '../src/ml/table';
import { readParquetRows } from '../src/batch/part-files';
import { RESPONSE_COMPONENTS } from '../src/api/openapi';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { instanceOf } from '../src/batch/score-table';
import type { ModelSignature } from '../src/domain/model-version';
import { createRepositories } from '../src/store/repositories';
import { BatchService } from '../src/usecases/batch-scoring';
import { batchProgressQuery, batchScoring } from '../src/workflows/batch-scoring';
import { trainingPipeline } from '../src/workflows/training-pipeline';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { createTestDatabase, TestDatabase } from './helpers/database';
import { testSources, TEST_DATA_ROOTS } from './helpers/sources';
import { startWorkerProcess as startWorker } from './helpers/worker-process';
import { REPO_ROOT, startTemporal } from './helpers/temporal';
import { ApiStack, startApiStack, TEST_ADMIN_KEY } from './helpers/api-stack';
import { mlopsCli } from './helpers/cli';
import { eventually } from './helpers/eventually';
import { BREAST_CANCER } from './helpers/pipeline-env';

/** A table's rows as objects (numbers as numbers, missing as null). */
export function rowsOf(table: Table): Record<string, number | string | null>[] {
  return Array.from({ length: table.rowCount }, (_, r) => Object.fromEntries(table.columns.map((c) => [c.name, c.kind === 'number' ? (Number.isNaN(c.values[r]) ? null : c.values[r]) : cellText(c, r)])));
}

/** The rows of a finished output folder, part by part in order, and its manifest. */
export async function readOutput(folder: string): Promise<{ rows: Record<string, unknown>[]; manifest: any }> {
  const manifest = JSON.parse(fs.readFileSync(path.join(folder, '_manifest.json'), 'utf8'));
  assert.ok(fs.existsSync(path.join(folder, '_SUCCESS')), 'the output has its _SUCCESS marker');
  const rows: Record<string, unknown>[] = [];
  for (const part of manifest.parts) {
    const file = path.join(folder, part.file);
    assert.equal(createHash('sha256').update(fs.readFileSync(file)).digest('hex'), part.sha256, `${part.file} is the part the manifest names`);
    const partRows = manifest.format === 'csv' ? rowsOf(parseCsv(fs.readFileSync(file, 'utf8'))) : await readParquetRows(file);
    assert.equal(partRows.length, part.rows);
    rows.push(...partRows);
  }
  return { rows, manifest };
}

/** The source's rows repeated `times` times, led by a `row_id` column numbering them from 0. */
function repeatedWithIds(source: Table, times: number): Table {
  const rows = source.rowCount * times;
  return {
    rowCount: rows,
    columns: [
      { name: 'row_id', kind: 'number', values: Float64Array.from({ length: rows }, (_, i) => i) },
      ...source.columns.map((c) => (c.kind === 'number'
        ? { ...c, values: Float64Array.from({ length: rows }, (_, i) => c.values[i % source.rowCount]) }
        : { ...c, codes: Int32Array.from({ length: rows }, (_, i) => c.codes[i % source.rowCount]) })),
    ],
  };
}

describe('batch scoring', () => {
  let stack: ApiStack;
  let signature: ModelSignature;
  const source = parseCsv(fs.readFileSync(BREAST_CANCER, 'utf8'));
  /** The dataset 10 times over (5,690 rows) with a row id, so a job has several chunks. */
  let bigInput: string;

  const waitJob = (model: string, id: string) => eventually(`batch job ${id} to end`, async () => {
    const job = (await stack.call('GET', `/v1/models/${model}/batch/${id}`)).body;
    return job.state === 'running' ? undefined : job;
  }, { everyMs: 200 });

  before(async () => {
    stack = await startApiStack({ env: {} });
    const started = await stack.call('POST', '/v1/pipelines', { model: 'bc', data: { uri: BREAST_CANCER }, target: 'diagnosis', approval: { mode: 'auto' } });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    await stack.waitRun(started.body.id, ['deployed']);
    signature = (await createRepositories(stack.stores.pool).registry.getVersion('bc', 1))!.signature;
    const big = repeatedWithIds(source, 10);
    bigInput = path.join(stack.files, 'big.csv');
    fs.writeFileSync(bigInput, toCanonicalCsv(big));
  });
  after(async () => { await stack?.close(); });

  /** With RECORD_HISTORIES=1, keeps a job's history for test/replay.test.ts (batchScoring reads its own id). */
  async function recordHistory(id: string, file: string): Promise<void> {
    if (!process.env.RECORD_HISTORIES) return;
    const history = JSON.parse(historyToJSON(await stack.temporal.client.workflow.getHandle(id).fetchHistory()));
    fs.writeFileSync(path.join(__dirname, 'fixtures', 'histories', file), JSON.stringify({ workflowId: id, history }));
  }

  /** What predict answers for the source's rows, in order. */
  async function predictAll(table: Table): Promise<any[]> {
    const answers: any[] = [];
    for (let start = 0; start < table.rowCount; start += 500) {
      const instances = Array.from({ length: Math.min(500, table.rowCount - start) }, (_, i) => instanceOf(signature, table, start + i));
      const reply = await stack.call('POST', '/v1/models/bc/predict', { instances });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      answers.push(...reply.body.predictions);
    }
    return answers;
  }

  it('when a dataset is scored to CSV, then every row holds its input and exactly what predict answers', async () => {
    const output = path.join(stack.files, 'scored-csv');
    const started = await stack.call('POST', '/v1/models/bc/batch', { input: { uri: BREAST_CANCER }, output: { uri: output, format: 'csv' } });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    assert.equal(started.headers.get('location'), `/v1/models/bc/batch/${started.body.id}`);
    const job = await waitJob('bc', started.body.id);
    assert.equal(job.state, 'completed', JSON.stringify(job));
    assert.equal(job.rows, source.rowCount);
    assert.equal(job.version, 1);

    const { rows, manifest } = await readOutput(output);
    assert.equal(rows.length, source.rowCount);
    assert.equal(job.output.digest, createHash('sha256').update(fs.readFileSync(path.join(output, '_manifest.json'))).digest('hex'));
    assert.deepEqual(manifest.columns, [...source.columns.map((c) => c.name), 'prediction', ...signature.classes.map((c) => `probability_${c}`)]);
    const expected = await predictAll(source);
    const inputs = rowsOf(source);
    rows.forEach((row, i) => {
      for (const [name, value] of Object.entries(inputs[i])) assert.equal(row[name], value, `row ${i}, column ${name}`);
      assert.equal(row.prediction, expected[i].label, `row ${i}: the label predict gives`);
      for (const label of signature.classes) assert.equal(row[`probability_${label}`], expected[i].probabilities[label], `row ${i}: P(${label}) exactly as predict gives it`);
    });
    // the same Idempotency-Key answers the same job, even now that its output exists
    const again = await stack.call('POST', '/v1/models/bc/batch', { input: { uri: BREAST_CANCER }, output: { uri: output, format: 'csv' } }, { headers: { 'idempotency-key': 'csv-once' } });
    const repeat = await stack.call('POST', '/v1/models/bc/batch', { input: { uri: BREAST_CANCER }, output: { uri: `${output}-2`, format: 'csv' } }, { headers: { 'idempotency-key': 'csv-once' } });
    assert.equal(again.status, 409, 'a new key with an existing output is refused');
    assert.equal(repeat.status, 202);
    const repeated = await stack.call('POST', '/v1/models/bc/batch', { input: { uri: BREAST_CANCER }, output: { uri: `${output}-2`, format: 'csv' } }, { headers: { 'idempotency-key': 'csv-once' } });
    assert.equal(repeated.body.id, repeat.body.id, 'the same key answers the same job');
    assert.equal((await waitJob('bc', repeat.body.id)).state, 'completed');
    // no stray staging folder beside the output
    assert.deepEqual(fs.readdirSync(stack.files).filter((f) => f.includes('.partial')), []);
  });

  it('when a larger dataset is scored to Parquet in chunks, then the parts hold every row once, in order, equal to predict, with lineage and a bounded log sample', async () => {
    const output = path.join(stack.files, 'scored-parquet');
    const started = await stack.call('POST', '/v1/models/bc/batch', { input: { uri: bigInput }, output: { uri: output }, version: 1, chunkRows: 1000, parallelism: 3 });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    const job = await waitJob('bc', started.body.id);
    assert.equal(job.state, 'completed', JSON.stringify(job));
    assert.equal(job.output.format, 'parquet');
    assert.equal(job.output.parts, 6);
    await recordHistory(job.id, 'batch-scoring-completed.json');
    assert.equal(job.rowsScored, 5690);

    const { rows } = await readOutput(output);
    assert.deepEqual(rows.map((r) => r.row_id), Array.from({ length: 5690 }, (_, i) => i), 'each row once, in the input order');
    const expected = await predictAll(source);
    rows.forEach((row, i) => {
      const e = expected[i % source.rowCount];
      assert.equal(row.prediction, e.label, `row ${i}`);
      for (const label of signature.classes) assert.equal(row[`probability_${label}`], e.probabilities[label], `row ${i}: P(${label})`);
    });

    // lineage: version -> job -> input dataset and output digest
    const list = await stack.call('GET', '/v1/models/bc/batch?version=1');
    const listed = list.body.jobs.find((j: any) => j.id === job.id);
    assert.equal(listed.output.digest, job.output.digest);
    assert.match(listed.datasetId, /^[0-9a-f]{64}$/);
    assert.equal((await stack.call('GET', `/v1/datasets/${listed.datasetId}`)).status, 200);
    const lineage = await stack.call('GET', '/v1/lineage/models/bc/versions/1');
    const recorded = lineage.body.batchJobs.find((j: any) => j.id === job.id);
    assert.deepEqual(recorded.output, { uri: output, format: 'parquet', digest: job.output.digest });
    assert.equal(recorded.datasetId, listed.datasetId);
    assert.ok(RESPONSE_COMPONENTS.BatchJob.safeParse(job).success, 'the job conforms to its OpenAPI component');

    // a deterministic sample of at most 1,000 rows went to the prediction log, marked with the job
    const logged = await stack.stores.pool.query(`SELECT instance, output FROM prediction_log WHERE batch_job = $1`, [job.id]);
    assert.equal(logged.rows.length, Math.ceil(5690 / Math.ceil(5690 / 1000)));
    assert.ok(logged.rows.length <= 1000);
    assert.ok(logged.rows.every((r) => signature.classes.includes(r.output.label)));
  });

  it('when a regression model scores a dataset, then its prediction column is the value predict answers, a text feature included', async () => {
    const iris = path.join(REPO_ROOT, 'datasets', 'iris.csv');
    const trained = await stack.call('POST', '/v1/pipelines', { model: 'petal', data: { uri: iris }, target: 'petal_width', approval: { mode: 'auto' } });
    assert.equal(trained.status, 202, JSON.stringify(trained.body));
    await stack.waitRun(trained.body.id, ['deployed']);
    const petal = (await createRepositories(stack.stores.pool).registry.getVersion('petal', 1))!.signature;
    assert.equal(petal.task, 'regression');
    assert.ok((petal.categorical ?? []).includes('species'), 'the model reads the text column species');
    const output = path.join(stack.files, 'petal-scored.csv');
    const started = await stack.call('POST', '/v1/models/petal/batch', { input: { uri: iris }, output: { uri: output } });
    const job = await waitJob('petal', started.body.id);
    assert.equal(job.state, 'completed', JSON.stringify(job));
    assert.equal(job.output.format, 'csv', 'a path ending in .csv gets CSV parts');
    const table = parseCsv(fs.readFileSync(iris, 'utf8'));
    const { rows, manifest } = await readOutput(output);
    assert.deepEqual(manifest.columns, [...table.columns.map((c) => c.name), 'prediction']);
    const instances = Array.from({ length: table.rowCount }, (_, i) => instanceOf(petal, table, i));
    const reply = await stack.call('POST', '/v1/models/petal/predict', { instances });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    rows.forEach((row, i) => assert.equal(row.prediction, reply.body.predictions[i].value, `row ${i}`));
  });

  it('when an imported model scores a dataset, then its rows equal what predict answers for it', async () => {
    // our own ONNX file, uploaded as a model from outside: it goes through the import path and is served by it
    const onnx = await stack.stores.artifacts.get((await createRepositories(stack.stores.pool).registry.getVersion('bc', 1))!.onnxDigest);
    const form = new FormData();
    form.append('onnx', new Blob([onnx]), 'model.onnx');
    form.append('metadata', JSON.stringify({ evaluation: { data: { uri: BREAST_CANCER } }, target: 'diagnosis', task: 'binary', features: { numeric: signature.numeric ?? signature.features }, classes: signature.classes, approval: { mode: 'auto' } }));
    const response = await fetch(`${stack.api.url}/v1/models/bcimp/versions`, { method: 'POST', headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` }, body: form });
    const started = await response.json() as { id: string };
    assert.equal(response.status, 202, JSON.stringify(started));
    await stack.waitRun(started.id, ['deployed']);
    const imported = (await createRepositories(stack.stores.pool).registry.getVersion('bcimp', 1))!.signature;
    assert.equal((imported as { source?: string }).source, 'import');

    const output = path.join(stack.files, 'imported-scored');
    const job = await waitJob('bcimp', (await stack.call('POST', '/v1/models/bcimp/batch', { input: { uri: BREAST_CANCER }, output: { uri: output } })).body.id);
    assert.equal(job.state, 'completed', JSON.stringify(job));
    const { rows } = await readOutput(output);
    const instances = Array.from({ length: source.rowCount }, (_, i) => instanceOf(imported, source, i));
    const reply = await stack.call('POST', '/v1/models/bcimp/predict', { instances });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    rows.forEach((row, i) => {
      assert.equal(row.prediction, reply.body.predictions[i].label, `row ${i}`);
      for (const label of imported.classes) assert.equal(row[`probability_${label}`], reply.body.predictions[i].probabilities[label], `row ${i}: P(${label})`);
    });
  });

  it('when `mlops batch --wait` is run, then it starts the job, follows it to the end and lists it', async () => {
    const cli = mlopsCli(stack.api.url, TEST_ADMIN_KEY);
    const output = path.join(stack.files, 'scored-by-cli');
    const run = await cli('batch', 'bc', '--input', BREAST_CANCER, '--output', output, '--format', 'csv', '--wait');
    assert.equal(run.status, 0, run.stderr + run.stdout);
    assert.match(run.stdout, new RegExp(`completed: ${source.rowCount} rows in ${output} \\(csv, manifest sha256 [0-9a-f]{64}\\)`));
    assert.equal((await readOutput(output)).rows.length, source.rowCount);
    const list = await cli('batch', 'bc', '--list');
    assert.equal(list.status, 0, list.stderr);
    assert.ok(list.stdout.includes(output));
    const refused = await cli('batch', 'bc', '--input', BREAST_CANCER, '--output', output);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /exists already/);
  });

  it('when the request is bad, then it is refused with a clear error and nothing is written', async () => {
    const jobsBefore = (await stack.stores.pool.query('SELECT count(*)::int AS n FROM batch_jobs')).rows[0].n;
    const filesBefore = fs.readdirSync(stack.files).sort();
    const ask = (model: string, body: unknown) => stack.call('POST', `/v1/models/${model}/batch`, body);
    const good = { input: { uri: BREAST_CANCER }, output: { uri: path.join(stack.files, 'never') } };

    const outside = await ask('bc', { ...good, output: { uri: '/etc/mlops-batch-out' } });
    assert.equal(outside.status, 400);
    assert.match(outside.body.error.message, /outside the folders/);

    const dotdot = await ask('bc', { ...good, output: { uri: `${stack.files}/../../../etc/mlops-batch-out` } });
    assert.equal(dotdot.status, 400);

    fs.symlinkSync('/etc', path.join(stack.files, 'escape'));
    const viaLink = await ask('bc', { ...good, output: { uri: path.join(stack.files, 'escape', 'out') } });
    assert.equal(viaLink.status, 400, 'a symlink out of the data roots is judged by where it leads');
    assert.ok(!fs.existsSync('/etc/out'));
    fs.rmSync(path.join(stack.files, 'escape'));

    const inDataDir = await ask('bc', { ...good, output: { uri: path.join(stack.dataDir, 'out') } });
    assert.equal(inDataDir.status, 400);

    // the bundled datasets are readable by anyone, writable by nobody
    const inBundled = await ask('bc', { ...good, output: { uri: path.join(BUNDLED_DATASETS, 'scored-out') } });
    assert.equal(inBundled.status, 400, JSON.stringify(inBundled.body));
    assert.match(inBundled.body.error.message, /inside the bundled datasets .*read-only/);
    assert.ok(!fs.existsSync(path.join(BUNDLED_DATASETS, 'scored-out')));

    fs.writeFileSync(path.join(stack.files, 'taken.csv'), 'a\n1\n');
    const exists = await ask('bc', { ...good, output: { uri: path.join(stack.files, 'taken.csv') } });
    assert.equal(exists.status, 409);
    assert.match(exists.body.error.message, /exists already/);
    assert.equal(fs.readFileSync(path.join(stack.files, 'taken.csv'), 'utf8'), 'a\n1\n', 'the existing file is untouched');
    fs.rmSync(path.join(stack.files, 'taken.csv'));

    const unknownModel = await ask('nosuch', good);
    assert.equal(unknownModel.status, 404);
    assert.match(unknownModel.body.error.message, /model "nosuch" does not exist/);
    const unknownVersion = await ask('bc', { ...good, version: 99 });
    assert.equal(unknownVersion.status, 404);
    assert.match(unknownVersion.body.error.message, /no version 99/);

    const badInput = await ask('bc', { ...good, input: { uri: '/etc/passwd' } });
    assert.equal(badInput.status, 400);
    const badFormat = await ask('bc', { ...good, output: { uri: good.output.uri, format: 'xlsx' } });
    assert.equal(badFormat.status, 400);
    const noOutput = await ask('bc', { input: good.input });
    assert.equal(noOutput.status, 400);

    // a version waiting for approval may not score
    const pending = await stack.call('POST', '/v1/pipelines', { model: 'bc', data: { uri: BREAST_CANCER }, target: 'diagnosis', approval: { mode: 'manual', timeout: '1 hour' } });
    const run = await stack.waitRun(pending.body.id, ['awaiting_approval']);
    const unapproved = await ask('bc', { ...good, version: run.modelVersion });
    assert.equal(unapproved.status, 409);
    assert.match(unapproved.body.error.message, /pending approval, not approved/);

    // a viewer reads jobs but cannot start one
    const viewer = await stack.call('POST', '/v1/keys', { name: 'batch-viewer', role: 'viewer' });
    const asViewer = await stack.call('POST', '/v1/models/bc/batch', good, { headers: { authorization: `Bearer ${viewer.body.token}` } });
    assert.equal(asViewer.status, 403);
    assert.equal((await stack.call('GET', '/v1/models/bc/batch', undefined, { headers: { authorization: `Bearer ${viewer.body.token}` } })).status, 200);

    assert.equal((await stack.stores.pool.query('SELECT count(*)::int AS n FROM batch_jobs')).rows[0].n, jobsBefore, 'no job was recorded');
    assert.deepEqual(fs.readdirSync(stack.files).sort(), filesBefore, 'no file or folder was created');
    assert.equal((await stack.call('GET', '/v1/models/bc/batch/batch-bc-nosuch')).status, 404);
  });

  it('when the input does not fit the model, then the job fails saying why and leaves no output', async () => {
    const file = path.join(stack.files, 'wrong-columns.csv');
    fs.writeFileSync(file, 'a,b\n1,2\n3,4\n');
    const output = path.join(stack.files, 'never-written');
    const started = await stack.call('POST', '/v1/models/bc/batch', { input: { uri: file }, output: { uri: output } });
    assert.equal(started.status, 202);
    const job = await waitJob('bc', started.body.id);
    assert.equal(job.state, 'failed');
    assert.match(job.error, /does not fit the model's features: "radius_mean" is missing/);
    await recordHistory(job.id, 'batch-scoring-failed.json');
    assert.ok(!fs.existsSync(output));
    assert.deepEqual(fs.readdirSync(stack.files).filter((f) => f.includes('.partial')), []);
  });
});

describe('batch scoring with a worker killed mid-job', () => {
  let temporal: TestWorkflowEnvironment;
  let db: TestDatabase;
  let dataDir: string;
  let files: string;
  const workers: ChildProcess[] = [];
  const taskQueue = 'batch-crash-test';

  before(async () => {
    temporal = await startTemporal();
    db = await createTestDatabase();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-batch-crash-'));
    files = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-batch-crash-files-'));
  });
  after(async () => {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    await db?.close();
    await temporal?.teardown();
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(files, { recursive: true, force: true });
  });

  /** Starts `mlops worker` as its own process, the way a deployment runs it. */
  function startWorkerProcess(name: string): ChildProcess {
    const child = startWorker(name, { TEMPORAL_ADDRESS: temporal.address, DATABASE_URL: db.url, MLOPS_DATA_DIR: dataDir, MLOPS_DATA_ROOTS: TEST_DATA_ROOTS.join(','), MLOPS_TASK_QUEUE: taskQueue, MLOPS_CODE_VERSION: 'batch-crash-test' });
    workers.push(child);
    return child;
  }

  it('when the worker dies while chunks are being scored, then another finishes the job with every row exactly once', async () => {
    const first = startWorkerProcess('worker-1');
    const trained = await temporal.client.workflow.execute(trainingPipeline, {
      taskQueue, workflowId: 'train-batch-crash',
      args: [{ model: 'crash', data: { uri: BREAST_CANCER }, target: 'diagnosis', approval: { mode: 'auto' } }],
    });
    assert.equal(trained.state, 'deployed');

    const source = parseCsv(fs.readFileSync(BREAST_CANCER, 'utf8'));
    const rows = source.rowCount * 100;
    const input = path.join(files, 'many.csv');
    fs.writeFileSync(input, toCanonicalCsv(repeatedWithIds(source, 100)));
    const batch = new BatchService(temporal.client, { taskQueue, uiUrl: (id) => id, repos: createRepositories(db.pool), sources: testSources().policy, checkSource: async (data) => data });
    const output = path.join(files, 'scored');
    const { id } = await batch.start('crash', { input: { uri: input }, output: { uri: output, format: 'csv' }, chunkRows: 1000, parallelism: 4 }, { requestedBy: 'test' });
    const handle = temporal.client.workflow.getHandle<typeof batchScoring>(id);

    // kill once some chunks are done and others are running: work to keep and work to redo
    await eventually('some chunks to be scored', async () => {
      const progress = await handle.query(batchProgressQuery).catch(() => undefined);
      return progress && progress.chunksDone >= 3 ? progress : undefined;
    }, { everyMs: 20 });
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const atKill = await handle.query(batchProgressQuery).catch(() => undefined);
    assert.ok(!atKill || atKill.state === 'running', 'the job was still running when its worker died');

    const second = startWorkerProcess('worker-2');
    // a second worker that cannot start fails the test now rather than leaving the job waiting for the runner's timeout
    const died = new Promise<never>((_, reject) => second.once('exit', (code, signal) => reject(new Error(`worker-2 exited (${code ?? signal}) before the job ended`))));
    const result = await Promise.race([handle.result(), died]);
    assert.equal(result.rows, rows);
    const job = await batch.get('crash', id);
    assert.equal(job.state, 'completed');
    assert.equal(job.rows, rows);

    const history = await handle.fetchHistory();
    const retried = history.events!.filter((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 0) >= 2);
    assert.ok(retried.length >= 1, 'at least one chunk ran a second attempt on the new worker');

    const { rows: written } = await readOutput(output);
    assert.equal(written.length, rows, 'the output has exactly the input\'s row count');
    const seen = new Uint8Array(rows);
    for (const row of written) seen[row.row_id as number]++;
    assert.ok(seen.every((n) => n === 1), 'every row appears exactly once: none lost, none doubled');
    assert.deepEqual(fs.readdirSync(output).filter((f) => f.endsWith('.tmp')), [], 'no half-written part left behind');
  });
});
