/**
 * The alert outbox as stored: one row per alert (what it says, its state, each channel's outcome) and one
 * dedup slot per dedup key. State changes are compare-and-set on the row, so two processes deciding the
 * same alert cannot both send it (src/alerts/alerter.ts holds the rules).
 */
import type { Pool } from 'pg';
import type { Severity } from '../alerts/channel';

export interface AlertBody { summary: string; fields: Array<[string, string | number]>; link?: string; reason?: string }
export interface AlertRow {
  id: string; dedup_key: string; model_name: string | null; severity: Severity; title: string; body: AlertBody;
  state: string; channels: Record<string, string>; created_at: Date; sent_at: Date | null;
}

/** Records a new alert as pending; an id recorded before (a retry) is left as it is. */
export async function insertAlert(pool: Pool, a: { id: string; dedupKey: string; model?: string; severity: Severity; title: string; body: AlertBody; at: Date }): Promise<void> {
  await pool.query(
    `INSERT INTO alerts (id, dedup_key, model_name, severity, title, body, state, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7) ON CONFLICT (id) DO NOTHING`,
    [a.id, a.dedupKey, a.model ?? null, a.severity, a.title, JSON.stringify(a.body), a.at],
  );
}

export async function getAlertRow(pool: Pool, id: string): Promise<AlertRow | undefined> {
  const { rows } = await pool.query<AlertRow>('SELECT * FROM alerts WHERE id = $1', [id]);
  return rows[0];
}

export async function markAlertSent(pool: Pool, id: string): Promise<void> {
  await pool.query(`UPDATE alerts SET state = 'sent' WHERE id = $1`, [id]);
}

/** Ends an alert unsent (suppressed or only recorded), with the reason in its body. */
export async function settleAlert(pool: Pool, id: string, state: string, reason: string): Promise<void> {
  await pool.query(`UPDATE alerts SET state = $2, body = (body - 'reason') || jsonb_build_object('reason', $3::text) WHERE id = $1`, [id, state, reason]);
}

/** Claims the alert for sending if it is still as `row` saw it; false when another attempt changed it first. */
export async function claimAlert(pool: Pool, row: AlertRow, at: Date): Promise<boolean> {
  const claimed = await pool.query(
    `UPDATE alerts SET state = 'sending', sent_at = $2 WHERE id = $1 AND state = $3 AND sent_at IS NOT DISTINCT FROM $4 RETURNING 1`,
    [row.id, at, row.state, row.sent_at],
  );
  return claimed.rowCount === 1;
}

/**
 * Takes the dedup slot of `dedupKey` for the alert, in one statement so two processes cannot both take
 * it: when it is free, already this alert's, or held by an alert last sent before `since`. Returns the
 * alert holding it when the slot is someone else's, else undefined.
 */
export async function takeDedupSlot(pool: Pool, o: { dedupKey: string; id: string; at: Date; since: Date }): Promise<string | undefined> {
  const slot = await pool.query<{ alert_id: string }>(
    `INSERT INTO alert_dedup (dedup_key, alert_id, sent_at) VALUES ($1, $2, $3)
     ON CONFLICT (dedup_key) DO UPDATE SET alert_id = EXCLUDED.alert_id, sent_at = EXCLUDED.sent_at
       WHERE alert_dedup.alert_id = EXCLUDED.alert_id OR alert_dedup.sent_at <= $4
     RETURNING alert_id`,
    [o.dedupKey, o.id, o.at, o.since],
  );
  if (slot.rows.length > 0) return undefined;
  const { rows } = await pool.query<{ id: string }>('SELECT alert_id AS id FROM alert_dedup WHERE dedup_key = $1', [o.dedupKey]);
  return rows[0]?.id;
}

/** Gives up the dedup slot the alert holds. */
export async function releaseDedupSlot(pool: Pool, dedupKey: string, id: string): Promise<void> {
  await pool.query('DELETE FROM alert_dedup WHERE dedup_key = $1 AND alert_id = $2', [dedupKey, id]);
}

/** Alerts of a model (or of none: platform-wide ones share one budget) sent since `since`, other than `id`. */
export async function alertsSentSince(pool: Pool, model: string | null, id: string, since: Date): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM alerts WHERE model_name IS NOT DISTINCT FROM $1 AND id <> $2
       AND state IN ('sent', 'sending') AND sent_at > $3`,
    [model, id, since],
  );
  return rows[0].n;
}

/** Stores the outcome of the attempt that claimed the alert at `claimedAt`; false when another took over. */
export async function storeAlertOutcome(pool: Pool, o: { id: string; state: string; channels: Record<string, string>; sentAt: Date | null; reason?: string; claimedAt: Date }): Promise<boolean> {
  const updated = await pool.query(
    `UPDATE alerts SET state = $2, channels = $3, sent_at = $4,
       body = (body - 'reason') || CASE WHEN $5::text IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('reason', $5::text) END
     WHERE id = $1 AND state = 'sending' AND sent_at = $6`,
    [o.id, o.state, JSON.stringify(o.channels), o.sentAt, o.reason ?? null, o.claimedAt],
  );
  return (updated.rowCount ?? 0) > 0;
}

/** Alerts newest first, optionally of one model. */
export async function listAlertRows(pool: Pool, o: { model?: string; limit: number }): Promise<AlertRow[]> {
  const { rows } = await pool.query<AlertRow>(
    `SELECT * FROM alerts WHERE ($1::text IS NULL OR model_name = $1) ORDER BY created_at DESC, id LIMIT $2`,
    [o.model ?? null, o.limit],
  );
  return rows;
}

/** An open problem: a dedup key an alert reached someone about, not yet resolved. */
export interface ProblemRow { dedup_key: string; model_name: string | null; opened_by: string; opened_at: Date }

/**
 * Marks the alert's problem open (again): a problem resolved earlier and now announced anew is reopened
 * by this alert; one already open keeps the alert that opened it.
 */
export async function openProblem(pool: Pool, o: { dedupKey: string; model: string | null; alertId: string; at: Date }): Promise<void> {
  await pool.query(
    `INSERT INTO alert_problems (dedup_key, model_name, opened_by, opened_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (dedup_key) DO UPDATE SET model_name = EXCLUDED.model_name, opened_by = EXCLUDED.opened_by,
       opened_at = EXCLUDED.opened_at, resolved_by = NULL, resolved_at = NULL
       WHERE alert_problems.resolved_at IS NOT NULL`,
    [o.dedupKey, o.model, o.alertId, o.at],
  );
}

/** Open problems of a model whose dedup key starts with `prefix`, oldest first. */
export async function openProblems(pool: Pool, o: { model: string; prefix: string }): Promise<ProblemRow[]> {
  const { rows } = await pool.query<ProblemRow>(
    `SELECT dedup_key, model_name, opened_by, opened_at FROM alert_problems
     WHERE resolved_at IS NULL AND model_name = $1 AND starts_with(dedup_key, $2) ORDER BY opened_at, dedup_key`,
    [o.model, o.prefix],
  );
  return rows;
}

/**
 * Closes a problem that `openedBy` opened (a problem reopened meanwhile by a newer alert stays open) and
 * frees its dedup slot, so the next occurrence is announced at once instead of as a duplicate.
 */
export async function resolveProblem(pool: Pool, o: { dedupKey: string; openedBy: string; resolvedBy: string; at: Date }): Promise<boolean> {
  const closed = await pool.query(
    `UPDATE alert_problems SET resolved_by = $3, resolved_at = $4 WHERE dedup_key = $1 AND opened_by = $2 AND resolved_at IS NULL`,
    [o.dedupKey, o.openedBy, o.resolvedBy, o.at],
  );
  if ((closed.rowCount ?? 0) === 0) return false;
  await pool.query('DELETE FROM alert_dedup WHERE dedup_key = $1', [o.dedupKey]);
  return true;
}
