/**
 * Keeps every served prediction (its id, version, input row and answer) for feedback and drift
 * monitoring. Writes are batched and asynchronous: a request never waits for them and never fails
 * because of them. When the store falls behind, the buffer is bounded and further entries are dropped
 * and counted rather than letting memory grow.
 *
 * Privacy is applied when a batch is written, off the request's path: PII columns are pseudonymised or
 * dropped by the model's policy (captured with the entry at predict time), the subject's pseudonym goes
 * to its own column, and with an encryption key the input is encrypted (outputs stay in clear: live
 * accuracy and quality checks aggregate them in SQL). Review items get the same protected input.
 */
import { Pool } from 'pg';
import type { Config } from '../config';
import { seal } from '../privacy/encryption';
import { applyPolicy, PrivacyPolicy } from '../privacy/pii';

export interface LoggedPrediction {
  id: string;
  model: string;
  version: number;
  instance: unknown;
  output: unknown;
  /** Set when the model was unsure enough for the prediction to enter the review queue (active learning). */
  review?: { measure: 'margin' | 'entropy'; uncertainty: number };
  /** The model's PII policy when the prediction was served. */
  policy?: PrivacyPolicy;
}

/** Keys for what the log stores: the pseudonymisation key and the key that encrypts inputs. */
export type LogPrivacy = Pick<Config['privacy'], 'piiKey' | 'encryption'>;

/** An entry as it is stored: the input protected, and the subject's pseudonym and the key id beside it. */
export function protectEntry(entry: LoggedPrediction, privacy: LogPrivacy = {}): Omit<LoggedPrediction, 'policy'> & { subject: string | null; key_id: string | null } {
  const { policy, ...rest } = entry;
  const { instance, subject } = applyPolicy(entry.instance, policy, privacy.piiKey);
  const encryption = privacy.encryption;
  return {
    ...rest,
    instance: encryption ? seal(encryption.key, instance, entry.id) : instance,
    subject: subject ?? null,
    key_id: encryption ? encryption.keyId : null,
  };
}

/** Rows protected between two yields to the event loop (about 7 ms of hashing and encryption). */
const PROTECT_SLICE = 256;

/**
 * Protects a batch in slices, letting requests run in between: encrypting 5,000 rows of 30 columns takes
 * some 130 ms, a stall no request should wait behind.
 */
async function protectBatch(batch: LoggedPrediction[], privacy?: LogPrivacy): Promise<ReturnType<typeof protectEntry>[]> {
  const stored: ReturnType<typeof protectEntry>[] = [];
  for (let i = 0; i < batch.length; i += PROTECT_SLICE) {
    if (i > 0) await new Promise((resolve) => setImmediate(resolve));
    for (let j = i; j < Math.min(i + PROTECT_SLICE, batch.length); j++) stored.push(protectEntry(batch[j], privacy));
  }
  return stored;
}

export class PredictionLog {
  private buffer: LoggedPrediction[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  /** Entries dropped because the buffer was full (exposed as a metric). */
  dropped = 0;

  constructor(private readonly pool: Pool, private readonly o: { flushMs?: number; maxBuffered?: number; batchRows?: number; privacy?: LogPrivacy } = {}) {}

  start(): void {
    this.timer = setInterval(() => void this.flush().catch(() => undefined), this.o.flushMs ?? 1000);
    this.timer.unref();
  }

  add(entry: LoggedPrediction): void {
    if (this.buffer.length >= (this.o.maxBuffered ?? 100_000)) { this.dropped++; return; }
    this.buffer.push(entry);
  }

  /** Writes what is buffered, in batches; one flush at a time. */
  flush(): Promise<void> {
    this.flushing ??= this.write().finally(() => { this.flushing = undefined; });
    return this.flushing;
  }

  private async write(): Promise<void> {
    const size = this.o.batchRows ?? 5000;
    while (this.buffer.length > 0) {
      const batch = this.buffer.slice(0, size);
      const stored = await protectBatch(batch, this.o.privacy);
      // one JSON document per batch: a single native stringify, instead of escaping thousands of array elements;
      // read as json, not jsonb, so only the values stored as jsonb are converted
      // the uncertain ones also enter the review queue, in the same statement
      await this.pool.query(
        `WITH x AS (
            SELECT * FROM json_to_recordset($1::json) AS x(id uuid, model text, version int, instance jsonb, output jsonb, review jsonb, subject text, key_id text)
         ), logged AS (
            INSERT INTO prediction_log (id, model_name, version, instance, output, subject, key_id)
            SELECT id, model, version, instance, output, subject, key_id FROM x
            ON CONFLICT DO NOTHING
         )
         INSERT INTO review_queue (prediction_id, model_name, version, measure, uncertainty, instance, output, subject, key_id)
         SELECT id, model, version, review->>'measure', (review->>'uncertainty')::double precision, instance, output, subject, key_id
           FROM x WHERE review IS NOT NULL
         ON CONFLICT DO NOTHING`,
        [JSON.stringify(stored)],
      );
      this.buffer.splice(0, batch.length);
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flush().catch(() => undefined);
  }
}

/** Records ground truth for served predictions; unknown ids are reported back, not stored. */
export async function recordFeedback(pool: Pool, items: { predictionId: string; label: string }[]): Promise<{ accepted: number; unknown: string[] }> {
  const { rows } = await pool.query(
    `INSERT INTO feedback (prediction_id, label)
     SELECT f.id, f.label FROM unnest($1::uuid[], $2::text[]) AS f(id, label)
      WHERE EXISTS (SELECT 1 FROM prediction_log p WHERE p.id = f.id)
     ON CONFLICT (prediction_id) DO UPDATE SET label = EXCLUDED.label, at = now()
     RETURNING prediction_id`,
    [items.map((i) => i.predictionId), items.map((i) => i.label)],
  );
  const accepted = new Set(rows.map((r) => r.prediction_id));
  return { accepted: accepted.size, unknown: items.map((i) => i.predictionId).filter((id) => !accepted.has(id)) };
}

/** Live accuracy of a version on predictions served since `since` that have a label: correct / labelled. */
export async function liveAccuracy(pool: Pool, model: string, version: number, since: Date): Promise<{ labelled: number; correct: number }> {
  const { rows } = await pool.query(
    `SELECT count(*)::int AS labelled,
            count(*) FILTER (WHERE COALESCE(p.output->>'label', p.output->>'value') = f.label)::int AS correct
       FROM prediction_log p JOIN feedback f ON f.prediction_id = p.id
      WHERE p.model_name = $1 AND p.version = $2 AND p.at >= $3`,
    [model, version, since],
  );
  return { labelled: rows[0].labelled, correct: rows[0].correct };
}
