/**
 * Counts predictions per served (model, version) in memory and adds them to the registry's
 * prediction_counts every few seconds, so lineage can show how much each version has answered
 * without a database write per request. Counts not yet flushed when a process dies are lost; the
 * figures are for lineage and capacity, not billing.
 */
import { Pool } from 'pg';
import { addPredictionCounts } from '../store/prediction-counts';

export class PredictionCounter {
  private pending = new Map<string, { model: string; version: number; predictions: number; requests: number }>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly pool: Pool, private readonly intervalMs = 5000) {}

  start(): void {
    this.timer = setInterval(() => void this.flush().catch(() => undefined), this.intervalMs);
    this.timer.unref();
  }

  add(model: string, version: number, predictions: number): void {
    const key = `${model}@${version}`;
    const entry = this.pending.get(key) ?? { model, version, predictions: 0, requests: 0 };
    entry.predictions += predictions;
    entry.requests += 1;
    this.pending.set(key, entry);
  }

  /** Writes what has been counted; on failure the counts are kept for the next flush. */
  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = [...this.pending.values()];
    this.pending = new Map();
    try {
      await addPredictionCounts(this.pool, batch);
    } catch (err) {
      for (const b of batch) {
        const key = `${b.model}@${b.version}`;
        const entry = this.pending.get(key) ?? { ...b, predictions: 0, requests: 0 };
        entry.predictions += b.predictions;
        entry.requests += b.requests;
        this.pending.set(key, entry);
      }
      throw err;
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flush().catch(() => undefined);
  }
}
