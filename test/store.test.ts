import assert from 'node:assert/strict';
import { Client } from 'pg';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateMultipartUploadCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ArtifactError, ArtifactStore, LocalArtifactStore, sha256Hex } from '../src/store/artifacts';
import { S3ArtifactStore } from '../src/store/s3-artifacts';
import { ModelServer } from '../src/serving/model-server';
import { saveDataset } from '../src/store/datasets';
import { LATEST_SCHEMA_VERSION, migrate } from '../src/store/migrations';
import * as registry from '../src/store/registry';
import { availableBackends, createTestDatabase, TestDatabase } from './helpers/database';
import { startS3Server } from './helpers/s3';

const signature = { features: ['a'], classes: ['no', 'yes'], input: 'features', output: 'probabilities' };
const metrics = { auc: 0.9 };

for (const backend of availableBackends()) {
  describe(`metadata store on ${backend}`, () => {
    let db: TestDatabase;
    before(async () => {
      db = await createTestDatabase(backend);
      await saveDataset(db.pool, { id: 'd'.repeat(64), sourceUri: 'x.csv', sourceKind: 'file', rowCount: 3, columns: [{ name: 'a', type: 'number' }], byteSize: 10, statistics: [] });
    });
    after(() => db.close());

    const newVersion = (runId: string, model = 'm') => ({ modelName: model, runId, onnxDigest: 'a'.repeat(64), signature, metrics, params: {}, datasetId: 'd'.repeat(64) });

    it('applies migrations once: a second run changes nothing', async () => {
      assert.deepEqual(await migrate(db.pool), []);
      const { rows } = await db.pool.query('SELECT version FROM schema_migrations');
      assert.deepEqual(rows.map((r) => r.version).sort((a, b) => a - b), Array.from({ length: LATEST_SCHEMA_VERSION }, (_, i) => i + 1));
    });

    // the embedded store's own limit; PostgreSQL's is its max_connections, shared here with the other test files
    it('serves as many connections at once as a machine full of processes opens', { skip: backend !== 'embedded' }, async () => {
      // beyond what one pool opens: `mlops up` and several `mlops api` processes each hold a pool and a LISTEN
      const clients = Array.from({ length: 60 }, () => new Client({ connectionString: db.url }));
      try {
        await Promise.all(clients.map((c) => c.connect()));
        const answers = await Promise.all(clients.map((c, i) => c.query('SELECT $1::int AS i', [i])));
        assert.deepEqual(answers.map((a) => a.rows[0].i), clients.map((_, i) => i));
      } finally {
        await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
      }
    });

    it('registers one version per run, however often the registration is retried', async () => {
      const first = await registry.registerVersion(db.pool, newVersion('run-1'));
      const again = await registry.registerVersion(db.pool, newVersion('run-1'));
      const second = await registry.registerVersion(db.pool, newVersion('run-2'));
      assert.equal(first.version, 1);
      assert.equal(again.version, 1);
      assert.equal(second.version, 2);
      assert.equal(first.status, 'pending_approval');
    });

    it('numbers concurrent registrations without gaps or duplicates, even when each is retried at once', async () => {
      // 12 runs, each registering twice at the same moment (a retried activity racing its first attempt)
      const runs = Array.from({ length: 12 }, (_, i) => `c-${i}`);
      const results = await Promise.all([...runs, ...runs].map((run) => registry.registerVersion(db.pool, newVersion(run, 'concurrent'))));
      const byRun = new Map<string, number>();
      for (const r of results) {
        assert.equal(byRun.get(r.runId) ?? r.version, r.version, `run ${r.runId} got two versions`);
        byRun.set(r.runId, r.version);
      }
      assert.deepEqual([...byRun.values()].sort((a, b) => a - b), Array.from({ length: 12 }, (_, i) => i + 1));
      const { rows } = await db.pool.query("SELECT count(*)::int AS n FROM model_versions WHERE model_name = 'concurrent'");
      assert.equal(rows[0].n, 12);
    });

    it('deploys only approved versions, once per deploy key, archiving the version it replaces', async () => {
      await assert.rejects(registry.deployVersion(db.pool, 'm', 1, 'run-1:deploy'), /only approved versions/);
      await registry.decideVersion(db.pool, 'm', 1, 'approved');
      const d1 = await registry.deployVersion(db.pool, 'm', 1, 'run-1:deploy');
      const d1again = await registry.deployVersion(db.pool, 'm', 1, 'run-1:deploy');
      assert.equal(d1.id, d1again.id);
      assert.equal(d1.previousVersion, null);
      await registry.decideVersion(db.pool, 'm', 2, 'approved');
      const d2 = await registry.deployVersion(db.pool, 'm', 2, 'run-2:deploy');
      assert.equal(d2.previousVersion, 1);
      assert.equal((await registry.getAliasVersion(db.pool, 'm', 'production'))?.version, 2);
      assert.equal((await registry.getVersion(db.pool, 'm', 1))?.status, 'archived');
      assert.equal((await registry.getVersion(db.pool, 'm', 2))?.status, 'deployed');
      assert.equal((await registry.listDeployments(db.pool, 'm')).length, 2);
      // a late retry of the first deployment must not move production back
      await registry.deployVersion(db.pool, 'm', 1, 'run-1:deploy').catch(() => undefined);
      assert.equal((await registry.getAliasVersion(db.pool, 'm', 'production'))?.version, 2);
    });

    it('records every status change with who and why, in order', async () => {
      const history = await registry.listVersionEvents(db.pool, 'm', 1);
      assert.deepEqual(history.map((e) => [e.event, e.fromStatus, e.toStatus]), [
        ['registered', null, 'pending_approval'], ['approved', 'pending_approval', 'approved'], ['deployed', 'approved', 'deployed'], ['archived', 'deployed', 'archived'],
      ]);
      assert.equal(history[2].alias, 'production');
    });

    it('rolls production back to the version before, once per key, and not past the first', async () => {
      for (const run of ['rb-1', 'rb-2', 'rb-3']) {
        const v = await registry.registerVersion(db.pool, newVersion(run, 'rb'));
        await registry.decideVersion(db.pool, 'rb', v.version, 'approved', { actor: 'alice', reason: 'looks good' });
      }
      await assert.rejects(registry.rollbackProduction(db.pool, 'rb', 'rb:rollback-0'), (e: registry.RegistryError) => e.code === 'conflict' && /no production version/.test(e.message));
      await registry.deployVersion(db.pool, 'rb', 1, 'rb-1:deploy');
      await assert.rejects(registry.rollbackProduction(db.pool, 'rb', 'rb:rollback-0'), /first production version: there is nothing to roll back to/);
      await registry.deployVersion(db.pool, 'rb', 2, 'rb-2:deploy');
      const back = await registry.rollbackProduction(db.pool, 'rb', 'rb:rollback-1', { actor: 'bob', reason: 'error rate up' });
      assert.deepEqual([back.version, back.previousVersion, back.strategy, back.actor, back.reason], [1, 2, 'rollback', 'bob', 'error rate up']);
      assert.equal((await registry.rollbackProduction(db.pool, 'rb', 'rb:rollback-1')).id, back.id, 'a retried rollback changes nothing');
      assert.equal((await registry.getAliasVersion(db.pool, 'rb', 'production'))?.version, 1);
      assert.deepEqual([(await registry.getVersion(db.pool, 'rb', 1))?.status, (await registry.getVersion(db.pool, 'rb', 2))?.status], ['deployed', 'archived']);
      const last = (await registry.listVersionEvents(db.pool, 'rb', 1)).at(-1)!;
      assert.deepEqual([last.event, last.fromStatus, last.actor, last.reason], ['deployed', 'archived', 'bob', 'error rate up']);
      // an explicit target must have been approved
      const rejected = await registry.registerVersion(db.pool, newVersion('rb-4', 'rb'));
      await registry.decideVersion(db.pool, 'rb', rejected.version, 'rejected', { actor: 'carol', reason: 'drifted' });
      await assert.rejects(registry.rollbackProduction(db.pool, 'rb', 'rb:rollback-2', { toVersion: rejected.version }), /is rejected; only approved versions/);
      await assert.rejects(registry.rollbackProduction(db.pool, 'rb', 'rb:rollback-2', { toVersion: 1 }), /already in production/);
      assert.equal((await registry.rollbackProduction(db.pool, 'rb', 'rb:rollback-2', { toVersion: 3 })).version, 3);
    });

    it('points named aliases at versions and records it; production only moves by deployment', async () => {
      await registry.setAlias(db.pool, 'rb', 'champion', 1, { actor: 'alice' });
      await registry.setAlias(db.pool, 'rb', 'challenger', 2, { actor: 'alice', reason: 'shadow it' });
      await registry.setAlias(db.pool, 'rb', 'champion', 2, { actor: 'alice' });
      assert.deepEqual(await registry.listAliases(db.pool, 'rb'), { challenger: 2, champion: 2, production: 3 });
      await assert.rejects(registry.setAlias(db.pool, 'rb', 'production', 1), /moves by deployment/);
      await assert.rejects(registry.setAlias(db.pool, 'rb', 'Bad Name', 1), /not a valid alias name/);
      await assert.rejects(registry.setAlias(db.pool, 'rb', 'champion', 99), (e: registry.RegistryError) => e.code === 'not_found');
      assert.ok((await registry.listVersionEvents(db.pool, 'rb', 2)).some((e) => e.event === 'alias_set' && e.alias === 'challenger' && e.reason === 'shadow it'));
    });

    it('never turns a decided version back: a rejected version stays rejected', async () => {
      const v = await registry.registerVersion(db.pool, newVersion('run-r', 'r'));
      await registry.decideVersion(db.pool, 'r', v.version, 'rejected');
      await registry.decideVersion(db.pool, 'r', v.version, 'approved');
      assert.equal((await registry.getVersion(db.pool, 'r', v.version))?.status, 'rejected');
    });

    it('prunes the prediction log, its feedback and serving statistics past their retention', async () => {
      const [old, recent] = ['11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222'];
      await db.pool.query(`INSERT INTO prediction_log (id, model_name, version, at, instance, output) VALUES
        ($1, 'm', 1, now() - interval '40 days', '{}', '{}'), ($2, 'm', 1, now(), '{}', '{}')`, [old, recent]);
      await db.pool.query(`INSERT INTO feedback (prediction_id, label) VALUES ($1, 'yes'), ($2, 'no')`, [old, recent]);
      await db.pool.query(`INSERT INTO serving_stats (model_name, version, replica, window_start, latency, outputs) VALUES
        ('m', 1, 'r', now() - interval '8 days', '[]', '[]'), ('m', 1, 'r', now(), '[]', '[]')`);
      const server = new ModelServer(db.pool, new LocalArtifactStore(os.tmpdir()), { maxBatch: 1, retention: { predictionLogDays: 30, servingStatsDays: 7 } });
      await server.prune();
      const ids = async (sql: string) => (await db.pool.query(sql)).rows.map((r) => r.id);
      assert.deepEqual(await ids('SELECT id FROM prediction_log'), [recent]);
      assert.deepEqual(await ids('SELECT prediction_id AS id FROM feedback'), [recent]);
      assert.equal((await db.pool.query('SELECT count(*)::int AS n FROM serving_stats')).rows[0].n, 1);
    });

    it('records an audit event once per key', async () => {
      await registry.recordAudit(db.pool, { key: 'k1', actor: 'alice', action: 'model.approved', subject: 'm@1' });
      await registry.recordAudit(db.pool, { key: 'k1', actor: 'alice', action: 'model.approved', subject: 'm@1' });
      const { rows } = await db.pool.query("SELECT count(*)::int AS n FROM audit_events WHERE event_key = 'k1'");
      assert.equal(rows[0].n, 1);
    });
  });
}

interface StoreUnderTest {
  store: ArtifactStore;
  /** Overwrites the bytes kept for a digest behind the store's back. */
  tamper(digest: string, bytes: Buffer): Promise<void>;
  /** Leaves what a writer killed half-way through would leave. */
  crashMidWrite(digest: string, partial: Buffer): Promise<void>;
  close(): Promise<void>;
}

const backends: [string, () => Promise<StoreUnderTest>][] = [
  ['a content-addressed folder', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-artifacts-'));
    const file = (digest: string) => path.join(root, 'sha256', digest.slice(0, 2), digest);
    return {
      store: new LocalArtifactStore(root),
      tamper: async (digest, bytes) => fs.writeFileSync(file(digest), bytes),
      crashMidWrite: async (digest, partial) => { fs.mkdirSync(path.dirname(file(digest)), { recursive: true }); fs.writeFileSync(`${file(digest)}.dead0001.tmp`, partial); },
      close: async () => fs.rmSync(root, { recursive: true, force: true }),
    };
  }],
  ['S3-compatible object storage (moto server)', async () => {
    const server = await startS3Server();
    await server.createBucket('artifacts');
    const store = new S3ArtifactStore({ bucket: 'artifacts', prefix: 'team-a/', endpoint: server.endpoint, region: 'us-east-1', credentials: server.credentials });
    const raw = new S3Client({ endpoint: server.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: server.credentials });
    const key = (digest: string) => `team-a/sha256/${digest.slice(0, 2)}/${digest}`;
    return {
      store,
      tamper: async (digest, bytes) => { await raw.send(new PutObjectCommand({ Bucket: 'artifacts', Key: key(digest), Body: bytes })); },
      // an interrupted S3 upload leaves no object (PUT is atomic); an abandoned multipart upload is invisible too
      crashMidWrite: async (digest) => { await raw.send(new CreateMultipartUploadCommand({ Bucket: 'artifacts', Key: key(digest) })); },
      close: async () => { store.close(); raw.destroy(); await server.stop(); },
    };
  }],
];

for (const [name, open] of backends) {
  describe(`artifact store on ${name}`, () => {
    let t: StoreUnderTest;
    before(async () => { t = await open(); });
    after(() => t.close());

    it('addresses content by sha256 and stores it once, even when written concurrently', async () => {
      const bytes = Buffer.from('model bytes');
      const digests = await Promise.all(Array.from({ length: 5 }, () => t.store.put(bytes)));
      assert.deepEqual(new Set(digests), new Set([sha256Hex(bytes)]));
      assert.deepEqual(await t.store.get(digests[0]), bytes);
      assert.equal(await t.store.has(digests[0]), true);
      assert.equal(await t.store.has('f'.repeat(64)), false);
      const large = Buffer.alloc(6 * 1024 * 1024, 7);
      assert.deepEqual(await t.store.get(await t.store.put(large)), large);
    });

    it('refuses corrupted or absent artifacts', async () => {
      const digest = await t.store.put(Buffer.from('original'));
      await t.tamper(digest, Buffer.from('tampered'));
      await assert.rejects(t.store.get(digest), (e: Error) => e instanceof ArtifactError && /corrupted/.test(e.message));
      await assert.rejects(t.store.get('0'.repeat(64)), (e: Error) => e instanceof ArtifactError && /not found/.test(e.message));
      await assert.rejects(t.store.get('../../etc/passwd'), /not a sha256 digest/);
    });

    it('when a writer died half-way, then nothing is visible and the next write succeeds', async () => {
      const bytes = Buffer.from('the whole model, written after a crash');
      const digest = sha256Hex(bytes);
      await t.crashMidWrite(digest, bytes.subarray(0, 10));
      assert.equal(await t.store.has(digest), false, 'a half-written artifact is not visible');
      await assert.rejects(t.store.get(digest), /not found/);
      assert.equal(await t.store.put(bytes), digest);
      assert.deepEqual(await t.store.get(digest), bytes);
    });
  });
}
