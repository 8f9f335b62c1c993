/**
 * The pieces of monitoring below the workflows: the retraining claim (one at a time, cool-down,
 * idempotent), the source watermark, monitor settings, the review queue and its way into the next
 * training dataset, prediction uncertainty, and served instances read as profile columns.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sourceWatermark } from '../src/ingest/sources';
import { testSources } from './helpers/sources';
import { instanceProfileColumns } from '../src/ml/profile-columns';
import { appendRecords, cellText, getColumn, tableFromTextRows } from '../src/ml/table';
import { uncertainty } from '../src/serving/model-server';
import { readLoggedInstances } from '../src/activities/monitoring';
import { readStored } from '../src/privacy/encryption';
import { pseudonym } from '../src/privacy/pii';
import { PredictionLog } from '../src/serving/prediction-log';
import { saveDataset } from '../src/store/datasets';
import { exportSubject } from '../src/store/privacy';
import { registerVersion } from '../src/store/registry';
import { advanceWatermark, claimRetraining, getMonitorConfig, updateMonitorConfig } from '../src/store/monitoring';
import { labelledExamples, labelReviewItem, listReview } from '../src/store/review';
import { availableBackends, createTestDatabase, TestDatabase } from './helpers/database';

for (const backend of availableBackends()) {
  describe(`monitoring store on ${backend}`, () => {
    let db: TestDatabase;
    before(async () => {
      db = await createTestDatabase(backend);
      await db.pool.query("INSERT INTO registered_models (name) VALUES ('m')");
    });
    after(async () => { await db?.close(); });

    it('grants one retraining at a time, the same run again, and none during the cool-down', async () => {
      const running = new Set<string>();
      const isRunning = async (id: string) => running.has(id);
      assert.deepEqual(await claimRetraining(db.pool, 'm', 'retrain-m-1', 0, isRunning), { granted: true });
      running.add('retrain-m-1');
      // a retried activity asks again for the same run: same answer
      assert.deepEqual(await claimRetraining(db.pool, 'm', 'retrain-m-1', 0, isRunning), { granted: true });
      const busy = await claimRetraining(db.pool, 'm', 'retrain-m-2', 0, isRunning);
      assert.equal(busy.granted, false);
      assert.match((busy as { reason: string }).reason, /retrain-m-1 is still running/);
      running.delete('retrain-m-1');
      const cooling = await claimRetraining(db.pool, 'm', 'retrain-m-2', 3600_000, isRunning);
      assert.equal(cooling.granted, false);
      assert.match((cooling as { reason: string }).reason, /cooling down/);
      assert.deepEqual(await claimRetraining(db.pool, 'm', 'retrain-m-2', 0, isRunning), { granted: true });
    });

    it('concurrent claims for different runs: exactly one wins', async () => {
      await db.pool.query("INSERT INTO registered_models (name) VALUES ('race')");
      const results = await Promise.all(Array.from({ length: 6 }, (_, i) => claimRetraining(db.pool, 'race', `retrain-race-${i}`, 3600_000, async () => true)));
      assert.equal(results.filter((r) => r.granted).length, 1, JSON.stringify(results));
    });

    it('a source watermark is recorded on first sight and reports a change only when it moves', async () => {
      assert.deepEqual(await advanceWatermark(db.pool, 'm', 'file:10:1', 'check-1'), { changed: false, previous: null });
      assert.deepEqual(await advanceWatermark(db.pool, 'm', 'file:10:1', 'check-2'), { changed: false, previous: 'file:10:1' });
      assert.deepEqual(await advanceWatermark(db.pool, 'm', 'file:20:2', 'check-3'), { changed: true, previous: 'file:10:1' });
      // check-3 retried (its first attempt moved the watermark, then the worker died): the same answer, not "unchanged"
      assert.deepEqual(await advanceWatermark(db.pool, 'm', 'file:20:2', 'check-3'), { changed: true, previous: 'file:20:2' });
      assert.deepEqual(await advanceWatermark(db.pool, 'm', 'file:20:2', 'check-4'), { changed: false, previous: 'file:20:2' });
    });

    it('monitor settings merge over the defaults and over what is stored', async () => {
      assert.equal((await getMonitorConfig(db.pool, 'm')).windowMinutes, 60);
      await updateMonitorConfig(db.pool, 'm', { windowMinutes: 15, drift: { driftShare: 0.3 } });
      const after = await updateMonitorConfig(db.pool, 'm', { retrain: { cooldownMinutes: 5 } });
      assert.equal(after.windowMinutes, 15);
      assert.equal(after.drift.driftShare, 0.3);
      assert.equal(after.retrain.cooldownMinutes, 5);
      assert.equal(after.retrain.onDrift, true);
      assert.deepEqual(await getMonitorConfig(db.pool, 'm'), after);
    });

    it('the log keeps any text exactly, over several batches (rows wait as bytes and go as one JSON array per batch)', async () => {
      await db.pool.query("INSERT INTO registered_models (name) VALUES ('text')");
      const log = new PredictionLog(db.pool, { batchRows: 2 });
      const texts = ['café', '東京', 'emoji 🚀', 'quote " and backslash \\', 'tab\tand newline\n', 'plain'];
      const ids = texts.map((_, i) => `aaaaaaaa-aaaa-4aaa-8aaa-${String(i).padStart(12, '0')}`);
      texts.forEach((c, i) => log.add({ id: ids[i], model: 'text', version: 1, instance: { x: i + 0.5, c }, output: { value: i } }));
      await log.flush();
      const { rows } = await db.pool.query("SELECT id, instance, output FROM prediction_log WHERE model_name = 'text' ORDER BY id");
      assert.deepEqual(rows.map((r) => r.id), ids);
      assert.deepEqual(rows.map((r) => r.instance), texts.map((c, i) => ({ x: i + 0.5, c })));
      assert.deepEqual(rows.map((r) => r.output), texts.map((_, i) => ({ value: i })));
    });

    it('an input holding exactly the features is stored as values and every reader names them again', async () => {
      await saveDataset(db.pool, { id: 'e'.repeat(64), sourceUri: 'x.csv', sourceKind: 'file', rowCount: 3, columns: [{ name: 'x', type: 'number' }], byteSize: 10, storage: { format: 'csv', digest: 'e'.repeat(64) }, statistics: [] });
      await db.pool.query("INSERT INTO registered_models (name) VALUES ('packed')");
      const signature = { features: ['x', 'c'], classes: ['no', 'yes'], input: 'features', output: 'probabilities' };
      await registerVersion(db.pool, { modelName: 'packed', runId: 'packed-1', onnxDigest: 'a'.repeat(64), signature: signature as never, metrics: {}, params: {}, datasetId: 'e'.repeat(64) });
      const piiKey = randomBytes(32);
      const key = randomBytes(32);
      const log = new PredictionLog(db.pool, { privacy: { piiKey, encryption: { keyId: 'k', key } } });
      const [exact, extra] = ['bbbbbbbb-bbbb-4bbb-8bbb-000000000001', 'bbbbbbbb-bbbb-4bbb-8bbb-000000000002'];
      const output = { label: 'yes', probabilities: { no: 0.45, yes: 0.55 } };
      const review = { measure: 'margin' as const, uncertainty: 0.9 };
      // the subject column is dropped by the policy, so the first row then holds exactly the features
      const policy = { pii: {}, subjectColumn: 'customer_id' };
      log.add({ id: exact, model: 'packed', version: 1, instance: { c: 'a', customer_id: 'c-1', x: 1.5 }, output, review, policy, features: signature.features });
      log.add({ id: extra, model: 'packed', version: 1, instance: { x: 2, c: 'b', note: 'kept' }, output, review, features: signature.features });
      await log.flush();

      const unsealed = new PredictionLog(db.pool);
      const clear = 'bbbbbbbb-bbbb-4bbb-8bbb-000000000003';
      unsealed.add({ id: clear, model: 'packed', version: 1, instance: { x: 3, c: 'c' }, output, features: signature.features });
      await unsealed.flush();
      const raw = await db.pool.query('SELECT instance FROM prediction_log WHERE id = $1', [clear]);
      assert.deepEqual(raw.rows[0].instance, [3, 'c'], 'stored as values in signature order');

      const named = { x: 1.5, c: 'a' };
      const keys = { k: key };
      const sealed = await db.pool.query('SELECT instance, key_id FROM prediction_log WHERE id = $1', [exact]);
      assert.deepEqual(readStored(sealed.rows[0].instance, sealed.rows[0].key_id, keys, exact), [1.5, 'a'], 'packed before it was encrypted');
      const { rows } = await db.pool.query("SELECT id, instance, key_id FROM prediction_log WHERE model_name = 'packed' ORDER BY id");
      assert.deepEqual(readLoggedInstances(rows, keys, signature.features).instances, [named, { x: 2, c: 'b', note: 'kept' }, { x: 3, c: 'c' }]);
      const open = await listReview(db.pool, { model: 'packed', keys });
      assert.deepEqual(open.map((i) => i.instance).sort((a, b) => Number(a.x) - Number(b.x)), [named, { x: 2, c: 'b', note: 'kept' }]);
      assert.deepEqual((await labelReviewItem(db.pool, exact, 'no', 'carol', keys))?.instance, named);
      assert.deepEqual(await labelledExamples(db.pool, 'packed', keys), [{ instance: named, label: 'no' }]);
      const { predictions } = await exportSubject(db.pool, pseudonym(piiKey, 'c-1'), keys);
      assert.deepEqual(predictions.map((p) => p.instance), [named]);
    });

    it('uncertain predictions enter the review queue with the log, and a label becomes feedback and a training example', async () => {
      const log = new PredictionLog(db.pool);
      const ids = ['11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222', '33333333-3333-4333-8333-333333333333'];
      log.add({ id: ids[0], model: 'm', version: 1, instance: { x: 1, c: 'a' }, output: { label: 'yes', probabilities: { no: 0.45, yes: 0.55 } }, review: { measure: 'margin', uncertainty: 0.9 } });
      log.add({ id: ids[1], model: 'm', version: 1, instance: { x: 2, c: 'b' }, output: { label: 'no', probabilities: { no: 0.98, yes: 0.02 } } });
      log.add({ id: ids[2], model: 'm', version: 1, instance: { x: 3 }, output: { label: 'no', probabilities: { no: 0.52, yes: 0.48 } }, review: { measure: 'margin', uncertainty: 0.96 } });
      await log.flush();
      const open = await listReview(db.pool, { model: 'm' });
      assert.deepEqual(open.map((i) => i.predictionId), [ids[2], ids[0]], 'least certain first; the sure one is not queued');
      assert.equal((await db.pool.query("SELECT count(*)::int AS n FROM prediction_log WHERE model_name = 'm'")).rows[0].n, 3);

      const item = await labelReviewItem(db.pool, ids[2], 'yes', 'bob');
      assert.equal(item?.label, 'yes');
      assert.equal(item?.labelledBy, 'bob');
      assert.equal(await labelReviewItem(db.pool, '44444444-4444-4444-8444-444444444444', 'yes', 'bob'), undefined);
      const feedback = await db.pool.query('SELECT label FROM feedback WHERE prediction_id = $1', [ids[2]]);
      assert.equal(feedback.rows[0].label, 'yes');
      assert.deepEqual((await listReview(db.pool, { model: 'm' })).map((i) => i.predictionId), [ids[0]]);
      assert.deepEqual((await listReview(db.pool, { model: 'm', state: 'labelled' })).map((i) => i.predictionId), [ids[2]]);
      assert.deepEqual(await labelledExamples(db.pool, 'm'), [{ instance: { x: 3 }, label: 'yes' }]);
    });
  });
}

describe('monitoring helpers', () => {
  it('uncertainty: 1 - margin of the top two, or entropy over its maximum', () => {
    const margin = uncertainty('margin', [0.1, 0.5, 0.4], 0, 3);
    assert.ok(Math.abs(margin.value - 0.9) < 1e-12);
    assert.equal(margin.enters(0.1), true);
    assert.equal(margin.enters(0.05), false);
    const sure = uncertainty('margin', [0, 0.02, 0.98], 0, 3);
    assert.equal(sure.enters(0.1), false);
    const even = uncertainty('entropy', [0.5, 0.5], 0, 2);
    assert.ok(Math.abs(even.value - 1) < 1e-12);
    assert.equal(even.enters(0.9), true);
    const offset = uncertainty('entropy', [9, 9, 1, 0], 2, 2);
    assert.equal(offset.value, 0, 'reads the row at its offset; a certain answer has zero entropy');
  });

  it('served instances become profile columns; absent, null and non-numeric values count as missing', () => {
    const [x, c] = instanceProfileColumns([{ x: 1.5, c: 'a' }, { x: null, c: 2 }, { c: null }, { x: 'nope', c: '' }, { x: '4' }], { numeric: ['x'], categorical: ['c'] });
    assert.equal(x.kind, 'numeric');
    assert.deepEqual(Array.from(x.values as Float64Array), [1.5, NaN, NaN, NaN, 4]);
    assert.deepEqual(c.values, ['a', '2', null, null, null]);
  });

  it('labelled examples append to a table: missing columns empty, text columns stay text', () => {
    const table = tableFromTextRows(['x', 'c', 'y'], [['1', 'a', 'no'], ['2', 'b', 'yes']]);
    const grown = appendRecords(table, [{ x: 3, y: 'yes', extra: 'ignored' }, { c: 7, y: 'no' }]);
    assert.equal(grown.rowCount, 4);
    const [x, c, y] = ['x', 'c', 'y'].map((n) => getColumn(grown, n)!);
    assert.equal(x.kind, 'number');
    assert.deepEqual([0, 1, 2, 3].map((r) => cellText(x, r)), ['1', '2', '3', null]);
    assert.equal(c.kind, 'string');
    assert.deepEqual([0, 1, 2, 3].map((r) => cellText(c, r)), ['a', 'b', null, '7']);
    assert.deepEqual([0, 1, 2, 3].map((r) => cellText(y, r)), ['no', 'yes', 'yes', 'no']);
    assert.equal(getColumn(grown, 'extra'), undefined);
  });

  it('a file source watermark moves when the file changes; a missing file is a clear error', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'watermark-'));
    const file = path.join(dir, 'data.csv');
    fs.writeFileSync(file, 'a,b\n1,2\n');
    const first = await sourceWatermark({ uri: file }, testSources());
    assert.equal(await sourceWatermark({ uri: file }, testSources()), first);
    fs.appendFileSync(file, '3,4\n');
    assert.notEqual(await sourceWatermark({ uri: file }, testSources()), first);
    await assert.rejects(sourceWatermark({ uri: path.join(dir, 'gone.csv') }, testSources()), /not found/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
