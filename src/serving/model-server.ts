/**
 * Serves production models. Keeps one onnxruntime session per (model, version), follows the
 * `production` alias through Postgres LISTEN/NOTIFY with polling as the fallback (the embedded store
 * delivers no notifications across connections), and checks every request against the signature.
 */
import { Pool, PoolClient } from 'pg';
import { ApiError } from '../errors';
import { ArtifactStore } from '../store/artifacts';
import { DEPLOYMENTS_CHANNEL, listProductionVersions, ModelSignature } from '../store/registry';
import { Feeds, feedsFor, layoutOf } from './feeds';
import { createSession, runClassifier, runRegressor, Session } from './onnx-runner';
import { PredictionCounter } from './prediction-counter';

interface LoadedModel {
  name: string;
  version: number;
  digest: string;
  signature: ModelSignature;
  session: Session;
}

/** A classifier's answer (label and class probabilities) or a regressor's (value). */
export type Prediction = { label: string; probabilities: Record<string, number> } | { value: number };

export interface ModelServerOptions {
  pollIntervalMs?: number;
  maxBatch: number;
  /** How often prediction counts are written to the registry (default 5 s). */
  countFlushMs?: number;
}

const MAX_REPORTED_PROBLEMS = 20;

/** Turns JSON instances into the model's input tensors, or explains every problem (up to 20). */
export function instancesToFeeds(instances: unknown, signature: ModelSignature, maxBatch: number): { feeds: Feeds; rows: number } {
  if (!Array.isArray(instances)) throw new ApiError('invalid_request', '"instances" must be an array of objects, one per row');
  if (instances.length === 0) throw new ApiError('invalid_request', '"instances" is empty; send at least one row');
  if (instances.length > maxBatch) throw new ApiError('invalid_request', `"instances" has ${instances.length} rows; at most ${maxBatch} are allowed per request`);
  const layout = layoutOf(signature);
  const features = [...layout.numeric, ...layout.categorical];
  const dn = layout.numeric.length;
  const known = new Set([...features, ...(signature.unused ?? [])]);
  const numeric = new Float32Array(instances.length * dn);
  const categorical = layout.categorical.map(() => new Array<string>(instances.length).fill(''));
  const problems: string[] = [];
  for (let i = 0; i < instances.length && problems.length < MAX_REPORTED_PROBLEMS; i++) {
    const row = instances[i];
    if (row === null || typeof row !== 'object' || Array.isArray(row)) {
      problems.push(`instances[${i}] must be an object mapping feature names to values`);
      continue;
    }
    const record = row as Record<string, unknown>;
    const missing = features.filter((f) => !(f in record));
    if (missing.length > 0) problems.push(`instances[${i}] is missing feature(s): ${missing.join(', ')}`);
    const extra = Object.keys(record).filter((k) => !known.has(k));
    if (extra.length > 0) problems.push(`instances[${i}] has unknown feature(s): ${extra.join(', ')} (the model takes ${features.join(', ')})`);
    layout.numeric.forEach((name, j) => {
      const value = record[name];
      if (value === null) numeric[i * dn + j] = NaN; // missing: imputed inside the model
      else if (typeof value === 'number' && Number.isFinite(value)) numeric[i * dn + j] = value;
      else if (value !== undefined) problems.push(`instances[${i}].${name} must be a number or null, got ${typeof value === 'number' ? String(value) : typeof value}`);
    });
    layout.categorical.forEach((name, j) => {
      const value = record[name];
      if (typeof value === 'string') categorical[j][i] = value.trim();
      else if (typeof value === 'number' && Number.isFinite(value)) categorical[j][i] = String(value);
      else if (value !== null && value !== undefined) problems.push(`instances[${i}].${name} must be a string (a category) or null, got ${typeof value}`);
    });
  }
  if (problems.length > 0) throw new ApiError('invalid_request', `invalid instances: ${problems[0]}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''}`, { problems });
  return { feeds: feedsFor(layout, instances.length, numeric, categorical), rows: instances.length };
}

export class ModelServer {
  private models = new Map<string, LoadedModel>();
  private refreshing: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  private readonly counter: PredictionCounter;
  private timer: NodeJS.Timeout | undefined;
  private listener: PoolClient | undefined;
  private stopped = false;

  constructor(private readonly pool: Pool, private readonly artifacts: ArtifactStore, private readonly options: ModelServerOptions) {
    this.counter = new PredictionCounter(pool, options.countFlushMs);
  }

  async start(): Promise<void> {
    await this.refresh();
    this.counter.start();
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
    this.timer = setInterval(() => void this.refresh().catch(() => undefined), every);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.counter.stop();
    if (this.listener) {
      await this.listener.query(`UNLISTEN ${DEPLOYMENTS_CHANNEL}`).catch(() => undefined);
      this.listener.release(true);
    }
    await this.refreshing?.catch(() => undefined);
    for (const m of this.models.values()) await m.session.release().catch(() => undefined);
    this.models.clear();
  }

  /**
   * Reloads the routing table from the registry. A reload already running may have read the registry
   * before the change the caller knows of, so the caller gets the next one; callers meanwhile share it.
   */
  refresh(): Promise<void> {
    if (!this.refreshing) {
      this.refreshing = this.reload().finally(() => { this.refreshing = undefined; });
      return this.refreshing;
    }
    this.queued ??= this.refreshing.catch(() => undefined).then(() => { this.queued = undefined; return this.refresh(); });
    return this.queued;
  }

  /** Writes the prediction counts now (they are otherwise written every few seconds). */
  flushCounts(): Promise<void> {
    return this.counter.flush();
  }

  private async reload(): Promise<void> {
    const production = await listProductionVersions(this.pool);
    for (const p of production) {
      const current = this.models.get(p.modelName);
      if (current && current.version === p.version && current.digest === p.onnxDigest) continue;
      const session = await createSession(await this.artifacts.get(p.onnxDigest));
      if (this.stopped) { await session.release(); return; }
      this.models.set(p.modelName, { name: p.modelName, version: p.version, digest: p.onnxDigest, signature: p.signature, session });
      // Requests already running on the old session finish first; release it a little later.
      if (current) setTimeout(() => void current.session.release().catch(() => undefined), 30_000).unref();
    }
  }

  /** The served version of a model, reloading once if it is not known yet (just deployed). */
  async resolve(name: string): Promise<LoadedModel> {
    let model = this.models.get(name);
    if (!model) {
      await this.refresh();
      model = this.models.get(name);
    }
    if (!model) throw new ApiError('not_found', `model "${name}" has no deployed version`);
    return model;
  }

  served(): { name: string; version: number; digest: string }[] {
    return [...this.models.values()].map((m) => ({ name: m.name, version: m.version, digest: m.digest }));
  }

  async predict(name: string, instances: unknown): Promise<{ predictions: Prediction[]; model: { name: string; version: number } }> {
    const model = await this.resolve(name);
    const { feeds, rows } = instancesToFeeds(instances, model.signature, this.options.maxBatch);
    const predictions: Prediction[] = [];
    if (model.signature.task === 'regression') {
      const values = await runRegressor(model.session, feeds);
      for (let i = 0; i < rows; i++) predictions.push({ value: values[i] });
      this.counter.add(model.name, model.version, rows);
      return { predictions, model: { name: model.name, version: model.version } };
    }
    const { probabilities, classes } = await runClassifier(model.session, feeds);
    const labels = model.signature.classes;
    for (let i = 0; i < rows; i++) {
      const probs: Record<string, number> = {};
      let best = 0;
      for (let k = 0; k < classes; k++) {
        probs[labels[k]] = probabilities[i * classes + k];
        if (probabilities[i * classes + k] >= probabilities[i * classes + best]) best = k; // ties go to the later class, as in evaluation
      }
      predictions.push({ label: labels[best], probabilities: probs });
    }
    this.counter.add(model.name, model.version, rows);
    return { predictions, model: { name: model.name, version: model.version } };
  }
}
