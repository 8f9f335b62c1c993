/**
 * Raising alerts: each occurrence is recorded in the `alerts` table, then sent to the configured
 * channels (channels.ts: Slack, a signed webhook, ...), unless the same problem was announced recently
 * (dedup) or the model has already been loud enough this hour (rate limit). One Alerter per process,
 * built at the composition root.
 *
 * Built to be called from a Temporal activity, which may run more than once for one occurrence:
 * - `id` is the occurrence's natural key; raising it again returns what was decided the first time
 *   and never sends a second message, except to channels that failed (those are tried again);
 * - when every channel fails, `raise` records 'failed' and throws, so the activity's retry policy
 *   (not a retry loop in here) decides when to try again;
 * - decisions (send, suppress, record) are taken one at a time in a process, and the claim to send is a
 *   compare-and-set on the row, so one alert is sent by one attempt. The network calls happen after
 *   the claim (a Slack call can take seconds). While an attempt sends, the row is 'sending' with `sent_at` = when it started;
 *   after LEASE_MS without an outcome the attempt is taken to have died and the row can be claimed again.
 *
 * State per row: pending (inserted, not yet decided) → sending → sent | failed, or suppressed / recorded.
 * `sent_at` is when the latest delivery that reached someone started; dedup and rate limit count
 * rows that are 'sent' or 'sending' by it. `body` holds the content and, once decided, the reason.
 */
import type { Pool } from 'pg';
import type { Alert, AlertChannel, Severity } from './channel';
import {
  AlertBody, alertsSentSince, AlertRow, claimAlert, getAlertRow, insertAlert, markAlertSent, openProblem, openProblems, releaseDedupSlot, resolveProblem,
  settleAlert, storeAlertOutcome, takeDedupSlot,
} from '../store/alerts';
import type { Repositories } from '../store/repositories';

export { signWebhook, verifyWebhookSignature, SIGNATURE_HEADER, TIMESTAMP_HEADER } from './webhook';
export type { WebhookPayload } from './webhook';
export type { Severity } from './channel';

export interface AlertInput {
  /** Natural key of this occurrence, e.g. "<monitor check id>:drift": a retried activity raises it once. */
  id: string;
  /** The problem, e.g. "drift:<model>": the same key is announced at most once per dedup window. */
  dedupKey: string;
  model?: string;
  severity: Severity;
  title: string;
  summary: string;
  /** The numbers behind the alert, shown side by side in Slack and sent as they are to the webhook. */
  fields: Record<string, string | number>;
  link?: string;
}

export type AlertState = 'sent' | 'suppressed' | 'recorded' | 'failed';

export interface AlertOutcome {
  id: string;
  state: AlertState;
  reason?: string;
  /** Per channel ("slack", "webhook"): "sent ..." or "failed: <why>". */
  channels: Record<string, string>;
}

export interface AlertRecord {
  id: string;
  dedupKey: string;
  model: string | null;
  severity: Severity;
  title: string;
  summary: string;
  fields: Record<string, string | number>;
  link: string | null;
  state: string;
  reason: string | null;
  channels: Record<string, string>;
  createdAt: string;
  sentAt: string | null;
}

export interface AlerterOptions {
  /** Where alerts go (built by channels.ts from the settings); none: alerts are only recorded. */
  channels: AlertChannel[];
  /** The same dedup key is sent at most once per this many milliseconds. */
  dedupMs: number;
  /** At most this many alerts per model per hour are sent; the rest are recorded as suppressed. */
  ratePerHour: number;
  log?: (line: string) => void;
  /** The clock for every timestamp the alerter writes or compares (tests move it). */
  now?: () => Date;
}

/** A clean check: every open problem of `model` whose dedup key starts with `prefix` is over. */
export interface ResolveInput {
  /** Natural key of this resolution, e.g. "<monitor check id>:resolve"; stored on the problems it closes. */
  id: string;
  model: string;
  /** Which of the model's problems the check speaks for, e.g. "monitor:<model>:" (not its rollout alerts). */
  prefix: string;
}

export interface ResolveOutcome {
  id: string;
  /** The problems closed now (dedup keys); empty when none was open. */
  resolved: string[];
  /** Per problem, per channel that tracks incidents: "resolved ..." or "failed: <why>". */
  channels: Record<string, Record<string, string>>;
}

/** What activities need of the alerter: raise one occurrence, get what was decided; close problems a clean check cleared. */
export interface AlertSink {
  raise(input: AlertInput): Promise<AlertOutcome>;
  resolve(input: ResolveInput): Promise<ResolveOutcome>;
}

/** The alert itself is malformed: retrying cannot help (list it as non-retryable in the activity). */
export class AlertInputError extends Error {
  override name = 'AlertInputError';
}

/** Every configured channel failed; the outcome (stored as 'failed') says how. Retrying may help. */
export class AlertDeliveryError extends Error {
  override name = 'AlertDeliveryError';
  constructor(readonly outcome: AlertOutcome) {
    super(`alert ${outcome.id} was not delivered: ${outcome.reason}`);
  }
}

/** A channel did not take a resolution; the problem stays open, so a retry tells every channel again. */
export class AlertResolveError extends Error {
  override name = 'AlertResolveError';
  constructor(readonly outcome: ResolveOutcome, failures: string[]) {
    super(`resolution ${outcome.id} was not delivered: ${failures.join(', ')}`);
  }
}

/** Another attempt is sending this alert right now; retry later to get its outcome. */
export class AlertBusyError extends Error {
  override name = 'AlertBusyError';
}

// Longer than both channels' timeouts together, so a slow but live attempt is not taken over.
const LEASE_MS = 60_000;
const HOUR_MS = 3_600_000;
const SEVERITIES: readonly Severity[] = ['info', 'warning', 'critical'];
const MAX_FIELDS = 40;

// Fields are stored as [name, value] pairs: jsonb reorders object keys, and the caller's order is
// the order people read them in.
type Plan = { done: AlertOutcome } | { row: AlertRow; send: AlertChannel[]; claimedAt: Date; previousSentAt: Date | null };

const isSent = (v: string | undefined): boolean => v !== undefined && (v === 'sent' || v.startsWith('sent '));

export class Alerter implements AlertSink {
  private readonly channels: readonly AlertChannel[];
  private readonly log: (line: string) => void;
  private readonly now: () => Date;
  /** Decisions in this process, one after another. */
  private deciding: Promise<void> = Promise.resolve();

  constructor(private readonly pool: Pool, private readonly o: AlerterOptions) {
    this.channels = o.channels;
    this.log = o.log ?? ((line) => console.log(line));
    this.now = o.now ?? (() => new Date());
  }

  /** Names of the channels alerts go to ("slack", "webhook", ...); empty when alerts are only recorded. */
  get channelNames(): string[] {
    return this.channels.map((c) => c.name);
  }

  async raise(input: AlertInput): Promise<AlertOutcome> {
    const alert = validateAlert(input);
    const now = this.now();
    const body: AlertBody = { summary: alert.summary, fields: Object.entries(alert.fields), ...(alert.link ? { link: alert.link } : {}) };
    await insertAlert(this.pool, { id: alert.id, dedupKey: alert.dedupKey, model: alert.model, severity: alert.severity, title: alert.title, body, at: now });
    const plan = await this.decide(alert.id, now);
    if ('done' in plan) return plan.done;
    return this.deliver(plan);
  }

  /**
   * A clean check: tells every channel that tracks incidents (those with `resolve`, e.g. PagerDuty) that
   * each open problem of the model under `prefix` is over, then closes it and frees its dedup slot, so a
   * recurrence is announced at once. Safe to retry: a problem is closed only when every such channel took
   * its resolution; until then it stays open and a retry tells them all again (resolving twice is harmless).
   * Throws AlertResolveError when a channel failed, so the activity's retry policy tries again.
   */
  async resolve(input: ResolveInput): Promise<ResolveOutcome> {
    for (const [name, v] of Object.entries({ id: input?.id, model: input?.model, prefix: input?.prefix })) {
      if (typeof v !== 'string' || v.trim() === '' || v.length > 200) throw new AlertInputError(`invalid resolution: ${name} must be a non-empty string of at most 200 characters`);
    }
    const now = this.now();
    const open = await openProblems(this.pool, { model: input.model, prefix: input.prefix });
    const tracking = this.channels.filter((c) => typeof c.resolve === 'function');
    const outcome: ResolveOutcome = { id: input.id, resolved: [], channels: {} };
    const failures: string[] = [];
    for (const problem of open) {
      const results = await Promise.all(tracking.map(async (c): Promise<[string, string]> => {
        try {
          const receipt = await c.resolve!({ key: problem.dedup_key, model: problem.model_name }, now);
          return [c.name, receipt ? `resolved ${receipt}` : 'resolved'];
        } catch (err) {
          const why = oneLine((err as Error).message);
          failures.push(`${c.name} (${problem.dedup_key}: ${why})`);
          return [c.name, `failed: ${why}`];
        }
      }));
      outcome.channels[problem.dedup_key] = Object.fromEntries(results);
      if (results.some(([, v]) => v.startsWith('failed'))) continue;
      if (await resolveProblem(this.pool, { dedupKey: problem.dedup_key, openedBy: problem.opened_by, resolvedBy: input.id, at: now })) outcome.resolved.push(problem.dedup_key);
    }
    if (outcome.resolved.length > 0) this.log(`alerts resolved by ${input.id}: ${outcome.resolved.join(', ')}`);
    if (failures.length > 0) throw new AlertResolveError(outcome, failures);
    return outcome;
  }

  /**
   * One decision at a time in this process: return the stored outcome, suppress, record, or claim the
   * row for sending. The claim is a compare-and-set on the row's state, so two processes cannot both
   * send one alert; without an explicit transaction, because the embedded store shares one database
   * session between connections and a transaction there can take other connections' writes with it.
   * (Across processes, two different alerts with the same dedup key decided in the same instant may both
   * be sent: a window of milliseconds, accepted.)
   */
  private decide(id: string, now: Date): Promise<Plan> {
    const run = this.deciding.then(async () => {
      const row = await getAlertRow(this.pool, id);
      if (!row) throw new Error(`alert ${id} vanished after it was recorded`);
      return this.plan(this.pool, row, now);
    });
    this.deciding = run.then(() => undefined, () => undefined);
    return run;
  }

  private async plan(client: Pool, row: AlertRow, now: Date): Promise<Plan> {
    if (row.state === 'suppressed' || row.state === 'recorded') return { done: outcomeOf(row) };
    if (row.state === 'sending' && row.sent_at && now.getTime() - new Date(row.sent_at).getTime() < LEASE_MS) {
      throw new AlertBusyError(`alert ${row.id} is being sent by another attempt since ${new Date(row.sent_at).toISOString()}; try again shortly`);
    }
    // Left: sent (maybe with failed channels), failed, pending, or a 'sending' whose attempt died.
    const stored = row.channels ?? {};
    const delivered = Object.values(stored).some(isSent);
    let send: AlertChannel[];
    if (delivered) {
      // Someone was told already: only finish the channels that failed, never re-decide.
      send = this.channels.filter((c) => stored[c.name] !== undefined && !isSent(stored[c.name]));
      if (send.length === 0) {
        if (row.state !== 'sent') await markAlertSent(client, row.id);
        return { done: outcomeOf({ ...row, state: 'sent' }) };
      }
    } else {
      if (this.channels.length === 0) {
        const reason = 'no alert channel configured';
        await this.settle(client, row.id, 'recorded', reason);
        this.log(`alert ${row.id} recorded, not sent: ${reason} (docs/alerting.md lists the channels and their settings) — ${row.title}`);
        return { done: { id: row.id, state: 'recorded', reason, channels: stored } };
      }
      const reason = await this.suppression(client, row, now);
      if (reason) {
        await this.settle(client, row.id, 'suppressed', reason);
        this.log(`alert ${row.id} suppressed (${reason}) — ${row.title}`);
        return { done: { id: row.id, state: 'suppressed', reason, channels: stored } };
      }
      send = [...this.channels];
    }
    if (!(await claimAlert(client, row, now))) throw new AlertBusyError(`alert ${row.id} changed while this attempt decided; try again shortly`);
    return { row, send, claimedAt: now, previousSentAt: row.sent_at && delivered ? new Date(row.sent_at) : null };
  }

  /** Why this alert should not be sent now, or undefined: a recent duplicate, or the model's hourly budget spent. */
  private async suppression(client: Pool, row: AlertRow, now: Date): Promise<string | undefined> {
    const since = new Date(now.getTime() - this.o.dedupMs);
    // the dedup slot, taken in one statement so two processes cannot both take it: free, ours already,
    // or held by an alert last sent before the window
    const holder = await takeDedupSlot(client, { dedupKey: row.dedup_key, id: row.id, at: now, since });
    if (holder) return `duplicate of ${holder}`;
    // Alerts without a model (platform-wide ones) share one budget.
    const sent = await alertsSentSince(client, row.model_name, row.id, new Date(now.getTime() - HOUR_MS));
    const limit = this.o.ratePerHour;
    if (sent >= limit) {
      await this.releaseDedup(row);
      return `rate limit: ${sent} alerts ${row.model_name ? `for ${row.model_name} ` : ''}sent in the last hour (at most ${limit})`;
    }
    return undefined;
  }

  private async settle(client: Pool, id: string, state: AlertState, reason: string): Promise<void> {
    await settleAlert(client, id, state, reason);
  }

  /** Gives up the dedup slot this alert holds (it was not sent after all). */
  private async releaseDedup(row: AlertRow): Promise<void> {
    await releaseDedupSlot(this.pool, row.dedup_key, row.id);
  }

  /** Sends to the claimed channels at once, then stores each channel's outcome. */
  private async deliver(plan: { row: AlertRow; send: AlertChannel[]; claimedAt: Date; previousSentAt: Date | null }): Promise<AlertOutcome> {
    const { row, claimedAt } = plan;
    const alert = alertOf(row);
    const results = await Promise.all(plan.send.map(async (c): Promise<[string, string]> => {
      try {
        const receipt = await c.send(alert, claimedAt);
        return [c.name, receipt ? `sent ${receipt}` : 'sent'];
      } catch (err) {
        return [c.name, `failed: ${oneLine((err as Error).message)}`];
      }
    }));
    const channels = { ...(row.channels ?? {}), ...Object.fromEntries(results) };
    const configured = new Set(this.channelNames);
    const failed = Object.entries(channels).filter(([name, v]) => configured.has(name) && !isSent(v));
    const state: AlertState = Object.values(channels).some(isSent) ? 'sent' : 'failed';
    const listed = failed.map(([n, v]) => `${n} (${v.replace(/^failed: /, '')})`).join(', ');
    const reason = failed.length === 0 ? undefined : state === 'failed' ? `every channel failed: ${listed}` : `not delivered to ${listed}`;
    const sentAt = results.some(([, v]) => isSent(v)) ? claimedAt : plan.previousSentAt;
    // Somebody was told: the problem is open until a clean check resolves it. Recorded before the outcome,
    // so an attempt that dies in between leaves it open (resolving it later is harmless) rather than lost.
    if (results.some(([, v]) => isSent(v))) await openProblem(this.pool, { dedupKey: row.dedup_key, model: row.model_name, alertId: row.id, at: claimedAt });
    const stored = await storeAlertOutcome(this.pool, { id: row.id, state, channels, sentAt, reason, claimedAt });
    if (!stored) this.log(`alert ${row.id}: another attempt took over while this one was sending; its outcome was not stored`);
    const outcome: AlertOutcome = { id: row.id, state, channels, ...(reason ? { reason } : {}) };
    const sentTo = results.filter(([, v]) => isSent(v)).map(([n]) => n);
    if (sentTo.length > 0) this.log(`alert ${row.id} sent to ${sentTo.join(' and ')} — ${row.title}`);
    if (state === 'failed') {
      await this.releaseDedup(row); // nobody was told: the next alert of this problem must not count as its duplicate
      throw new AlertDeliveryError(outcome);
    }
    if (reason) this.log(`alert ${row.id}: ${reason}`);
    return outcome;
  }
}

/** Alerts newest first, optionally for one model. */
export async function listAlerts(repos: Pick<Repositories, 'alerts'>, filter: { model?: string; limit?: number } = {}): Promise<AlertRecord[]> {
  const limit = filter.limit ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new AlertInputError('limit must be a whole number from 1 to 1000');
  const rows = await repos.alerts.listAlertRows({ model: filter.model, limit });
  return rows.map((r) => {
    const c = contentOf(r);
    return {
      id: r.id, dedupKey: r.dedup_key, model: r.model_name, severity: r.severity, title: r.title,
      summary: c.summary, fields: c.fields, link: c.link ?? null, state: r.state, reason: r.body?.reason ?? null,
      channels: r.channels ?? {}, createdAt: new Date(r.created_at).toISOString(), sentAt: r.sent_at ? new Date(r.sent_at).toISOString() : null,
    };
  });
}

function contentOf(row: AlertRow): { title: string; summary: string; fields: Record<string, string | number>; link?: string; model?: string } {
  const fields = row.body?.fields;
  return {
    title: row.title, summary: row.body?.summary ?? '', fields: Array.isArray(fields) ? Object.fromEntries(fields) : (fields ?? {}),
    ...(row.body?.link ? { link: row.body.link } : {}), ...(row.model_name ? { model: row.model_name } : {}),
  };
}

/** The stored alert as channels receive it. */
function alertOf(row: AlertRow): Alert {
  const c = contentOf(row);
  return {
    id: row.id, dedupKey: row.dedup_key, severity: row.severity, title: row.title, summary: c.summary, fields: c.fields,
    model: row.model_name, link: c.link ?? null, createdAt: new Date(row.created_at).toISOString(),
  };
}

function outcomeOf(row: AlertRow): AlertOutcome {
  return { id: row.id, state: row.state as AlertState, channels: row.channels ?? {}, ...(row.body?.reason ? { reason: row.body.reason } : {}) };
}

const oneLine = (s: string): string => s.replace(/\s+/g, ' ').trim().slice(0, 300);

/** Checks an alert before anything is stored; throws AlertInputError naming the first problem. */
export function validateAlert(a: AlertInput): AlertInput {
  const fail = (message: string): never => { throw new AlertInputError(`invalid alert: ${message}`); };
  if (a === null || typeof a !== 'object') fail('expected an object');
  const text = (name: string, v: unknown, max: number) => {
    if (typeof v !== 'string' || v.trim() === '') fail(`${name} must be a non-empty string`);
    if ((v as string).length > max) fail(`${name} is longer than ${max} characters`);
  };
  text('id', a.id, 200);
  text('dedupKey', a.dedupKey, 200);
  text('title', a.title, 500);
  if (a.model !== undefined) text('model', a.model, 200);
  if (typeof a.summary !== 'string') fail('summary must be a string');
  if (a.summary.length > 10_000) fail('summary is longer than 10000 characters');
  if (!SEVERITIES.includes(a.severity)) fail(`severity must be one of ${SEVERITIES.join(', ')} (got ${JSON.stringify(a.severity)})`);
  if (a.fields === null || typeof a.fields !== 'object' || Array.isArray(a.fields)) fail('fields must be an object of names to numbers or strings');
  const entries = Object.entries(a.fields);
  if (entries.length > MAX_FIELDS) fail(`at most ${MAX_FIELDS} fields (got ${entries.length})`);
  for (const [k, v] of entries) {
    if (k.trim() === '') fail('field names must not be empty');
    // JSON would turn NaN and Infinity into null: the number shown would not be the number measured.
    if (typeof v === 'number' ? !Number.isFinite(v) : typeof v !== 'string') fail(`field ${JSON.stringify(k)} must be a finite number or a string`);
  }
  if (a.link !== undefined) {
    let url: URL | undefined;
    try { url = new URL(a.link); } catch { /* reported below */ }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) fail(`link must be an http(s) URL (got ${JSON.stringify(a.link)})`);
  }
  return a;
}
