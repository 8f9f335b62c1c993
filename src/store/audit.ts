/**
 * The audit log, append-only and hash-chained. Each entry stores the hash of the entry before it
 * (`prev_hash`) and its own `hash` = SHA-256 of that previous hash and the canonical JSON (RFC 8785:
 * keys sorted, so jsonb's reordering does not matter) of the entry (id, actor, action, subject, details,
 * at). Changing an entry's content, deleting an entry from the middle or reordering entries breaks the
 * chain at a place `verifyAuditChain` names.
 *
 * Writers (API replicas, workers) race without locks: a unique index on `prev_hash` lets one entry follow
 * each hash, so two writers that read the same end of the chain cannot both link to it; the loser reads
 * the new end and tries again (see appendAudit).
 *
 * Entries written before the chain existed (no hash) are counted as "unchained" and skipped; the first
 * chained entry links to the genesis value. An entry without a hash after the chain began is a break.
 *
 * What the chain cannot show on its own: entries cut off at the end, or a whole chain recomputed by
 * someone who can write to the database. Recording the head hash (`verifyAuditChain().head`) somewhere
 * else, now and then, closes that gap (see docs/governance.md).
 */
import { createHash } from 'node:crypto';
import { Pool } from 'pg';
import { canonicalJson } from '../canonical-json';

/** prev_hash of the first chained entry. */
export const AUDIT_GENESIS = '0'.repeat(64);

export interface NewAuditEvent {
  /** Natural key: a retried activity records its event once. */
  key?: string;
  actor: string;
  action: string;
  subject: string;
  details?: unknown;
}

export interface AuditEntry {
  id: number;
  at: string;
  key: string | null;
  actor: string;
  action: string;
  subject: string;
  details: unknown;
  prevHash: string | null;
  hash: string | null;
}

export interface AuditVerification {
  ok: boolean;
  /** Entries examined (all of them when ok; up to and including the broken one otherwise). */
  entries: number;
  /** Entries written before the chain existed, skipped. */
  unchained: number;
  /** The last chained entry examined: record its hash elsewhere to notice a truncated or rewritten log later. */
  head?: { id: number; hash: string };
  firstBroken?: { id: number; reason: string };
}

/** The hash of an entry, given the hash of the one before it. `at` is ISO 8601 in UTC with milliseconds. */
export function auditEntryHash(prevHash: string, e: { id: number; actor: string; action: string; subject: string; details: unknown; at: string }): string {
  const body = canonicalJson({ id: e.id, actor: e.actor, action: e.action, subject: e.subject, details: e.details, at: e.at });
  return createHash('sha256').update(prevHash).update('\n').update(body).digest('hex');
}

/**
 * Appends an event to the chain, once per key. No transaction: the entry names the hash it follows,
 * and a unique index on `prev_hash` lets only one entry follow each hash, so of two writers racing for
 * the same place one wins and the other reads the new end and tries again (with a fresh id, keeping id
 * order and chain order the same). Explicit transactions are avoided on purpose: the embedded store's
 * socket server shares one session between connections, where a transaction is a hazard to everyone.
 */
export async function appendAudit(pool: Pool, e: NewAuditEvent): Promise<void> {
  // what jsonb will give back: undefined members gone, dates as strings; the hash covers exactly that
  const details = JSON.parse(JSON.stringify(e.details ?? {})) as unknown;
  for (let attempt = 1; ; attempt++) {
    if (e.key !== undefined) {
      const { rows } = await pool.query('SELECT 1 FROM audit_events WHERE event_key = $1', [e.key]);
      if (rows.length > 0) return;
    }
    const { rows: [next] } = await pool.query<{ id: number; at: Date; prev: string | null }>(
      `SELECT nextval(pg_get_serial_sequence('audit_events', 'id'))::bigint AS id,
              date_trunc('milliseconds', now()) AS at,
              (SELECT hash FROM audit_events WHERE hash IS NOT NULL ORDER BY id DESC LIMIT 1) AS prev`,
    );
    // the time is cut to milliseconds so that what is hashed survives the round trip through a JS Date
    const at = new Date(next.at).toISOString();
    const prevHash = next.prev ?? AUDIT_GENESIS;
    const hash = auditEntryHash(prevHash, { id: Number(next.id), actor: e.actor, action: e.action, subject: e.subject, details, at });
    try {
      await pool.query(
        `INSERT INTO audit_events (id, event_key, at, actor, action, subject, details, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (event_key) DO NOTHING`,
        [next.id, e.key ?? null, at, e.actor, e.action, e.subject, JSON.stringify(details), prevHash, hash],
      );
      return;
    } catch (err) {
      // another entry took this place in the chain first: follow it instead
      const lost = (err as { code?: string; constraint?: string }).code === '23505' && /prev/.test(String((err as { constraint?: string }).constraint ?? (err as Error).message));
      if (!lost || attempt >= 100) throw err;
    }
  }
}

function toEntry(r: any): AuditEntry {
  return {
    id: Number(r.id), at: new Date(r.at).toISOString(), key: r.event_key, actor: r.actor, action: r.action, subject: r.subject,
    details: r.details, prevHash: r.prev_hash, hash: r.hash,
  };
}

/** Newest first, optionally only one action or subject, and only entries older than `before` (an id: paging). */
export async function listAudit(pool: Pool, o: { limit?: number; action?: string; subject?: string; before?: number } = {}): Promise<AuditEntry[]> {
  const { rows } = await pool.query(
    `SELECT * FROM audit_events
      WHERE ($1::text IS NULL OR action = $1) AND ($2::text IS NULL OR subject = $2) AND ($3::bigint IS NULL OR id < $3)
      ORDER BY id DESC LIMIT $4`,
    [o.action ?? null, o.subject ?? null, o.before ?? null, o.limit ?? 100],
  );
  return rows.map(toEntry);
}

/** Recomputes the chain from the first entry, in pages, and names the first entry that breaks it. */
export async function verifyAuditChain(pool: Pool, o: { pageSize?: number } = {}): Promise<AuditVerification> {
  const pageSize = o.pageSize ?? 5000;
  let entries = 0;
  let unchained = 0;
  let prev: string | undefined; // undefined until the first chained entry
  let head: AuditVerification['head'];
  let after = -1;
  for (;;) {
    const { rows } = await pool.query('SELECT * FROM audit_events WHERE id > $1 ORDER BY id LIMIT $2', [after, pageSize]);
    for (const r of rows) {
      const e = toEntry(r);
      entries++;
      after = e.id;
      const broken = (reason: string): AuditVerification => ({ ok: false, entries, unchained, ...(head ? { head } : {}), firstBroken: { id: e.id, reason } });
      if (e.hash === null && e.prevHash === null) {
        if (prev === undefined) { unchained++; continue; }
        return broken('the entry has no hash although the chain had begun before it (written around the chain, or its hash removed)');
      }
      const expected = prev ?? AUDIT_GENESIS;
      if (e.prevHash !== expected) {
        return broken(prev === undefined
          ? 'the first chained entry does not start from the genesis value (entries before it were deleted)'
          : 'its prev_hash is not the hash of the entry before it (an entry before it was deleted, or entries were reordered)');
      }
      if (e.hash !== auditEntryHash(expected, e)) return broken('its content does not match its hash (changed after it was written)');
      prev = e.hash!;
      head = { id: e.id, hash: e.hash! };
    }
    if (rows.length < pageSize) break;
  }
  return { ok: true, entries, unchained, ...(head ? { head } : {}) };
}
