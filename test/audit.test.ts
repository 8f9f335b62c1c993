import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Pool } from 'pg';
import { canonicalJson } from '../src/canonical-json';
import { AUDIT_GENESIS, auditEntryHash, listAudit, verifyAuditChain } from '../src/store/audit';
import { createPool } from '../src/store/db';
import { recordAudit } from '../src/store/registry';
import { availableBackends, createTestDatabase, TestDatabase } from './helpers/database';

/** Runs statements with the append-only trigger off, as someone with the database's owner rights could. */
async function tamper(pool: Pool, ...statements: string[]): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_change');
    for (const sql of statements) await client.query(sql);
    await client.query('ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_change');
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

async function ids(pool: Pool): Promise<number[]> {
  return (await pool.query('SELECT id FROM audit_events ORDER BY id')).rows.map((r) => Number(r.id));
}

describe('audit chain: canonical form', () => {
  it('serialises objects with sorted keys at every level, without undefined members', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [2, { z: null, y: 'x' }], c: undefined } }), '{"a":{"d":[2,{"y":"x","z":null}]},"b":1}');
    assert.equal(canonicalJson('x'), '"x"');
    assert.equal(canonicalJson(null), 'null');
  });

  it('hashes the previous hash with the entry: any field changes it', () => {
    const e = { id: 1, actor: 'a', action: 'x', subject: 's', details: { k: 1 }, at: '2024-01-01T00:00:00.000Z' };
    const h = auditEntryHash(AUDIT_GENESIS, e);
    assert.match(h, /^[0-9a-f]{64}$/);
    assert.equal(auditEntryHash(AUDIT_GENESIS, { ...e, details: { k: 1 } }), h, 'deterministic');
    for (const changed of [{ id: 2 }, { actor: 'b' }, { action: 'y' }, { subject: 't' }, { details: { k: 2 } }, { at: '2024-01-01T00:00:00.001Z' }]) {
      assert.notEqual(auditEntryHash(AUDIT_GENESIS, { ...e, ...changed }), h, JSON.stringify(changed));
    }
    assert.notEqual(auditEntryHash('1'.repeat(64), e), h);
  });
});

for (const backend of availableBackends()) {
  describe(`audit chain on ${backend}`, () => {
    let db: TestDatabase;
    before(async () => { db = await createTestDatabase(backend); });
    after(() => db.close());

    it('an empty log verifies', async () => {
      assert.deepEqual(await verifyAuditChain(db.pool), { ok: true, entries: 0, unchained: 0 });
    });

    it('links each entry to the one before, from the genesis value, and records a retried key once', async () => {
      await recordAudit(db.pool, { key: 'run-1:register', actor: 'system', action: 'model.registered', subject: 'm@1', details: { runId: 'run-1', when: new Date('2024-01-01T00:00:00Z'), skip: undefined } });
      await recordAudit(db.pool, { key: 'run-1:register', actor: 'system', action: 'model.registered', subject: 'm@1', details: { runId: 'run-1' } });
      await recordAudit(db.pool, { actor: 'alice', action: 'model.approved', subject: 'm@1', details: { comment: 'ok', nested: { b: 2, a: [1, 1.5, 'x'] } } });
      const entries = (await listAudit(db.pool)).reverse();
      assert.equal(entries.length, 2);
      assert.equal(entries[0].prevHash, AUDIT_GENESIS);
      assert.equal(entries[1].prevHash, entries[0].hash);
      assert.deepEqual(entries[0].details, { runId: 'run-1', when: '2024-01-01T00:00:00.000Z' });
      const result = await verifyAuditChain(db.pool);
      assert.deepEqual(result, { ok: true, entries: 2, unchained: 0, head: { id: entries[1].id, hash: entries[1].hash } });
    });

    it('lists newest first, by action or subject, with paging', async () => {
      await recordAudit(db.pool, { actor: 'bob', action: 'model.rejected', subject: 'other@1' });
      const all = await listAudit(db.pool);
      assert.deepEqual(all.map((e) => e.action), ['model.rejected', 'model.approved', 'model.registered']);
      assert.deepEqual((await listAudit(db.pool, { action: 'model.approved' })).map((e) => e.actor), ['alice']);
      assert.deepEqual((await listAudit(db.pool, { subject: 'other@1' })).map((e) => e.actor), ['bob']);
      assert.deepEqual((await listAudit(db.pool, { limit: 1, before: all[0].id })).map((e) => e.action), ['model.approved']);
      assert.deepEqual(await listAudit(db.pool, { action: 'no.such.action' }), []);
    });

    it('50 concurrent writers from several pools leave one unbroken chain', async () => {
      // two pools: two "processes", each with several connections racing for the tail of the chain
      const other = createPool(db.url, 5);
      try {
        const before = (await ids(db.pool)).length;
        await Promise.all(Array.from({ length: 50 }, (_, i) => recordAudit(i % 2 ? db.pool : other, { key: `race-${i % 45}`, actor: `w${i}`, action: 'race', subject: String(i), details: { i } })));
        const result = await verifyAuditChain(db.pool);
        assert.equal(result.ok, true, JSON.stringify(result.firstBroken));
        assert.equal(result.entries, before + 45, 'five keys were retried and recorded once');
        const hashes = (await db.pool.query('SELECT prev_hash FROM audit_events')).rows.map((r) => r.prev_hash);
        assert.equal(new Set(hashes).size, hashes.length, 'no two entries link to the same predecessor: no fork');
      } finally {
        await other.end();
      }
    });

    it('the database refuses changes and deletions of entries', async () => {
      await assert.rejects(db.pool.query("UPDATE audit_events SET actor = 'mallory'"), /append-only/);
      await assert.rejects(db.pool.query('DELETE FROM audit_events'), /append-only/);
      await assert.rejects(db.pool.query('TRUNCATE audit_events'), /append-only/);
      assert.equal((await verifyAuditChain(db.pool)).ok, true);
    });

    it('pages through a long chain', async () => {
      const result = await verifyAuditChain(db.pool, { pageSize: 7 });
      assert.equal(result.ok, true);
      assert.equal(result.entries, (await ids(db.pool)).length);
    });
  });

  describe(`audit chain tampering on ${backend}`, () => {
    let db: TestDatabase;
    let entries: number[];
    beforeEachFresh();

    function beforeEachFresh() {
      before(async () => { db = await createTestDatabase(backend); });
      after(() => db.close());
    }

    async function fresh(): Promise<void> {
      await tamper(db.pool, 'DELETE FROM audit_events');
      for (let i = 0; i < 6; i++) await recordAudit(db.pool, { actor: 'a', action: 'step', subject: `s${i}`, details: { i } });
      entries = await ids(db.pool);
      assert.equal((await verifyAuditChain(db.pool)).ok, true);
    }

    it('changed details: named at the changed entry', async () => {
      await fresh();
      await tamper(db.pool, `UPDATE audit_events SET details = '{"i": 99}' WHERE id = ${entries[2]}`);
      const result = await verifyAuditChain(db.pool);
      assert.equal(result.ok, false);
      assert.equal(result.firstBroken?.id, entries[2]);
      assert.match(result.firstBroken!.reason, /content does not match/);
      assert.equal(result.entries, 3);
      assert.equal(result.head?.id, entries[1], 'the last entry that still verified');
    });

    it('changed actor or time: named at the changed entry', async () => {
      await fresh();
      await tamper(db.pool, `UPDATE audit_events SET at = at + interval '1 millisecond' WHERE id = ${entries[4]}`);
      assert.equal((await verifyAuditChain(db.pool)).firstBroken?.id, entries[4]);
      await fresh();
      await tamper(db.pool, `UPDATE audit_events SET actor = 'mallory' WHERE id = ${entries[0]}`);
      assert.equal((await verifyAuditChain(db.pool)).firstBroken?.id, entries[0]);
    });

    it('a deleted middle entry: named at the entry after the gap', async () => {
      await fresh();
      await tamper(db.pool, `DELETE FROM audit_events WHERE id = ${entries[3]}`);
      const result = await verifyAuditChain(db.pool);
      assert.equal(result.firstBroken?.id, entries[4]);
      assert.match(result.firstBroken!.reason, /prev_hash/);
    });

    it('a deleted first entry: the next one no longer starts from the genesis value', async () => {
      await fresh();
      await tamper(db.pool, `DELETE FROM audit_events WHERE id = ${entries[0]}`);
      const result = await verifyAuditChain(db.pool);
      assert.equal(result.firstBroken?.id, entries[1]);
      assert.match(result.firstBroken!.reason, /genesis/);
    });

    it('two entries swapped: named at the first of them', async () => {
      await fresh();
      const [a, b] = [entries[1], entries[2]];
      await tamper(db.pool,
        `UPDATE audit_events SET id = -1 WHERE id = ${a}`,
        `UPDATE audit_events SET id = ${a} WHERE id = ${b}`,
        `UPDATE audit_events SET id = ${b} WHERE id = -1`);
      const result = await verifyAuditChain(db.pool);
      assert.equal(result.firstBroken?.id, a);
    });

    it('a recomputed hash on a changed entry still breaks the link of the next one', async () => {
      await fresh();
      const row = (await db.pool.query('SELECT * FROM audit_events WHERE id = $1', [entries[2]])).rows[0];
      const forged = auditEntryHash(row.prev_hash, { id: entries[2], actor: 'mallory', action: row.action, subject: row.subject, details: row.details, at: new Date(row.at).toISOString() });
      await tamper(db.pool, `UPDATE audit_events SET actor = 'mallory', hash = '${forged}' WHERE id = ${entries[2]}`);
      const result = await verifyAuditChain(db.pool);
      assert.equal(result.firstBroken?.id, entries[3]);
    });

    it('entries from before the chain are unchained, not broken; a hashless entry inside the chain is', async () => {
      await tamper(db.pool, 'DELETE FROM audit_events');
      // as written by the code before the chain existed
      await db.pool.query("INSERT INTO audit_events (actor, action, subject) VALUES ('old', 'legacy', 'x'), ('old', 'legacy', 'y')");
      for (let i = 0; i < 3; i++) await recordAudit(db.pool, { actor: 'a', action: 'step', subject: `s${i}` });
      const list = (await listAudit(db.pool)).reverse();
      assert.equal(list[2].prevHash, AUDIT_GENESIS, 'the first chained entry starts from the genesis value');
      assert.deepEqual(await verifyAuditChain(db.pool), { ok: true, entries: 5, unchained: 2, head: { id: list[4].id, hash: list[4].hash } });
      await db.pool.query("INSERT INTO audit_events (actor, action, subject) VALUES ('old', 'legacy', 'late')");
      const result = await verifyAuditChain(db.pool);
      assert.equal(result.ok, false);
      assert.match(result.firstBroken!.reason, /no hash/);
    });
  });
}
