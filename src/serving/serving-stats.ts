/**
 * What each API replica saw per model version, in short windows, written to the metadata store so a
 * rollout workflow can compare a canary with production across all replicas: requests, inference errors,
 * rows, latency per bucket, outputs per bin, and shadow agreement. A window is written once, after it
 * closes; a replica that dies loses at most its open window.
 */
import type { Pool } from 'pg';
import { ServingWindow, VersionStats, writeServingWindows } from '../store/serving-stats';
import type { Repositories } from '../store/repositories';

/** Upper bounds of the latency buckets, in milliseconds (the last bucket is everything above). */
export const LATENCY_BUCKETS_MS = [0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 25, 35, 50, 75, 100, 150, 250, 500, 1000, 2500];
/** Index of the latency bucket of a request that took `ms` (shared with the rollout simulation). */
export function latencyBucket(ms: number): number {
  let b = 0;
  while (b < LATENCY_BUCKETS_MS.length && ms > LATENCY_BUCKETS_MS[b]) b++;
  return b;
}
/** Length of a statistics window; windows are written within half a window of closing. */
export const WINDOW_MS = 1000;
/** How long after a moment its statistics are surely in the store. */
export const STATS_LAG_MS = 2 * WINDOW_MS;

export type { VersionStats } from '../store/serving-stats';
type Window = ServingWindow;

const emptyStats = (): VersionStats => ({ requests: 0, errors: 0, rows: 0, latency: new Array(LATENCY_BUCKETS_MS.length + 1).fill(0), outputs: [], shadowCompared: 0, shadowAgreed: 0 });

export class ServingStats {
  private open = new Map<string, Window>();
  private closed: Window[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly pool: Pool, private readonly replica: string, private readonly flushMs = WINDOW_MS / 2) {}

  start(): void {
    this.timer = setInterval(() => void this.flush().catch(() => undefined), this.flushMs);
    this.timer.unref();
  }

  private window(model: string, version: number, now: number): Window {
    const key = `${model}@${version}`;
    const start = now - (now % WINDOW_MS);
    let w = this.open.get(key);
    if (w && w.start !== start) { this.closed.push(w); w = undefined; }
    if (!w) {
      w = { model, version, start, ...emptyStats() };
      this.open.set(key, w);
    }
    return w;
  }

  /** One answered request: its latency, its rows and the output bin of each row. */
  request(model: string, version: number, ms: number, bins: number[]): void {
    const w = this.window(model, version, Date.now());
    w.requests++;
    w.rows += bins.length;
    w.latency[latencyBucket(ms)]++;
    for (const bin of bins) {
      while (w.outputs.length <= bin) w.outputs.push(0);
      w.outputs[bin]++;
    }
  }

  /** A request the model failed to answer (not a bad request). */
  error(model: string, version: number): void {
    const w = this.window(model, version, Date.now());
    w.requests++;
    w.errors++;
  }

  /** Shadow rows scored by `version` beside production, and how many agreed with production's answer. */
  shadow(model: string, version: number, compared: number, agreed: number): void {
    const w = this.window(model, version, Date.now());
    w.shadowCompared += compared;
    w.shadowAgreed += agreed;
  }

  /** Writes the windows that have closed (all of them when `everything`). */
  async flush(everything = false): Promise<void> {
    const now = Date.now();
    for (const [key, w] of this.open) if (everything || w.start + WINDOW_MS <= now) { this.closed.push(w); this.open.delete(key); }
    if (this.closed.length === 0) return;
    const batch = this.closed;
    this.closed = [];
    try {
      await writeServingWindows(this.pool, this.replica, batch);
    } catch (err) {
      this.closed.push(...batch);
      throw err;
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flush(true).catch(() => undefined);
  }
}

/** Everything every replica wrote for a version in windows starting at or after `since`. */
export async function readServingStats(repos: Pick<Repositories, 'servingStats'>, model: string, version: number, since: Date): Promise<VersionStats> {
  const rows = await repos.servingStats.servingWindowsSince(model, version, since);
  const total = emptyStats();
  for (const r of rows) {
    total.requests += Number(r.requests);
    total.errors += Number(r.errors);
    total.rows += Number(r.rows);
    (r.latency as number[]).forEach((c, i) => { total.latency[i] += c; });
    (r.outputs as number[]).forEach((c, i) => { while (total.outputs.length <= i) total.outputs.push(0); total.outputs[i] += c; });
    total.shadowCompared += Number(r.shadow_compared);
    total.shadowAgreed += Number(r.shadow_agreed);
  }
  return total;
}

/** The latency below which a share `q` of requests fell, as the upper bound of its bucket (ms). */
export function latencyQuantile(latency: number[], q: number): number | null {
  const n = latency.reduce((s, c) => s + c, 0);
  if (n === 0) return null;
  let seen = 0;
  for (let b = 0; b < latency.length; b++) {
    seen += latency[b];
    if (seen >= q * n) return b < LATENCY_BUCKETS_MS.length ? LATENCY_BUCKETS_MS[b] : Infinity;
  }
  return Infinity;
}
