/**
 * Privacy of the prediction log: encryption at rest (round trip, wrong keys, tampering, rotation),
 * pseudonymisation and dropping of PII columns, subjects' export and erasure across models, and
 * retention of review items, on the real store. The HTTP routes are tested on the whole stack at the end.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readLoggedInstances } from '../src/activities/monitoring';
import { GOVERNANCE_RESPONSE_COMPONENTS as DOCUMENTED } from '../src/api/governance-docs';
import { ApiClient } from '../src/cli/api-client';
import { runGovernanceCommand } from '../src/cli/governance-commands';
import { ConfigError } from '../src/config';
import { DecryptionError, open, readStored, seal } from '../src/privacy/encryption';
import { applyPolicy, pseudonym, privacyPolicySchema } from '../src/privacy/pii';
import { LogPrivacy, PredictionLog } from '../src/serving/prediction-log';
import { ModelServer } from '../src/serving/model-server';
import { LocalArtifactStore } from '../src/store/artifacts';
import { listAudit, verifyAuditChain } from '../src/store/audit';
import { eraseSubject, exportSubject, getPrivacyPolicy, listPrivacyPolicies, setPrivacyPolicy } from '../src/store/privacy';
import { labelledExamples, labelReviewItem, listReview } from '../src/store/review';
import { ApiStack, startApiStack, TEST_ADMIN_KEY } from './helpers/api-stack';
import { availableBackends, createTestDatabase, TestDatabase } from './helpers/database';
import { REPO_ROOT } from './helpers/temporal';

const K1 = randomBytes(32);
const K2 = randomBytes(32);
const PII_KEY = randomBytes(32);

describe('encryption of logged inputs', () => {
  const id = randomUUID();
  const input = { age: 41, city: 'Lyon', note: null, nested: { a: [1, 'two'] } };

  it('round trips, with a fresh IV every time', () => {
    const a = seal(K1, input, id);
    const b = seal(K1, input, id);
    assert.deepEqual(Object.keys(a).sort(), ['ct', 'iv', 'tag', 'v']);
    assert.equal(a.v, 1);
    assert.equal(Buffer.from(a.iv, 'base64').length, 12);
    assert.notEqual(a.iv, b.iv);
    assert.notEqual(a.ct, b.ct);
    assert.ok(!JSON.stringify(a).includes('Lyon'));
    assert.deepEqual(open(K1, a, id), input);
    assert.deepEqual(open(K1, b, id), input);
  });

  it('refuses a wrong key, an altered ciphertext, tag or IV, and a ciphertext moved to another row', () => {
    const sealed = seal(K1, input, id);
    const flip = (b64: string) => { const bytes = Buffer.from(b64, 'base64'); bytes[0] ^= 1; return bytes.toString('base64'); };
    assert.throws(() => open(K2, sealed, id), DecryptionError);
    assert.throws(() => open(K1, { ...sealed, ct: flip(sealed.ct) }, id), /does not authenticate/);
    assert.throws(() => open(K1, { ...sealed, tag: flip(sealed.tag) }, id), /does not authenticate/);
    assert.throws(() => open(K1, { ...sealed, iv: flip(sealed.iv) }, id), /does not authenticate/);
    assert.throws(() => open(K1, sealed, randomUUID()), /does not authenticate/, 'bound to its prediction id');
    assert.throws(() => open(K1, { ...sealed, tag: 'AAAA' }, id), /wrong length/);
    assert.throws(() => open(K1, input, id), /not an encrypted envelope/);
    assert.throws(() => open(K1, { ...sealed, v: 2 }, id), /not an encrypted envelope/);
    assert.throws(() => open(K1, null, id), /not an encrypted envelope/);
  });

  it('reads rows by their key id: clear rows as they are, old keys after rotation, unknown keys named', () => {
    const keys = { k1: K1, k2: K2 };
    const old = seal(K1, { v: 'old' }, id);
    const fresh = seal(K2, { v: 'new' }, id);
    assert.deepEqual(readStored({ v: 'clear' }, null, keys, id), { v: 'clear' });
    assert.deepEqual(readStored(old, 'k1', keys, id), { v: 'old' });
    assert.deepEqual(readStored(fresh, 'k2', keys, id), { v: 'new' });
    assert.throws(() => readStored(old, 'k0', keys, id), (err: unknown) => err instanceof DecryptionError && err.keyId === 'k0' && /MLOPS_DECRYPTION_KEYS/.test(err.message));
    assert.throws(() => readStored(old, 'k2', keys, id), /does not authenticate.*key "k2"/);
    assert.throws(() => readStored(old, 'toString', keys, id), /not configured/, 'no prototype lookups');
  });
});

describe('pseudonymisation', () => {
  it('is deterministic per key, differs between keys, and reads numbers as written', () => {
    const a = pseudonym(PII_KEY, 'alice@example.com');
    assert.match(a, /^h:[0-9a-f]{64}$/);
    assert.equal(pseudonym(PII_KEY, 'alice@example.com'), a);
    assert.notEqual(pseudonym(randomBytes(32), 'alice@example.com'), a);
    assert.notEqual(pseudonym(PII_KEY, 'bob@example.com'), a);
    assert.equal(pseudonym(PII_KEY, 42), pseudonym(PII_KEY, '42'), 'a subject id sent as a number is found by its text');
  });

  const policy = { pii: { email: 'pseudonymise' as const, name: 'drop' as const }, subjectColumn: 'customer_id' };

  it('pseudonymises, drops, records the subject and removes its raw id', () => {
    const row = { x: 1.5, email: 'alice@example.com', name: 'Alice', customer_id: 'c-17' };
    const { instance, subject } = applyPolicy(row, policy, PII_KEY);
    assert.deepEqual(instance, { x: 1.5, email: pseudonym(PII_KEY, 'alice@example.com') });
    assert.equal(subject, pseudonym(PII_KEY, 'c-17'));
    assert.deepEqual(row, { x: 1.5, email: 'alice@example.com', name: 'Alice', customer_id: 'c-17' }, 'the request is not changed');
  });

  it('keeps the subject column pseudonymised when the policy lists it; nulls stay null; absent columns stay absent', () => {
    const listed = { pii: { customer_id: 'pseudonymise' as const, email: 'pseudonymise' as const }, subjectColumn: 'customer_id' };
    const { instance, subject } = applyPolicy({ customer_id: 17, email: null }, listed, PII_KEY);
    assert.deepEqual(instance, { customer_id: pseudonym(PII_KEY, 17), email: null });
    assert.equal(subject, pseudonym(PII_KEY, '17'));
    assert.deepEqual(applyPolicy({ x: 1 }, policy, PII_KEY), { instance: { x: 1 } }, 'no subject value: no subject');
  });

  it('without a PII key: pseudonymise falls back to drop, and no subject is recorded', () => {
    const { instance, subject } = applyPolicy({ x: 1, email: 'a@b.c', name: 'A', customer_id: 'c-1' }, policy, undefined);
    assert.deepEqual(instance, { x: 1 });
    assert.equal(subject, undefined);
  });

  it('leaves rows alone without a policy', () => {
    assert.deepEqual(applyPolicy({ email: 'a@b.c' }, undefined, PII_KEY), { instance: { email: 'a@b.c' } });
  });

  it('validates policies', () => {
    assert.ok(privacyPolicySchema.safeParse({ pii: {} }).success);
    assert.ok(privacyPolicySchema.safeParse({ pii: { email: 'drop' }, subjectColumn: 'id' }).success);
    for (const bad of [
      undefined, null, [], 'drop', {}, { pii: [] }, { pii: 'email' }, { pii: { email: 'hash' } }, { pii: { email: true } }, { pii: { '': 'drop' } },
      { pii: {}, subjectColumn: 5 }, { pii: {}, subjectColumn: '' }, { pii: {}, extra: 1 },
      { pii: Object.fromEntries(Array.from({ length: 501 }, (_, i) => [`c${i}`, 'drop'])) },
    ]) {
      assert.equal(privacyPolicySchema.safeParse(bad).success, false, JSON.stringify(bad));
    }
  });
});

for (const backend of availableBackends()) {
  describe(`privacy in the store on ${backend}`, () => {
    let db: TestDatabase;
    const encrypted: LogPrivacy = { piiKey: PII_KEY, encryption: { keyId: 'k1', key: K1 } };
    const policy = { pii: { email: 'pseudonymise' as const, name: 'drop' as const }, subjectColumn: 'customer_id' };
    const output = { label: 'yes', probabilities: { no: 0.45, yes: 0.55 } };
    const review = { measure: 'margin' as const, uncertainty: 0.9 };
    const count = async (sql: string, params: unknown[] = []) => (await db.pool.query(sql, params)).rows[0].n as number;
    /** Two of subject c-1's predictions of the churn model: under key k1 (labelled in review), and after rotation under k2. */
    let first = '';
    let rotatedId = '';

    before(async () => { db = await createTestDatabase(backend); });
    after(() => db.close());

    it('stores policies per model, replaces them, and lists them for serving', async () => {
      assert.equal(await getPrivacyPolicy(db.pool, 'churn'), undefined);
      await setPrivacyPolicy(db.pool, 'churn', { pii: { email: 'drop' } }, 'alice');
      const saved = await setPrivacyPolicy(db.pool, 'churn', policy, 'bob');
      assert.deepEqual(saved.policy, policy);
      assert.equal(saved.updatedBy, 'bob');
      assert.deepEqual((await getPrivacyPolicy(db.pool, 'churn'))?.policy, policy);
      assert.deepEqual([...(await listPrivacyPolicies(db.pool))], [['churn', policy]]);
    });

    it('logs protected, encrypted inputs with their subject and key; readers decrypt them, rows under a missing key are refused', async () => {
      const log = new PredictionLog(db.pool, { privacy: encrypted });
      const [a, b] = [randomUUID(), randomUUID()];
      first = a;
      log.add({ id: a, model: 'churn', version: 1, instance: { x: 1, email: 'alice@example.com', name: 'Alice', customer_id: 'c-1' }, output, review, policy });
      log.add({ id: b, model: 'churn', version: 1, instance: { x: 2, customer_id: 'c-2' }, output, policy });
      await log.flush();
      const { rows } = await db.pool.query('SELECT id, instance, output, subject, key_id FROM prediction_log WHERE id = ANY($1) ORDER BY instance->>\'ct\'', [[a, b]]);
      for (const r of rows) {
        assert.equal(r.key_id, 'k1');
        assert.deepEqual(Object.keys(r.instance).sort(), ['ct', 'iv', 'tag', 'v']);
        assert.deepEqual(r.output, output, 'outputs stay in clear');
        // the stored input and subject only: a row's uuid may contain "c-1" by chance, base64 and hex never do
        const text = JSON.stringify([r.instance, r.subject]);
        for (const secret of ['alice@example.com', 'Alice', 'c-1', 'c-2']) assert.ok(!text.includes(secret), `${secret} leaked`);
      }
      const byId = new Map(rows.map((r) => [r.id, r]));
      assert.equal(byId.get(a).subject, pseudonym(PII_KEY, 'c-1'));
      assert.deepEqual(readStored(byId.get(a).instance, 'k1', { k1: K1 }, a), { x: 1, email: pseudonym(PII_KEY, 'alice@example.com') });

      const queued = (await db.pool.query('SELECT subject, key_id, instance FROM review_queue WHERE prediction_id = $1', [a])).rows[0];
      assert.equal(queued.subject, pseudonym(PII_KEY, 'c-1'));
      assert.equal(queued.key_id, 'k1');
      const [item] = await listReview(db.pool, { model: 'churn', keys: { k1: K1 } });
      assert.deepEqual(item.instance, { x: 1, email: pseudonym(PII_KEY, 'alice@example.com') });
      await assert.rejects(listReview(db.pool, { model: 'churn' }), (err: unknown) => err instanceof DecryptionError && /"k1"/.test((err as Error).message));
      await assert.rejects(listReview(db.pool, { model: 'churn', keys: { k1: K2 } }), /does not authenticate/);
      assert.equal((await labelReviewItem(db.pool, a, 'no', 'carol', { k1: K1 }))?.label, 'no');
      assert.deepEqual(await labelledExamples(db.pool, 'churn', { k1: K1 }), [{ instance: { x: 1, email: pseudonym(PII_KEY, 'alice@example.com') }, label: 'no' }]);
      await assert.rejects(labelledExamples(db.pool, 'churn'), DecryptionError);

      // drift reads the same inputs: undecryptable rows are counted and left out, not fatal
      const stored = (await db.pool.query('SELECT id, instance, key_id FROM prediction_log WHERE id = ANY($1)', [[a, b]])).rows;
      assert.deepEqual(readLoggedInstances(stored, { k1: K1 }).instances.map((i) => i.x).sort(), [1, 2]);
      const missing = readLoggedInstances(stored, {});
      assert.equal(missing.unreadable, 2);
      assert.match(missing.problems[0], /"k1"/);
    });

    it('after rotation new rows use the new key and old rows stay readable with the old one', async () => {
      const rotated = new PredictionLog(db.pool, { privacy: { piiKey: PII_KEY, encryption: { keyId: 'k2', key: K2 } } });
      const id = randomUUID();
      rotatedId = id;
      rotated.add({ id, model: 'churn', version: 1, instance: { x: 3, customer_id: 'c-1' }, output, review, policy });
      await rotated.flush();
      assert.equal((await db.pool.query('SELECT key_id FROM prediction_log WHERE id = $1', [id])).rows[0].key_id, 'k2');
      const both = await listReview(db.pool, { model: 'churn', state: 'open', keys: { k1: K1, k2: K2 } });
      assert.deepEqual(both.map((i) => i.instance.x), [3]);
      const stored = (await db.pool.query("SELECT id, instance, key_id FROM prediction_log WHERE model_name = 'churn'")).rows;
      assert.deepEqual(readLoggedInstances(stored, { k1: K1, k2: K2 }).instances.map((i) => i.x).sort(), [1, 2, 3]);
      assert.equal(readLoggedInstances(stored, { k2: K2 }).unreadable, 2, 'without the old key its rows are unreadable');
    });

    it('without encryption the input is stored in clear (key_id null), still pseudonymised', async () => {
      const clear = new PredictionLog(db.pool, { privacy: { piiKey: PII_KEY } });
      const id = randomUUID();
      clear.add({ id, model: 'other', version: 2, instance: { x: 9, email: 'bob@example.com', customer_id: 'c-2' }, output, policy });
      await clear.flush();
      const row = (await db.pool.query('SELECT instance, subject, key_id FROM prediction_log WHERE id = $1', [id])).rows[0];
      assert.deepEqual(row, { instance: { x: 9, email: pseudonym(PII_KEY, 'bob@example.com') }, subject: pseudonym(PII_KEY, 'c-2'), key_id: null });
    });

    it('exports one subject: inputs decrypted (pseudonyms stay), outputs, feedback and review labels', async () => {
      const subject = pseudonym(PII_KEY, 'c-1');
      await db.pool.query("INSERT INTO feedback (prediction_id, label) VALUES ($1, 'yes')", [rotatedId]);
      const { predictions, truncated } = await exportSubject(db.pool, subject, { k1: K1, k2: K2 });
      assert.equal(truncated, false);
      assert.deepEqual(predictions.map((p) => p.id), [first, rotatedId]);
      assert.deepEqual(predictions.map((p) => p.instance), [{ x: 1, email: pseudonym(PII_KEY, 'alice@example.com') }, { x: 3 }]);
      assert.deepEqual(predictions[0].output, output);
      assert.deepEqual(predictions.map((p) => p.feedback?.label), ['no', 'yes']);
      assert.deepEqual(predictions.map((p) => p.review?.label ?? null), ['no', null]);
      assert.equal(predictions[0].review?.labelledBy, 'carol');
      assert.deepEqual((await exportSubject(db.pool, pseudonym(PII_KEY, 'nobody'), {})).predictions, []);
      await assert.rejects(exportSubject(db.pool, subject, { k1: K1 }), DecryptionError, 'a key missing for one row is refused, not skipped');
    });

    it('erases exactly one subject: predictions, feedback and review items, in every model', async () => {
      const log = new PredictionLog(db.pool, { privacy: encrypted });
      const mine = [randomUUID(), randomUUID()];
      const theirs = randomUUID();
      log.add({ id: mine[0], model: 'fraud', version: 4, instance: { amount: 10, customer_id: 'c-1' }, output, review, policy });
      log.add({ id: mine[1], model: 'fraud', version: 4, instance: { amount: 11, customer_id: 'c-1' }, output, policy });
      log.add({ id: theirs, model: 'fraud', version: 4, instance: { amount: 12, customer_id: 'c-3' }, output, review, policy });
      await log.flush();
      await db.pool.query("INSERT INTO feedback (prediction_id, label) VALUES ($1, 'no'), ($2, 'yes')", [mine[1], theirs]);
      // a review item whose log row is gone already (as written by a replica whose log fell behind) is still found by its subject
      const orphan = randomUUID();
      await db.pool.query(`INSERT INTO review_queue (prediction_id, model_name, version, measure, uncertainty, instance, output, subject)
        VALUES ($1, 'fraud', 4, 'margin', 0.5, '{}', '{}', $2)`, [orphan, pseudonym(PII_KEY, 'c-1')]);

      const before = {
        log: await count('SELECT count(*)::int AS n FROM prediction_log'),
        feedback: await count('SELECT count(*)::int AS n FROM feedback'),
        review: await count('SELECT count(*)::int AS n FROM review_queue'),
      };
      const erased = await eraseSubject(db.pool, pseudonym(PII_KEY, 'c-1'));
      // c-1: churn (2 predictions, 2 feedback, 2 review items) and fraud (2 predictions, 1 feedback, 1 review item, 1 orphan)
      assert.deepEqual(erased, { predictions: 4, feedback: 3, reviewItems: 4 });
      assert.equal(await count('SELECT count(*)::int AS n FROM prediction_log'), before.log - 4);
      assert.equal(await count('SELECT count(*)::int AS n FROM feedback'), before.feedback - 3);
      assert.equal(await count('SELECT count(*)::int AS n FROM review_queue'), before.review - 4);
      assert.equal(await count('SELECT count(*)::int AS n FROM prediction_log WHERE subject = $1', [pseudonym(PII_KEY, 'c-1')]), 0);
      assert.equal(await count('SELECT count(*)::int AS n FROM prediction_log WHERE id = $1', [theirs]), 1, 'another subject is untouched');
      assert.equal(await count('SELECT count(*)::int AS n FROM feedback WHERE prediction_id = $1', [theirs]), 1);
      assert.equal(await count('SELECT count(*)::int AS n FROM review_queue WHERE prediction_id = $1', [theirs]), 1);
      assert.deepEqual(await eraseSubject(db.pool, pseudonym(PII_KEY, 'c-1')), { predictions: 0, feedback: 0, reviewItems: 0 }, 'a repeated erasure finds nothing');
    });

    it('retention prunes old review items and their feedback with the prediction log', async () => {
      const [old, recent] = [randomUUID(), randomUUID()];
      await db.pool.query(`INSERT INTO review_queue (prediction_id, model_name, version, measure, uncertainty, instance, output, created_at, label)
        VALUES ($1, 'm', 1, 'margin', 0.5, '{}', '{}', now() - interval '40 days', 'yes'), ($2, 'm', 1, 'margin', 0.5, '{}', '{}', now(), NULL)`, [old, recent]);
      await db.pool.query("INSERT INTO feedback (prediction_id, label) VALUES ($1, 'yes')", [old]);
      const server = new ModelServer(db.pool, new LocalArtifactStore(os.tmpdir()), { maxBatch: 1, retention: { predictionLogDays: 30, servingStatsDays: 7 } });
      await server.prune();
      assert.equal(await count('SELECT count(*)::int AS n FROM review_queue WHERE prediction_id = ANY($1)', [[old, recent]]), 1);
      assert.equal(await count('SELECT count(*)::int AS n FROM feedback WHERE prediction_id = $1', [old]), 0);
    });
  });
}

/** A copy of the bundled weather data with the personal columns a real request would carry. */
function personalWeather(dir: string): string {
  const [header, ...lines] = fs.readFileSync(path.join(REPO_ROOT, 'datasets', 'seattle-weather.csv'), 'utf8').trim().split('\n');
  const rows = lines.slice(0, 400).map((line, i) => {
    const v = line.split(',');
    return [`c-${i}`, `person${i}@example.com`, v[1], v[2], v[3], v[4], ['rain', 'drizzle', 'snow'].includes(v[5]) ? 'yes' : 'no'].join(',');
  });
  assert.equal(header, 'date,precipitation,temp_max,temp_min,wind,weather');
  const file = path.join(dir, 'weather-personal.csv');
  fs.writeFileSync(file, ['customer_id,email,precipitation,temp_max,temp_min,wind,wet', ...rows].join('\n') + '\n');
  return file;
}

describe('privacy over HTTP', () => {
  let stack: ApiStack;
  const features = ['precipitation', 'temp_max', 'temp_min', 'wind'];
  const row = (customer: string, email: string, i = 0) => ({ customer_id: customer, email, precipitation: i % 3, temp_max: 15 + i, temp_min: 8, wind: 3.1 });

  before(async () => {
    stack = await startApiStack({
      env: {
        MLOPS_TASK_QUEUE: 'privacy-test',
        MLOPS_PII_KEY: PII_KEY.toString('base64'),
        MLOPS_ENCRYPTION_KEY: K2.toString('base64'),
        MLOPS_ENCRYPTION_KEY_ID: 'k2',
        MLOPS_DECRYPTION_KEYS: `k1:${K1.toString('base64')}`,
        MLOPS_REVIEW_THRESHOLD: '1',
      },
    });
  });
  after(async () => { await stack?.close(); });

  const call = (method: string, url: string, body?: unknown, o?: Parameters<ApiStack['call']>[3]) => stack.call(method, url, body, o);
  async function until<T>(what: () => Promise<T | undefined>, label: string): Promise<T> {
    for (let i = 0; i < 200; i++) {
      const value = await what();
      if (value !== undefined) return value;
      await new Promise((r) => setTimeout(r, 150));
    }
    throw new Error(`timed out waiting for ${label}`);
  }

  it('a policy can be set before the first run; bad policies and names are refused', async () => {
    assert.deepEqual((await call('GET', '/v1/models/weather/privacy')).body, { model: 'weather', policy: { pii: {} }, updatedBy: null, updatedAt: null });
    for (const bad of [{}, { pii: { email: 'hash' } }, { pii: { email: 'drop' }, subjectColumn: 3 }, { pii: [] }, { pii: {}, other: true }]) {
      const r = await call('PUT', '/v1/models/weather/privacy', bad);
      assert.equal(r.status, 400, JSON.stringify(bad));
      assert.equal(r.body.error.code, 'invalid_request');
    }
    assert.equal((await call('PUT', '/v1/models/weather/privacy', undefined, { raw: '{"pii": ' })).status, 400);
    assert.equal((await call('PUT', '/v1/models/not%20a%20name/privacy', { pii: {} })).status, 404);
    const set = await call('PUT', '/v1/models/weather/privacy', { pii: { email: 'pseudonymise', precipitation: 'drop' }, subjectColumn: 'customer_id' });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    assert.equal(set.body.updatedBy, 'admin');
    assert.deepEqual(set.body.warnings, [], 'no production version yet to compare with');
    DOCUMENTED.PrivacyPolicyResult.parse(set.body);
    DOCUMENTED.PrivacyPolicyResult.parse((await call('GET', '/v1/models/unknown-yet/privacy')).body);
    assert.deepEqual((await call('GET', '/v1/models/weather/privacy')).body.policy, { pii: { email: 'pseudonymise', precipitation: 'drop' }, subjectColumn: 'customer_id' });
    const audit = await call('GET', '/v1/audit?action=privacy.policy_set&subject=weather');
    assert.equal(audit.body.entries.length, 1);
  });

  it('predictions are logged pseudonymised and encrypted; a subject is exported, then erased with an audit entry', async () => {
    const started = await call('POST', '/v1/pipelines', { model: 'weather', data: { uri: personalWeather(stack.files) }, target: 'wet', features, positiveClass: 'yes', seed: 3, approval: { mode: 'auto' } });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    await until(async () => {
      const s = await call('GET', `/v1/pipelines/${started.body.id}`);
      assert.notEqual(s.body.state, 'failed', JSON.stringify(s.body));
      return s.body.state === 'deployed' ? s.body : undefined;
    }, 'the deployment');

    // the policy warns now that it can compare with the production version
    const again = await call('PUT', '/v1/models/weather/privacy', { pii: { email: 'pseudonymise', precipitation: 'drop' }, subjectColumn: 'customer_id' });
    assert.equal(again.body.warnings.length, 1);
    assert.match(again.body.warnings[0], /"precipitation" is a feature/);
    await call('PUT', '/v1/models/weather/privacy', { pii: { email: 'pseudonymise' }, subjectColumn: 'customer_id' });
    // serving replicas pick the policy up with their next routing reload (notification or poll)
    await stack.api.refresh();

    const answered = await call('POST', '/v1/models/weather/predict', { instances: [row('alice-17', 'alice@example.com', 0), row('alice-17', 'alice@example.com', 1), row('bob-42', 'bob@example.com', 2)] });
    assert.equal(answered.status, 200, JSON.stringify(answered.body));
    const other = await call('POST', '/v1/models/weather/predict', { instances: [row('bob-42', 'bob@example.com', 3)] });
    assert.equal(other.status, 200);
    await stack.api.flush();
    const ids = answered.body.predictions.map((p: { id: string }) => p.id);
    assert.equal((await call('POST', '/v1/feedback', { predictionId: ids[0], label: 'yes' })).status, 200);

    const stored = (await stack.stores.pool.query('SELECT * FROM prediction_log WHERE id = ANY($1)', [ids])).rows;
    assert.equal(stored.length, 3);
    for (const r of stored) {
      assert.equal(r.key_id, 'k2');
      // '-' and '@' never occur in base64, so these cannot appear in a ciphertext by chance
      for (const secret of ['alice-17', 'bob-42', '@example.com']) assert.ok(!JSON.stringify([r.instance, r.subject]).includes(secret), `${secret} is stored in clear`);
    }

    const exported = await call('GET', '/v1/subjects/alice-17/export');
    assert.equal(exported.status, 200, JSON.stringify(exported.body));
    assert.equal(exported.body.subject, pseudonym(PII_KEY, 'alice-17'));
    DOCUMENTED.SubjectExport.parse(exported.body);
    assert.deepEqual(exported.body.predictions.map((p: { id: string }) => p.id).sort(), ids.slice(0, 2).sort());
    const first = exported.body.predictions.find((p: { id: string }) => p.id === ids[0]);
    assert.deepEqual(first.instance, { email: pseudonym(PII_KEY, 'alice@example.com'), precipitation: 0, temp_max: 15, temp_min: 8, wind: 3.1 });
    assert.deepEqual(first.output, (({ id: _id, ...o }) => o)(answered.body.predictions[0]));
    assert.equal(first.feedback.label, 'yes');
    assert.deepEqual((await call('GET', '/v1/subjects/nobody/export')).body.predictions, []);

    const erased = await call('DELETE', '/v1/subjects/alice-17');
    assert.equal(erased.status, 200, JSON.stringify(erased.body));
    DOCUMENTED.SubjectErasure.parse(erased.body);
    assert.deepEqual(erased.body.erased, { predictions: 2, feedback: 1, reviewItems: 2 }, 'every answer entered the review queue (threshold 1)');
    assert.equal((await stack.stores.pool.query('SELECT count(*)::int AS n FROM prediction_log WHERE id = ANY($1)', [ids])).rows[0].n, 1, "bob's prediction stays");
    assert.equal((await stack.stores.pool.query('SELECT count(*)::int AS n FROM review_queue WHERE prediction_id = ANY($1)', [ids.slice(0, 2)])).rows[0].n, 0);
    assert.deepEqual((await call('DELETE', '/v1/subjects/alice-17')).body.erased, { predictions: 0, feedback: 0, reviewItems: 0 });

    const audit = await call('GET', '/v1/audit?action=subject.erased');
    assert.equal(audit.status, 200);
    DOCUMENTED.AuditList.parse(audit.body);
    assert.equal(audit.body.entries.length, 2);
    assert.equal(audit.body.entries[1].subject, pseudonym(PII_KEY, 'alice-17'));
    assert.deepEqual(audit.body.entries[1].details, erased.body.erased);
    const everything = await call('GET', '/v1/audit?limit=1000');
    assert.ok(!JSON.stringify(everything.body).includes('alice-17'), 'the raw subject id is never in the audit log');
    const verified = await call('GET', '/v1/audit/verify');
    assert.equal(verified.status, 200);
    assert.equal(verified.body.ok, true, JSON.stringify(verified.body));
    DOCUMENTED.AuditVerification.parse(verified.body);
    assert.ok(verified.body.entries > 3);
    assert.ok((await verifyAuditChain(stack.stores.pool)).ok);
    assert.ok((await listAudit(stack.stores.pool, { action: 'subject.exported' })).length >= 1);
  });

  it('subject ids and audit queries are checked; roles are enforced', async () => {
    assert.equal((await call('GET', `/v1/subjects/${'x'.repeat(501)}/export`)).status, 400);
    assert.equal((await call('DELETE', `/v1/subjects/${'x'.repeat(501)}`)).status, 400);
    for (const query of ['limit=0', 'limit=abc', 'limit=1001', 'action=a&action=b', 'before=-1', 'before=x', `subject=${'s'.repeat(501)}`]) {
      const r = await call('GET', `/v1/audit?${query}`);
      assert.equal(r.status, 400, query);
    }
    assert.equal((await call('GET', '/v1/audit?limit=1')).body.entries.length, 1);
    for (const [method, url] of [['GET', '/v1/audit'], ['GET', '/v1/audit/verify'], ['DELETE', '/v1/subjects/alice-17'], ['GET', '/v1/subjects/alice-17/export'], ['PUT', '/v1/models/weather/privacy']]) {
      assert.equal((await call(method, url, method === 'PUT' ? { pii: {} } : undefined, { anonymous: true })).status, 401, `${method} ${url}`);
    }
    assert.equal((await call('GET', '/v1/models/weather/privacy', undefined, { anonymous: true })).status, 401);
    const viewer = await call('POST', '/v1/keys', { name: 'reader', role: 'viewer' });
    assert.equal(viewer.status, 201, JSON.stringify(viewer.body));
    const asViewer = { headers: { authorization: `Bearer ${viewer.body.token}` } };
    assert.equal((await call('GET', '/v1/models/weather/privacy', undefined, asViewer)).status, 200);
    for (const [method, url] of [['GET', '/v1/audit'], ['GET', '/v1/audit/verify'], ['DELETE', '/v1/subjects/alice-17'], ['GET', '/v1/subjects/alice-17/export'], ['PUT', '/v1/models/weather/privacy']]) {
      assert.equal((await call(method, url, method === 'PUT' ? { pii: {} } : undefined, asViewer)).status, 403, `${method} ${url}`);
    }
    const refused = await listAudit(stack.stores.pool, { action: 'access.forbidden', limit: 1000 });
    assert.ok(refused.some((e) => e.subject === 'DELETE /v1/subjects/:id'), JSON.stringify(refused.map((e) => e.subject)));
    assert.ok(!JSON.stringify(refused).includes('alice-17'), 'refused attempts name the route, not the subject');
  });

  it('the CLI lists and verifies the audit log, and fails naming the first broken entry', async () => {
    const api = new ApiClient(stack.api.url, TEST_ADMIN_KEY);
    const lines: string[] = [];
    const log = (line: string) => { lines.push(line); };
    assert.equal(await runGovernanceCommand('models', [], api, log), false, 'not a governance command');
    assert.equal(await runGovernanceCommand('audit', ['list', '--limit', '2'], api, log), true);
    assert.equal(lines.pop()!.split('\n').length, 3, 'a header and two entries');
    assert.equal(await runGovernanceCommand('audit', ['list', '--action', 'subject.erased', '--json'], api, log), true);
    assert.deepEqual(JSON.parse(lines.pop()!).map((e: { action: string }) => e.action), ['subject.erased', 'subject.erased']);
    assert.equal(await runGovernanceCommand('audit', ['verify'], api, log), true);
    assert.match(lines.pop()!, /intact: \d+ entries[\s\S]*head: entry \d+/);
    await assert.rejects(runGovernanceCommand('audit', [], api, log), ConfigError);
    await assert.rejects(runGovernanceCommand('audit', ['list', '--limit', '0'], api, log), /--limit/);
    await assert.rejects(runGovernanceCommand('audit', ['list', '--bogus'], api, log), /bogus/);

    const { rows: [victim] } = await stack.stores.pool.query("SELECT id FROM audit_events WHERE action = 'subject.erased' ORDER BY id LIMIT 1");
    const client = await stack.stores.pool.connect();
    try {
      await client.query('ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_change');
      await client.query(`UPDATE audit_events SET details = '{"predictions": 0, "feedback": 0, "reviewItems": 0}' WHERE id = $1`, [victim.id]);
      await client.query('ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_change');
    } finally {
      client.release();
    }
    await assert.rejects(runGovernanceCommand('audit', ['verify'], api, log), new RegExp(`broken at entry ${victim.id}: its content does not match`));
    assert.match(lines.pop()!, new RegExp(`BROKEN at entry ${victim.id}`));
    const verified = await call('GET', '/v1/audit/verify');
    assert.deepEqual([verified.status, verified.body.ok, verified.body.firstBroken.id], [200, false, victim.id]);
    DOCUMENTED.AuditVerification.parse(verified.body);
  });
});

describe('subjects without a PII key', () => {
  let stack: ApiStack;
  before(async () => { stack = await startApiStack({ env: { MLOPS_TASK_QUEUE: 'privacy-nokey-test' } }); });
  after(async () => { await stack?.close(); });

  it('cannot be found: export and erasure answer 409 and say why; a policy warns that pseudonymise means drop', async () => {
    for (const [method, url] of [['DELETE', '/v1/subjects/alice-17'], ['GET', '/v1/subjects/alice-17/export']]) {
      const r = await stack.call(method, url);
      assert.equal(r.status, 409, `${method} ${url}`);
      assert.equal(r.body.error.code, 'conflict');
      assert.match(r.body.error.message, /MLOPS_PII_KEY/);
    }
    const set = await stack.call('PUT', '/v1/models/m/privacy', { pii: { email: 'pseudonymise' } });
    assert.equal(set.status, 200);
    assert.match(set.body.warnings[0], /MLOPS_PII_KEY is not set/);
    assert.equal((await listAudit(stack.stores.pool, { action: 'subject.erased' })).length, 0);
  });
});
