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
import { MIGRATION_VERSIONS, migrate } from '../src/store/migrations';
import * as registry from '../src/store/registry';
import { GOVERNANCE_STATUSES, GOVERNANCE_TRANSITIONS, GovernanceStatus } from '../src/domain/model-version';
import { availableBackends, createTestDatabase, TestDatabase } from './helpers/database';
import { startS3Server } from './helpers/s3';

const signature = { features: ['a'], classes: ['no', 'yes'], input: 'features', output: 'probabilities' };
const metrics = { auc: 0.9 };

for (const backend of availableBackends()) {
  describe(`metadata store on ${backend}`, () => {
    let db: TestDatabase;
    before(async () => {
      db = await createTestDatabase(backend);
      await saveDataset(db.pool, { id: 'd'.repeat(64), sourceUri: 'x.csv', sourceKind: 'file', rowCount: 3, columns: [{ name: 'a', type: 'number' }], byteSize: 10, storage: { format: 'csv', digest: 'd'.repeat(64) }, statistics: [] });
    });
    after(() => db.close());

    const newVersion = (runId: string, model = 'm') => ({ modelName: model, runId, onnxDigest: 'a'.repeat(64), signature, metrics, params: {}, datasetId: 'd'.repeat(64) });

    it('carries versions written before governance and deployment were apart over to the new model', async () => {
      const old = await createTestDatabase(backend, { migrate: false });
      try {
        await migrate(old.pool, { upTo: 13 });
        // a dataset row as that schema held it (no storage columns yet)
        await old.pool.query(`INSERT INTO datasets (id, source_uri, source_kind, row_count, columns, byte_size, statistics) VALUES ($1, 'x.csv', 'file', 3, '[{"name":"a","type":"number"}]', 10, '[]')`, ['d'.repeat(64)]);
        await old.pool.query("INSERT INTO registered_models (name, last_version) VALUES ('legacy', 4)");
        const params = { l2: 0.1, smokeDigest: 'a'.repeat(64), referenceDigest: 'b'.repeat(64), evaluationDigest: 'c'.repeat(64), training: { l2: 0.1, seed: 1 }, pipeline: { model: 'legacy', target: 'y' }, trigger: { kind: 'drift', reason: 'psi' } };
        for (const [version, status] of [[1, 'archived'], [2, 'deployed'], [3, 'rejected'], [4, 'pending_approval']] as const) {
          await old.pool.query(
            `INSERT INTO model_versions (model_name, version, run_id, onnx_digest, signature, metrics, params, dataset_id, status) VALUES ('legacy', $1, $2, $3, $4, '{}', $5, $6, $7)`,
            [version, `run-${version}`, 'e'.repeat(64), JSON.stringify(signature), JSON.stringify(version === 2 ? params : { l2: 0.1 }), 'd'.repeat(64), status],
          );
        }
        await old.pool.query("INSERT INTO deployments (deploy_key, model_name, version, strategy) VALUES ('k1', 'legacy', 1, 'direct'), ('k2', 'legacy', 2, 'direct')");
        await old.pool.query("INSERT INTO model_aliases (model_name, alias, version) VALUES ('legacy', 'production', 2)");
        assert.deepEqual(await migrate(old.pool), MIGRATION_VERSIONS.filter((v) => v >= 14));
        const versions = await registry.listVersions(old.pool, 'legacy');
        assert.deepEqual(versions.map((v) => [v.status, v.deployment]), [['approved', 'retired'], ['approved', 'production'], ['rejected', 'none'], ['pending_approval', 'none']]);
        const served = versions[1];
        assert.deepEqual(served.params, { l2: 0.1 }, 'only the model settings stay in params');
        assert.deepEqual(served.artifacts, { onnx: 'e'.repeat(64), smokeSet: 'a'.repeat(64), referenceProfile: 'b'.repeat(64), evaluation: 'c'.repeat(64) });
        assert.deepEqual([served.recipe, served.pipelineInput, served.trigger], [params.training, params.pipeline, params.trigger]);
        assert.deepEqual(versions[0].artifacts, { onnx: 'e'.repeat(64), smokeSet: null, referenceProfile: null, evaluation: null });
      } finally {
        await old.close();
      }
    });

    it('applies migrations once: a second run changes nothing', async () => {
      assert.deepEqual(await migrate(db.pool), []);
      const { rows } = await db.pool.query('SELECT version FROM schema_migrations');
      assert.deepEqual(rows.map((r) => r.version).sort((a, b) => a - b), [...MIGRATION_VERSIONS]);
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

    it('deploys only approved versions, once per deploy key; production is derived, governance status stays', async () => {
      await assert.rejects(registry.deployVersion(db.pool, 'm', 1, 'run-1:deploy'), /only approved versions/);
      await registry.transitionVersion(db.pool, 'm', 1, 'approved');
      const d1 = await registry.deployVersion(db.pool, 'm', 1, 'run-1:deploy');
      const d1again = await registry.deployVersion(db.pool, 'm', 1, 'run-1:deploy');
      assert.equal(d1.id, d1again.id);
      assert.equal(d1.previousVersion, null);
      await registry.transitionVersion(db.pool, 'm', 2, 'approved');
      const d2 = await registry.deployVersion(db.pool, 'm', 2, 'run-2:deploy');
      assert.equal(d2.previousVersion, 1);
      assert.equal((await registry.getAliasVersion(db.pool, 'm', 'production'))?.version, 2);
      const [one, two] = [await registry.getVersion(db.pool, 'm', 1), await registry.getVersion(db.pool, 'm', 2)];
      assert.deepEqual([one?.status, one?.deployment], ['approved', 'retired']);
      assert.deepEqual([two?.status, two?.deployment], ['approved', 'production']);
      assert.equal((await registry.listDeployments(db.pool, 'm')).length, 2);
      // a late retry of the first deployment must not move production back
      await registry.deployVersion(db.pool, 'm', 1, 'run-1:deploy').catch(() => undefined);
      assert.equal((await registry.getAliasVersion(db.pool, 'm', 'production'))?.version, 2);
    });

    it('records every status change with who and why, in order', async () => {
      const history = await registry.listVersionEvents(db.pool, 'm', 1);
      assert.deepEqual(history.map((e) => [e.event, e.fromStatus, e.toStatus]), [
        ['registered', null, 'pending_approval'], ['approved', 'pending_approval', 'approved'], ['deployed', null, null], ['retired', null, null],
      ]);
      assert.equal(history[2].alias, 'production');
    });

    it('rolls production back to the version before, once per key, and not past the first', async () => {
      for (const run of ['rb-1', 'rb-2', 'rb-3']) {
        const v = await registry.registerVersion(db.pool, newVersion(run, 'rb'));
        await registry.transitionVersion(db.pool, 'rb', v.version, 'approved', { actor: 'alice', reason: 'looks good' });
      }
      await assert.rejects(registry.rollbackProduction(db.pool, 'rb', 'rb:rollback-0'), (e: registry.RegistryError) => e.code === 'conflict' && /no production version/.test(e.message));
      await registry.deployVersion(db.pool, 'rb', 1, 'rb-1:deploy');
      await assert.rejects(registry.rollbackProduction(db.pool, 'rb', 'rb:rollback-0'), /first production version: there is nothing to roll back to/);
      await registry.deployVersion(db.pool, 'rb', 2, 'rb-2:deploy');
      const back = await registry.rollbackProduction(db.pool, 'rb', 'rb:rollback-1', { actor: 'bob', reason: 'error rate up' });
      assert.deepEqual([back.version, back.previousVersion, back.strategy, back.actor, back.reason], [1, 2, 'rollback', 'bob', 'error rate up']);
      assert.equal((await registry.rollbackProduction(db.pool, 'rb', 'rb:rollback-1')).id, back.id, 'a retried rollback changes nothing');
      assert.equal((await registry.getAliasVersion(db.pool, 'rb', 'production'))?.version, 1);
      assert.deepEqual([(await registry.getVersion(db.pool, 'rb', 1))?.deployment, (await registry.getVersion(db.pool, 'rb', 2))?.deployment], ['production', 'retired']);
      const last = (await registry.listVersionEvents(db.pool, 'rb', 1)).at(-1)!;
      assert.deepEqual([last.event, last.alias, last.actor, last.reason], ['deployed', 'production', 'bob', 'error rate up']);
      // an explicit target must have been approved
      const rejected = await registry.registerVersion(db.pool, newVersion('rb-4', 'rb'));
      await registry.transitionVersion(db.pool, 'rb', rejected.version, 'rejected', { actor: 'carol', reason: 'drifted' });
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
      await registry.transitionVersion(db.pool, 'r', v.version, 'rejected');
      await registry.transitionVersion(db.pool, 'r', v.version, 'rejected'); // a retried decision changes nothing
      await assert.rejects(registry.transitionVersion(db.pool, 'r', v.version, 'approved'), (e: registry.RegistryError) => e.code === 'conflict' && /is rejected: it may move only to archived, not to approved/.test(e.message));
      assert.equal((await registry.getVersion(db.pool, 'r', v.version))?.status, 'rejected');
    });

    it('moves governance status only along the transition table, in the store and in the database alike', async () => {
      // the database holds the same edges as the domain's table
      const { rows } = await db.pool.query('SELECT from_status, to_status FROM model_version_transitions ORDER BY 1, 2');
      const edges = Object.entries(GOVERNANCE_TRANSITIONS).flatMap(([from, tos]) => tos.map((to) => [from, to])).sort((a, b) => a.join().localeCompare(b.join()));
      assert.deepEqual(rows.map((r) => [r.from_status, r.to_status]), edges);
      // every pair of statuses: the store allows exactly the table's edges
      for (const from of GOVERNANCE_STATUSES) {
        for (const to of GOVERNANCE_STATUSES.filter((s) => s !== from)) {
          const v = await registry.registerVersion(db.pool, newVersion(`edge-${from}-${to}`, 'edges'));
          const path: Record<string, string[]> = { pending_approval: [], approved: ['approved'], rejected: ['rejected'], archived: ['approved', 'archived'] };
          for (const step of path[from]) await registry.transitionVersion(db.pool, 'edges', v.version, step as GovernanceStatus);
          const move = registry.transitionVersion(db.pool, 'edges', v.version, to);
          if (GOVERNANCE_TRANSITIONS[from].includes(to)) assert.equal((await move).status, to, `${from} -> ${to}`);
          else await assert.rejects(move, (e: registry.RegistryError) => e.code === 'conflict', `${from} -> ${to} must be refused`);
        }
      }
      // a hand-written UPDATE that skips the approval is refused by the database itself
      const skipped = await registry.registerVersion(db.pool, newVersion('edge-raw', 'edges'));
      await assert.rejects(db.pool.query("UPDATE model_versions SET status = 'archived' WHERE model_name = 'edges' AND version = $1", [skipped.version]), /may not move from pending_approval to archived/);
      const approvedRaw = await registry.registerVersion(db.pool, newVersion('edge-raw-2', 'edges'));
      await registry.transitionVersion(db.pool, 'edges', approvedRaw.version, 'approved');
      await assert.rejects(db.pool.query("UPDATE model_versions SET status = 'pending_approval' WHERE model_name = 'edges' AND version = $1", [approvedRaw.version]), /may not move from approved to pending_approval/);
      assert.equal((await registry.getVersion(db.pool, 'edges', approvedRaw.version))?.status, 'approved');
    });

    it('archives a version only when it does not serve, and never deploys an archived one', async () => {
      const [a, b] = [await registry.registerVersion(db.pool, newVersion('arc-1', 'arc')), await registry.registerVersion(db.pool, newVersion('arc-2', 'arc'))];
      for (const v of [a, b]) await registry.transitionVersion(db.pool, 'arc', v.version, 'approved');
      await registry.deployVersion(db.pool, 'arc', a.version, 'arc-1:deploy');
      await assert.rejects(registry.transitionVersion(db.pool, 'arc', a.version, 'archived'), /is in production; deploy or roll back to another version before archiving it/);
      await registry.deployVersion(db.pool, 'arc', b.version, 'arc-2:deploy');
      const archived = await registry.transitionVersion(db.pool, 'arc', a.version, 'archived', { actor: 'alice', reason: 'superseded' });
      assert.deepEqual([archived.status, archived.deployment], ['archived', 'retired']);
      await assert.rejects(registry.rollbackProduction(db.pool, 'arc', 'arc:rollback'), /is archived; only approved versions/);
      assert.equal((await registry.getAliasVersion(db.pool, 'arc', 'production'))?.version, b.version, 'production did not move');
      const last = (await registry.listVersionEvents(db.pool, 'arc', a.version)).at(-1)!;
      assert.deepEqual([last.event, last.fromStatus, last.toStatus, last.actor, last.reason], ['archived', 'approved', 'archived', 'alice', 'superseded']);
    });

    it('keeps a version\'s files, recipe and request in typed fields', async () => {
      const digest = (c: string) => c.repeat(64);
      const v = await registry.registerVersion(db.pool, {
        ...newVersion('typed-1', 'typed'), artifacts: { smokeSet: digest('a'), referenceProfile: digest('b'), evaluation: digest('c') },
        recipe: { datasetId: digest('d'), target: 'y', features: ['x'], seed: 7, l2: 0.01 }, pipelineInput: { model: 'typed', data: { dataset: digest('d') }, target: 'y' },
        trigger: { kind: 'drift', reason: 'psi 0.4' },
      });
      const read = (await registry.getVersion(db.pool, 'typed', v.version))!;
      assert.deepEqual(read.artifacts, { onnx: read.onnxDigest, smokeSet: digest('a'), referenceProfile: digest('b'), evaluation: digest('c') });
      assert.equal(read.recipe?.l2, 0.01);
      assert.deepEqual(read.pipelineInput?.data, { dataset: digest('d') });
      assert.equal(read.trigger?.kind, 'drift');
      assert.equal((await registry.getServableVersion(db.pool, 'typed', v.version))?.smokeDigest, digest('a'));
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

describe('artifact files handed to readers (a content-addressed folder)', () => {
  it('hashes a file once while it stays as it was, and refuses it once its bytes change, even with its size and times put back', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-artifacts-'));
    try {
      const store = new LocalArtifactStore(root);
      const digest = await store.put(Buffer.from('dataset version bytes'));
      const file = await store.getFile(digest);
      assert.equal(await store.getFile(digest), file, 'unchanged: handed out again');
      // the attack: same length, different bytes, the old modification time restored
      const before = fs.statSync(file);
      fs.chmodSync(file, 0o644);
      fs.writeFileSync(file, 'dataset version BYTES');
      fs.utimesSync(file, before.atime, before.mtime);
      assert.equal(fs.statSync(file).size, before.size);
      await assert.rejects(store.getFile(digest), (e: Error) => e instanceof ArtifactError && /corrupted/.test(e.message));
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
