/**
 * Serves models. Per model it routes between production (stable) and at most one other version, the
 * one a running rollout put beside it, under the traffic policy of the rollout's strategy
 * (src/serving/traffic-policy.ts): answering a share of requests (sticky per routing key), or scoring a
 * share of them without answering. Routing follows the registry through Postgres LISTEN/NOTIFY,
 * with a poll as the safety net (a notification sent while the LISTEN connection was down is not replayed).
 *
 * A version takes traffic only after its smoke test passes on this replica; one that fails leaves the
 * previous routing in place. A replaced version stays loaded for `keepPreviousMs`, so rolling back to it
 * is a pointer swap. Every answer is timed and counted (Prometheus, and short windows in the store for
 * rollout analysis) and logged with an id for feedback, all off the request's path.
 */
import { Pool, PoolClient } from 'pg';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { binIndex } from '../ml/drift';
import { quantileSorted } from '../ml/statistics';
import { MICRO_BATCH_DEFAULTS } from '../config';
import { ApiError } from '../errors';
import { ArtifactStore } from '../store/artifacts';
import { DEPLOYMENTS_CHANNEL, getServableVersion, listProductionVersions, ServableVersion } from '../store/registry';
import { findStrategy } from '../rollouts';
import { listRoutes } from '../store/rollouts';
import { MicroBatchOptions } from './micro-batcher';
import { PredictionCounter } from './prediction-counter';
import { LoggedPrediction, LogPrivacy, PredictionLog } from './prediction-log';
import type { PrivacyPolicy } from '../privacy/pii';
import { listPrivacyPolicies } from '../store/privacy';
import { LATENCY_BUCKETS_MS, ServingStats } from './serving-stats';
import { PRODUCTION, requestDraw, TrafficPolicy } from './traffic-policy';
import { pruneServingData } from '../store/prediction-log';
import { formatPredictions, openServedVersion, Prediction, ServedVersion } from './served-version';
import type { TraceInference } from '../telemetry/inference-spans';

export type { Prediction } from './served-version';

/** A version loaded and smoke-tested on this replica (src/serving/served-version.ts). */
type LoadedVersion = ServedVersion;

interface Meters {
  ok: { inc(): void };
  error: { inc(): void };
  latency: { observe(value: number): void };
  rows: { observe(value: number): void };
  runRows: { observe(value: number): void };
}

/** The version a rollout routes beside production: `mode` names its strategy, `traffic` is that strategy's policy. */
interface Candidate { loaded: LoadedVersion; mode: string; traffic: TrafficPolicy; percent: number }

interface Routing {
  stable: LoadedVersion;
  candidate?: Candidate;
  /** Output bin edges (from production), shared by both versions so their distributions compare. */
  edges: number[];
}

export interface ModelServerOptions {
  /** How often routing is re-read besides following NOTIFY (default 1 s); 0: NOTIFY only. */
  pollIntervalMs?: number;
  maxBatch: number;
  /** How often prediction counts are written to the registry (default 5 s). */
  countFlushMs?: number;
  /** How long a replaced version stays loaded for an instant rollback (default 5 minutes). */
  keepPreviousMs?: number;
  /** Name of this replica in serving statistics. */
  replica?: string;
  /** Keep every prediction (input and answer) for feedback and drift (default on). */
  logPredictions?: boolean;
  /** Share of predictions kept when logging (default 1: all). */
  logSample?: number;
  /**
   * Active learning: classifier answers this unsure enter the review queue. `margin`: the top two
   * class probabilities are within `threshold`; `entropy`: the normalised entropy is above it.
   */
  review?: { measure: 'margin' | 'entropy' | 'off'; threshold: number };
  /** Days kept: the prediction log with its feedback and review items, and the serving statistics (default 30 and 7). */
  retention?: { predictionLogDays: number; servingStatsDays: number };
  /**
   * Keys that protect logged inputs: PII columns are pseudonymised with `piiKey` (dropped without it),
   * inputs are encrypted with `encryption`. Each model's PII policy is read with the routing.
   */
  privacy?: LogPrivacy;
  /** Joining concurrent requests into one inference (default: within one event-loop turn, at most 256 rows). */
  microBatch?: MicroBatchOptions;
  /** Records each request's inference as a span (src/telemetry/inference-spans.ts); unset when tracing is off. */
  traceInference?: TraceInference;
  log?: (line: string) => void;
}

const BINARY_EDGES = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];
const key = (name: string, version: number) => `${name}@${version}`;

/**
 * How unsure a classifier's answer is, on one scale where higher is less sure: 1 - margin between the
 * top two probabilities, or the entropy divided by its maximum (log of the class count).
 */
export function uncertainty(measure: 'margin' | 'entropy', p: ArrayLike<number>, offset: number, width: number): { value: number; enters(threshold: number): boolean } {
  if (measure === 'margin') {
    let first = -Infinity;
    let second = -Infinity;
    for (let k = 0; k < width; k++) {
      const v = p[offset + k];
      if (v > first) { second = first; first = v; } else if (v > second) second = v;
    }
    const margin = first - second;
    return { value: 1 - margin, enters: (threshold) => margin <= threshold };
  }
  let h = 0;
  for (let k = 0; k < width; k++) { const v = p[offset + k]; if (v > 0) h -= v * Math.log(v); }
  const value = h / Math.log(width);
  return { value, enters: (threshold) => value >= threshold };
}

/** A prediction's answer as the log keeps it: everything but its id. */
function withoutId(p: Prediction): object {
  return 'value' in p ? { value: p.value } : { label: p.label, probabilities: p.probabilities };
}

export class ModelServer {
  private loaded = new Map<string, LoadedVersion>();
  private routing = new Map<string, Routing>();
  /** When a loaded version stopped being routed to; released after keepPreviousMs. */
  private retiredAt = new Map<string, number>();
  /** Versions whose smoke test failed here, by digest: not tried again. */
  private refused = new Map<string, string>();
  /** Strategies named by routes that this replica does not know, logged once each. */
  private unknownModes = new Set<string>();
  /** PII policies by model, reloaded with the routing so a request never waits for the store. */
  private policies = new Map<string, PrivacyPolicy>();
  private meters = new Map<string, Meters>();
  private refreshing: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private pruner: NodeJS.Timeout | undefined;
  private listener: PoolClient | undefined;
  private stopped = false;
  private readonly counter: PredictionCounter;
  private readonly stats: ServingStats;
  private readonly predictionLog: PredictionLog;
  readonly metrics = new Registry();
  private readonly requestsTotal = new Counter({ name: 'mlops_predict_requests_total', help: 'Predict requests answered by a model version, by outcome', labelNames: ['model', 'version', 'outcome'], registers: [this.metrics] });
  private readonly latency = new Histogram({ name: 'mlops_predict_latency_seconds', help: 'Time to validate, route, run and format a predict request', labelNames: ['model', 'version'], buckets: LATENCY_BUCKETS_MS.map((ms) => ms / 1000), registers: [this.metrics] });
  private readonly batchRows = new Histogram({ name: 'mlops_predict_batch_rows', help: 'Rows per predict request', labelNames: ['model', 'version'], buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000], registers: [this.metrics] });
  private readonly runRows = new Histogram({ name: 'mlops_inference_batch_rows', help: 'Rows per ONNX run: concurrent requests joined into one (micro-batching)', labelNames: ['model', 'version'], buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024], registers: [this.metrics] });
  private readonly share = new Gauge({ name: 'mlops_traffic_share_percent', help: 'Share of requests routed to a version (answered, or scored without answering under a mirroring strategy)', labelNames: ['model', 'version', 'role'], registers: [this.metrics] });
  private readonly shadowRows = new Counter({ name: 'mlops_shadow_rows_total', help: 'Rows scored by a shadow version, by agreement with production', labelNames: ['model', 'version', 'agreed'], registers: [this.metrics] });

  constructor(private readonly pool: Pool, private readonly artifacts: ArtifactStore, private readonly options: ModelServerOptions) {
    this.counter = new PredictionCounter(pool, options.countFlushMs);
    this.stats = new ServingStats(pool, options.replica ?? `replica-${process.pid}`);
    this.predictionLog = new PredictionLog(pool, { privacy: options.privacy });
    const log = this.predictionLog;
    new Gauge({ name: 'mlops_prediction_log_dropped', help: 'Predictions not logged because the log fell behind', registers: [this.metrics], collect() { this.set(log.dropped); } });
  }

  async start(): Promise<void> {
    await this.refresh();
    this.counter.start();
    this.stats.start();
    if (this.options.logPredictions !== false) this.predictionLog.start();
    try {
      this.listener = await this.pool.connect();
      this.listener.on('notification', () => void this.refresh().catch(() => undefined));
      this.listener.on('error', () => undefined);
      await this.listener.query(`LISTEN ${DEPLOYMENTS_CHANNEL}`);
    } catch {
      this.listener?.release(true);
      this.listener = undefined;
    }
    const every = this.options.pollIntervalMs ?? 1000;
    if (every > 0) {
      this.timer = setInterval(() => void this.refresh().catch(() => undefined), every);
      this.timer.unref();
    }
    this.pruner = setInterval(() => void this.prune().catch(() => undefined), 3600_000);
    this.pruner.unref();
    void this.prune().catch(() => undefined);
  }

  /**
   * Deletes prediction log entries, their feedback and review items (which copy the logged input, so
   * they age with it, labelled or not), and statistics past their retention. Any replica may run it.
   */
  async prune(): Promise<void> {
    const { predictionLogDays, servingStatsDays } = this.options.retention ?? { predictionLogDays: 30, servingStatsDays: 7 };
    await pruneServingData(this.pool, { predictionLogDays, servingStatsDays });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.pruner) clearInterval(this.pruner);
    await Promise.all([this.counter.stop(), this.stats.stop(), this.predictionLog.stop()]);
    if (this.listener) {
      await this.listener.query(`UNLISTEN ${DEPLOYMENTS_CHANNEL}`).catch(() => undefined);
      this.listener.release(true);
    }
    await this.refreshing?.catch(() => undefined);
    for (const m of this.loaded.values()) await m.session.release().catch(() => undefined);
    this.loaded.clear();
    this.routing.clear();
  }

  /**
   * Reloads routing from the registry. A reload already running may have read the registry before the
   * change the caller knows of, so the caller gets the next one; callers meanwhile share it.
   */
  refresh(): Promise<void> {
    if (!this.refreshing) {
      this.refreshing = this.reload().finally(() => { this.refreshing = undefined; });
      return this.refreshing;
    }
    this.queued ??= this.refreshing.catch(() => undefined).then(() => { this.queued = undefined; return this.refresh(); });
    return this.queued;
  }

  /** Writes counts, statistics and the prediction log now (they are otherwise written every second or so). */
  async flush(): Promise<void> {
    await Promise.all([this.counter.flush(), this.stats.flush(true), this.predictionLog.flush()]);
  }

  /** Loads and smoke-tests a version, or returns why it cannot serve. */
  private async load(v: ServableVersion): Promise<LoadedVersion | string> {
    const existing = this.loaded.get(key(v.modelName, v.version));
    if (existing && existing.digest === v.onnxDigest) return existing;
    const known = this.refused.get(v.onnxDigest);
    if (known) return known;
    const loaded = await openServedVersion(this.artifacts, v, {
      maxBatch: this.options.maxBatch, microBatch: this.options.microBatch ?? MICRO_BATCH_DEFAULTS,
      onRun: (served, rows) => this.metersOf(served).runRows.observe(rows),
    });
    if ('problem' in loaded) return this.refuse(v, loaded.problem);
    this.loaded.set(key(v.modelName, v.version), loaded);
    return loaded;
  }

  private refuse(v: ServableVersion, why: string): string {
    const message = `version ${v.version} of "${v.modelName}" failed its smoke test and takes no traffic: ${why}`;
    this.refused.set(v.onnxDigest, message);
    this.options.log?.(message);
    return message;
  }

  private async reload(): Promise<void> {
    const [production, routes, policies] = await Promise.all([listProductionVersions(this.pool), listRoutes(this.pool), listPrivacyPolicies(this.pool)]);
    this.policies = policies;
    const next = new Map<string, Routing>();
    for (const p of production) {
      if (this.stopped) return;
      const current = this.routing.get(p.modelName);
      let stable = await this.load(p);
      // a version that fails its smoke test never replaces one that serves
      if (typeof stable === 'string') { if (!current) continue; stable = current.stable; }
      const routing: Routing = { stable, edges: this.edgesOf(stable) };
      const route = routes.find((r) => r.modelName === p.modelName);
      // a strategy this replica does not know (a newer replica's, mid-upgrade) leaves production serving alone
      const strategy = route && findStrategy(route.mode);
      if (route && !strategy) this.unknownStrategy(p.modelName, route.mode);
      if (route && strategy && route.version !== stable.version) {
        const info = await getServableVersion(this.pool, p.modelName, route.version);
        const candidate = info ? await this.load(info) : undefined;
        if (candidate && typeof candidate !== 'string') routing.candidate = { loaded: candidate, mode: route.mode, traffic: strategy.traffic, percent: route.percent };
      }
      next.set(p.modelName, routing);
    }
    if (this.stopped) return;
    this.routing = next;
    this.share.reset();
    for (const r of next.values()) {
      const c = r.candidate;
      this.share.set({ model: r.stable.name, version: String(r.stable.version), role: 'production' }, 100 - (c ? c.traffic.answered(c.percent) : 0));
      if (c) this.share.set({ model: r.stable.name, version: String(c.loaded.version), role: c.mode }, c.traffic.answered(c.percent) + c.traffic.mirrored(c.percent));
    }
    this.retireUnused();
  }

  private unknownStrategy(model: string, mode: string): void {
    if (this.unknownModes.has(mode)) return;
    this.unknownModes.add(mode);
    this.options.log?.(`the route of "${model}" names the strategy "${mode}", which this replica does not know (an older version?); production serves alone`);
  }

  /** Releases versions no route uses once they have been idle for keepPreviousMs. */
  private retireUnused(): void {
    const used = new Set<string>();
    for (const r of this.routing.values()) {
      used.add(key(r.stable.name, r.stable.version));
      if (r.candidate) used.add(key(r.candidate.loaded.name, r.candidate.loaded.version));
    }
    const now = Date.now();
    for (const [k, loaded] of this.loaded) {
      if (used.has(k)) { this.retiredAt.delete(k); continue; }
      const since = this.retiredAt.get(k) ?? now;
      this.retiredAt.set(k, since);
      if (now - since >= (this.options.keepPreviousMs ?? 300_000)) {
        this.loaded.delete(k);
        this.retiredAt.delete(k);
        // requests already running on it finish first
        setTimeout(() => void loaded.session.release().catch(() => undefined), 30_000).unref();
      }
    }
  }

  /** Output bins: classifiers by probability (binary) or class; regressors by deciles of the smoke outputs. */
  private edgesOf(v: LoadedVersion): number[] {
    if (v.signature.task === 'regression') {
      const values = (v.smoke?.outputs ?? []).map((o) => o[0]).sort((a, b) => a - b);
      return values.length ? [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9].map((q) => quantileSorted(values, q)) : [];
    }
    return v.signature.classes.length === 2 ? BINARY_EDGES : [];
  }

  private async routingOf(name: string): Promise<Routing> {
    let routing = this.routing.get(name);
    if (!routing) {
      await this.refresh();
      routing = this.routing.get(name);
    }
    if (!routing) throw new ApiError('not_found', `model "${name}" has no deployed version`);
    return routing;
  }

  served(): { name: string; version: number; digest: string; candidate?: { version: number; mode: string; percent: number } }[] {
    return [...this.routing.values()].map((r) => ({
      name: r.stable.name, version: r.stable.version, digest: r.stable.digest,
      ...(r.candidate ? { candidate: { version: r.candidate.loaded.version, mode: r.candidate.mode, percent: r.candidate.percent } } : {}),
    }));
  }

  async predict(name: string, instances: unknown, routingKey?: string): Promise<{ predictions: Prediction[]; model: { name: string; version: number } }> {
    const routing = await this.routingOf(name);
    const candidate = routing.candidate;
    const destination = candidate ? candidate.traffic.route(candidate.percent, requestDraw(routingKey)) : PRODUCTION;
    const chosen = destination.answeredBy === 'candidate' ? candidate!.loaded : routing.stable;
    const prepared = chosen.prepare(instances);
    const rows = prepared.rows;
    const started = performance.now();
    let outputs: Float32Array | Float64Array;
    let width: number;
    try {
      const traced = this.options.traceInference;
      ({ values: outputs, width } = await (traced ? traced(name, chosen.version, rows, prepared.run) : prepared.run()));
    } catch (err) {
      this.stats.error(name, chosen.version);
      this.metersOf(chosen).error.inc();
      this.options.log?.(`inference failed on ${name}@${chosen.version}: ${(err as Error).message}`);
      throw new ApiError('internal', `model "${name}" version ${chosen.version} failed to answer`);
    }
    const predictions = this.format(chosen, outputs, width, rows);
    const ms = performance.now() - started;
    const meters = this.metersOf(chosen);
    meters.ok.inc();
    meters.latency.observe(ms / 1000);
    meters.rows.observe(rows);
    this.stats.request(name, chosen.version, ms, this.bins(routing, chosen, outputs, width, rows));
    this.counter.add(name, chosen.version, rows);
    if (this.options.logPredictions !== false && (this.options.logSample ?? 1) > 0) {
      const list = instances as unknown[];
      const sample = this.options.logSample ?? 1;
      const review = this.options.review;
      const policy = this.policies.get(name);
      for (let i = 0; i < predictions.length; i++) {
        if (sample < 1 && Math.random() >= sample) continue;
        // built field by field: object rest and conditional spread allocate far more, on every request
        const p = predictions[i];
        const entry: LoggedPrediction = { id: p.id, model: name, version: chosen.version, instance: list[i], output: withoutId(p), policy, features: chosen.signature.features };
        const unsure = review && review.measure !== 'off' && width > 1 ? uncertainty(review.measure, outputs, i * width, width) : undefined;
        if (unsure !== undefined && unsure.enters(review!.threshold)) entry.review = { measure: review!.measure as 'margin' | 'entropy', uncertainty: unsure.value };
        this.predictionLog.add(entry);
      }
    }
    if (destination.mirrored) {
      setImmediate(() => void this.scoreMirrored(routing, candidate!.loaded, instances as unknown[], predictions).catch(() => undefined));
    }
    return { predictions, model: { name, version: chosen.version } };
  }

  /** A version's labelled metrics, looked up once: prom-client checks and copies the labels on every labelled call (it still hashes them per observation). */
  private metersOf(v: LoadedVersion): Meters {
    const k = key(v.name, v.version);
    let meters = this.meters.get(k);
    if (!meters) {
      const labels = { model: v.name, version: String(v.version) };
      meters = {
        ok: this.requestsTotal.labels({ ...labels, outcome: 'ok' }),
        error: this.requestsTotal.labels({ ...labels, outcome: 'error' }),
        latency: this.latency.labels(labels),
        rows: this.batchRows.labels(labels),
        runRows: this.runRows.labels(labels),
      };
      this.meters.set(k, meters);
    }
    return meters;
  }

  private format(v: LoadedVersion, outputs: Float32Array | Float64Array, width: number, rows: number): Prediction[] {
    return formatPredictions(v.signature, outputs, width, rows);
  }

  /**
   * Output bin per row in production's terms, so both versions' distributions compare: production's
   * edges, and classes matched by label (another version may order its classes differently).
   */
  private bins(routing: Routing, v: LoadedVersion, outputs: Float32Array | Float64Array, width: number, rows: number): number[] {
    const bins = new Array<number>(rows);
    const reference = routing.stable.signature.classes;
    if (v.signature.task === 'regression') {
      for (let i = 0; i < rows; i++) bins[i] = binIndex(routing.edges, outputs[i]);
    } else if (width === 2 && reference.length === 2) {
      const positive = Math.max(0, v.signature.classes.indexOf(reference[1]));
      for (let i = 0; i < rows; i++) bins[i] = binIndex(routing.edges, outputs[i * 2 + positive]);
    } else {
      // predicted class, as its index among production's classes (an unknown label gets the bin after them)
      const position = v.signature.classes.map((label) => { const j = reference.indexOf(label); return j >= 0 ? j : reference.length; });
      for (let i = 0; i < rows; i++) {
        let best = 0;
        for (let k = 1; k < width; k++) if (outputs[i * width + k] > outputs[i * width + best]) best = k;
        bins[i] = position[best];
      }
    }
    return bins;
  }

  /** Scores mirrored rows with the new version and records how often it agrees with production. */
  private async scoreMirrored(routing: Routing, v: LoadedVersion, instances: unknown[], answered: Prediction[]): Promise<void> {
    const prepared = v.prepare(instances);
    const rows = prepared.rows;
    const started = performance.now();
    const { values: outputs, width } = await prepared.run();
    const ms = performance.now() - started;
    const mine = this.format(v, outputs, width, rows);
    let agreed = 0;
    mine.forEach((p, i) => {
      const theirs = answered[i];
      if ('label' in p && 'label' in theirs) agreed += p.label === theirs.label ? 1 : 0;
      else if ('value' in p && 'value' in theirs) agreed += Math.abs(p.value - theirs.value) <= 0.01 * Math.max(1, Math.abs(theirs.value)) ? 1 : 0;
    });
    this.stats.request(routing.stable.name, v.version, ms, this.bins(routing, v, outputs, width, rows));
    this.stats.shadow(routing.stable.name, v.version, rows, agreed);
    this.shadowRows.inc({ model: routing.stable.name, version: String(v.version), agreed: 'true' }, agreed);
    this.shadowRows.inc({ model: routing.stable.name, version: String(v.version), agreed: 'false' }, rows - agreed);
  }
}
