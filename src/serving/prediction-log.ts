/**
 * Keeps every served prediction (its id, version, input row and answer) for feedback and drift
 * monitoring. Writes are batched and asynchronous: a request never waits for them and never fails
 * because of them. When the store falls behind, the buffer is bounded and further entries are dropped
 * and counted rather than letting memory grow.
 */
import { Pool } from 'pg';

export interface LoggedPrediction {
  id: string;
  model: string;
  version: number;
  instance: unknown;
  output: unknown;
  /** Set when the model was unsure enough for the prediction to enter the review queue (active learning). */
  review?: { measure: 'margin' | 'entropy'; uncertainty: number };
}

export class PredictionLog {
  private buffer: LoggedPrediction[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  /** Entries dropped because the buffer was full (exposed as a metric). */
  dropped = 0;

  constructor(private readonly pool: Pool, private readonly o: { flushMs?: number; maxBuffered?: number; batchRows?: number } = {}) {}

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
      // one JSON document per batch: a single native stringify, instead of escaping thousands of array elements;
      // the uncertain ones also enter the review queue, in the same statement
      await this.pool.query(
        `WITH x AS (
            SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, model text, version int, instance jsonb, output jsonb, review jsonb)
         ), logged AS (
            INSERT INTO prediction_log (id, model_name, version, instance, output)
            SELECT id, model, version, instance, output FROM x
            ON CONFLICT DO NOTHING
         )
         INSERT INTO review_queue (prediction_id, model_name, version, measure, uncertainty, instance, output)
         SELECT id, model, version, review->>'measure', (review->>'uncertainty')::double precision, instance, output
           FROM x WHERE review IS NOT NULL
         ON CONFLICT DO NOTHING`,
        [JSON.stringify(batch)],
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
