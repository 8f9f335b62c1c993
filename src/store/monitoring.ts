/**
 * Monitoring state: each model's monitor settings, the results of its checks, the watermark of its
 * training source, and the claim that lets one retraining run at a time.
 */
import { Pool } from 'pg';
import type { DriftResult, DriftSettings } from '../ml/reference-profile';
import type { RetrainTrigger } from '../workflows/definitions';

export interface MonitorConfig {
  /** Traffic the check looks at: the last this many minutes. */
  windowMinutes: number;
  /** Fewer logged predictions than this in the window: no drift verdict (too little to judge). */
  minRows: number;
  drift: Partial<DriftSettings>;
  /** Quality over labelled feedback: a breach when accuracy falls more than maxDrop below the evaluation's (or under minAccuracy). */
  quality: { maxDrop: number; minAccuracy?: number; minLabelled: number };
  /** Serving health over the window. */
  serving: { maxErrorRate: number };
  /** Which breaches start retraining, and how long after one retraining the next may start. */
  retrain: { onDrift: boolean; onQuality: boolean; onNewData: boolean; cooldownMinutes: number };
}

export const DEFAULT_MONITOR_CONFIG: MonitorConfig = {
  windowMinutes: 60,
  minRows: 100,
  drift: {},
  quality: { maxDrop: 0.05, minLabelled: 50 },
  serving: { maxErrorRate: 0.05 },
  retrain: { onDrift: true, onQuality: true, onNewData: true, cooldownMinutes: 360 },
};

/** Settings merged over the defaults, one level deep. */
export function mergeMonitorConfig(base: MonitorConfig, patch: DeepPartial<MonitorConfig>): MonitorConfig {
  return {
    windowMinutes: patch.windowMinutes ?? base.windowMinutes,
    minRows: patch.minRows ?? base.minRows,
    drift: { ...base.drift, ...patch.drift },
    quality: { ...base.quality, ...patch.quality },
    serving: { ...base.serving, ...patch.serving },
    retrain: { ...base.retrain, ...patch.retrain },
  };
}

export type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? Partial<T[K]> : T[K] };

export async function getMonitorConfig(pool: Pool, model: string): Promise<MonitorConfig> {
  const { rows } = await pool.query('SELECT config FROM monitors WHERE model_name = $1', [model]);
  return mergeMonitorConfig(DEFAULT_MONITOR_CONFIG, (rows[0]?.config ?? {}) as DeepPartial<MonitorConfig>);
}

/** Stores the model's settings (merged over what is stored) and returns the effective ones. */
export async function updateMonitorConfig(pool: Pool, model: string, patch: DeepPartial<MonitorConfig>): Promise<MonitorConfig> {
  const { rows } = await pool.query('SELECT config FROM monitors WHERE model_name = $1', [model]);
  const stored = mergeMonitorConfig(mergeMonitorConfig(DEFAULT_MONITOR_CONFIG, rows[0]?.config ?? {}), patch);
  await pool.query(
    `INSERT INTO monitors (model_name, config) VALUES ($1, $2)
     ON CONFLICT (model_name) DO UPDATE SET config = EXCLUDED.config, updated_at = now()`,
    [model, JSON.stringify(stored)],
  );
  return stored;
}

export interface QualityWindow {
  labelled: number;
  accuracy?: number;
  precision?: number;
  recall?: number;
  auc?: number;
  /** The evaluation's accuracy, for comparison. */
  baseline?: number;
}

export interface ServingWindow {
  requests: number;
  errors: number;
  errorRate: number;
  p99Ms: number | null;
}

export type Trigger = 'drift' | 'quality' | 'new-data';

export interface Breach {
  kind: Trigger | 'errors';
  message: string;
}

export interface MonitorCheck {
  id: string;
  model: string;
  version: number;
  checkedAt: string;
  window: { from: string; to: string };
  rows: number;
  labelled: number;
  drift: DriftResult | null;
  quality: QualityWindow | null;
  serving: ServingWindow | null;
  breaches: Breach[];
  action: CheckAction | null;
}

/** What a check (or a schedule, or a person) did about retraining, and why it was asked for. */
export type CheckAction =
  | { retraining: 'started'; runId: string; trigger: RetrainTrigger['kind'] }
  | { retraining: 'skipped'; reason: string; trigger: RetrainTrigger['kind'] }
  | { retraining: 'failed'; reason: string; trigger: RetrainTrigger['kind'] };

function toCheck(r: any): MonitorCheck {
  return {
    id: r.id, model: r.model_name, version: r.version, checkedAt: new Date(r.checked_at).toISOString(),
    window: { from: new Date(r.window_from).toISOString(), to: new Date(r.window_to).toISOString() },
    rows: r.rows, labelled: r.labelled, drift: r.drift, quality: r.quality, serving: r.serving, breaches: r.breaches, action: r.action,
  };
}

/** Saves a check's results; a retried check overwrites its own row. */
export async function saveCheck(pool: Pool, c: Omit<MonitorCheck, 'checkedAt' | 'action'>): Promise<void> {
  await pool.query(
    `INSERT INTO monitor_checks (id, model_name, version, window_from, window_to, rows, labelled, drift, quality, serving, breaches)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
     ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, window_from = EXCLUDED.window_from, window_to = EXCLUDED.window_to,
       rows = EXCLUDED.rows, labelled = EXCLUDED.labelled, drift = EXCLUDED.drift, quality = EXCLUDED.quality,
       serving = EXCLUDED.serving, breaches = EXCLUDED.breaches, checked_at = now()`,
    [c.id, c.model, c.version, c.window.from, c.window.to, c.rows, c.labelled, JSON.stringify(c.drift), JSON.stringify(c.quality), JSON.stringify(c.serving), JSON.stringify(c.breaches)],
  );
}

export async function recordCheckAction(pool: Pool, id: string, action: CheckAction): Promise<void> {
  await pool.query('UPDATE monitor_checks SET action = $2 WHERE id = $1', [id, JSON.stringify(action)]);
}

export async function getCheck(pool: Pool, id: string): Promise<MonitorCheck | undefined> {
  const { rows } = await pool.query('SELECT * FROM monitor_checks WHERE id = $1', [id]);
  return rows[0] && toCheck(rows[0]);
}

export async function listChecks(pool: Pool, model: string, limit = 20): Promise<MonitorCheck[]> {
  const { rows } = await pool.query('SELECT * FROM monitor_checks WHERE model_name = $1 ORDER BY checked_at DESC, id LIMIT $2', [model, limit]);
  return rows.map(toCheck);
}

/** The newest check of every model (what /metrics exports). */
export async function latestChecks(pool: Pool): Promise<MonitorCheck[]> {
  const { rows } = await pool.query('SELECT DISTINCT ON (model_name) * FROM monitor_checks ORDER BY model_name, checked_at DESC');
  return rows.map(toCheck);
}

/**
 * Compares the training source's state with the one last seen, for check `checkId`. The first sighting
 * is only recorded; a later change means new data arrived since. The same check asking again (its
 * activity retried after the watermark moved) gets the answer it got the first time, not "unchanged".
 * `previous` is the watermark stored before the call.
 */
export async function advanceWatermark(pool: Pool, model: string, watermark: string, checkId: string): Promise<{ changed: boolean; previous: string | null }> {
  const { rows } = await pool.query(
    `WITH old AS (SELECT watermark FROM monitors WHERE model_name = $1)
     INSERT INTO monitors (model_name, watermark, watermark_check, watermark_changed) VALUES ($1, $2, $3, false)
     ON CONFLICT (model_name) DO UPDATE SET
       watermark_changed = CASE WHEN monitors.watermark_check = $3 THEN monitors.watermark_changed
                                ELSE monitors.watermark IS NOT NULL AND monitors.watermark <> EXCLUDED.watermark END,
       watermark = CASE WHEN monitors.watermark_check = $3 THEN monitors.watermark ELSE EXCLUDED.watermark END,
       watermark_check = $3,
       updated_at = now()
     RETURNING watermark_changed AS changed, (SELECT watermark FROM old) AS previous`,
    [model, watermark, checkId],
  );
  return { changed: rows[0].changed as boolean, previous: (rows[0].previous as string | null | undefined) ?? null };
}

/**
 * Claims the model's one retraining slot for `runId`, unless another retraining is still running
 * (`isRunning` asks Temporal) or the last one started less than `cooldownMs` ago. Claiming the same
 * run id again succeeds, so a retried activity gets the same answer. The claim is a compare-and-set on
 * the run last seen (one statement, no transaction held while Temporal is asked), so of two claims at
 * once exactly one wins.
 */
export async function claimRetraining(
  pool: Pool, model: string, runId: string, cooldownMs: number, isRunning: (runId: string) => Promise<boolean>,
): Promise<{ granted: true } | { granted: false; reason: string }> {
  await pool.query('INSERT INTO monitors (model_name) VALUES ($1) ON CONFLICT (model_name) DO NOTHING', [model]);
  const { rows } = await pool.query('SELECT retrain_run, retrain_at, now() AS now FROM monitors WHERE model_name = $1', [model]);
  const seen = rows[0] as { retrain_run: string | null; retrain_at: Date | null; now: Date };
  if (seen.retrain_run === runId) return { granted: true };
  if (seen.retrain_run && await isRunning(seen.retrain_run)) return { granted: false, reason: `retraining ${seen.retrain_run} is still running` };
  const since = seen.retrain_at ? new Date(seen.now).getTime() - new Date(seen.retrain_at).getTime() : Infinity;
  if (since < cooldownMs) {
    return { granted: false, reason: `cooling down: the last retraining (${seen.retrain_run}) started ${Math.round(since / 60_000)} min ago, the cool-down is ${Math.round(cooldownMs / 60_000)} min` };
  }
  const swapped = await pool.query(
    'UPDATE monitors SET retrain_run = $2, retrain_at = now(), updated_at = now() WHERE model_name = $1 AND retrain_run IS NOT DISTINCT FROM $3 RETURNING 1',
    [model, runId, seen.retrain_run],
  );
  if (swapped.rowCount === 1) return { granted: true };
  const { rows: [now] } = await pool.query('SELECT retrain_run FROM monitors WHERE model_name = $1', [model]);
  return now.retrain_run === runId ? { granted: true } : { granted: false, reason: `retraining ${now.retrain_run} started at the same moment` };
}
