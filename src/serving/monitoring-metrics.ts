/**
 * Monitoring results as Prometheus gauges on the API's /metrics: the newest check of every model
 * (drift share, per-feature PSI and p-values, quality over labelled feedback) and the open review
 * queue. The monitor runs in a worker, so every replica reads the results from the store when scraped,
 * at most once per `cacheMs`.
 */
import { Pool } from 'pg';
import { Gauge, Registry } from 'prom-client';
import { latestChecks, MonitorCheck } from '../store/monitoring';
import { countOpenReview } from '../store/review';

export function registerMonitoringMetrics(registry: Registry, pool: Pool, cacheMs = 5000): void {
  let cached: { at: number; checks: MonitorCheck[]; review: { model: string; open: number }[] } | undefined;
  let loading: Promise<NonNullable<typeof cached>> | undefined;
  const load = async () => {
    if (cached && Date.now() - cached.at < cacheMs) return cached;
    loading ??= Promise.all([latestChecks(pool), countOpenReview(pool)])
      .then(([checks, review]) => (cached = { at: Date.now(), checks, review }))
      .finally(() => { loading = undefined; });
    return loading;
  };
  // a scrape while the store is down shows the last values rather than failing
  const read = async () => load().catch(() => cached ?? { at: 0, checks: [], review: [] });

  const gauge = (name: string, help: string, labelNames: string[], fill: (g: Gauge, data: Awaited<ReturnType<typeof read>>) => void) => new Gauge({
    name, help, labelNames, registers: [registry],
    async collect() {
      const data = await read();
      this.reset();
      fill(this, data);
    },
  });
  const version = (c: MonitorCheck) => ({ model: c.model, version: String(c.version) });

  gauge('mlops_drift_share', 'Share of features drifted at the latest check (0-1)', ['model', 'version'], (g, d) => {
    for (const c of d.checks) if (c.drift) g.set(version(c), c.drift.driftedShare);
  });
  gauge('mlops_dataset_drift', 'Whether the latest check found dataset drift (1) or not (0)', ['model', 'version'], (g, d) => {
    for (const c of d.checks) if (c.drift) g.set(version(c), c.drift.datasetDrift ? 1 : 0);
  });
  gauge('mlops_feature_psi', 'Population stability index of a feature at the latest check', ['model', 'version', 'feature'], (g, d) => {
    for (const c of d.checks) for (const f of c.drift?.features ?? []) g.set({ ...version(c), feature: f.name }, f.psi);
  });
  gauge('mlops_feature_drift_pvalue', 'p-value of the drift test (KS or chi-square) of a feature at the latest check', ['model', 'version', 'feature'], (g, d) => {
    for (const c of d.checks) for (const f of c.drift?.features ?? []) g.set({ ...version(c), feature: f.name }, f.pvalue);
  });
  gauge('mlops_model_quality', 'Quality over the labelled feedback of the latest check window', ['model', 'version', 'metric'], (g, d) => {
    for (const c of d.checks) {
      for (const metric of ['accuracy', 'precision', 'recall', 'auc'] as const) {
        const value = c.quality?.[metric];
        if (typeof value === 'number' && Number.isFinite(value)) g.set({ ...version(c), metric }, value);
      }
    }
  });
  gauge('mlops_monitor_last_check_timestamp_seconds', 'When the model was last checked (unix seconds)', ['model'], (g, d) => {
    for (const c of d.checks) g.set({ model: c.model }, new Date(c.checkedAt).getTime() / 1000);
  });
  gauge('mlops_review_queue_open', 'Predictions waiting for a label in the review queue', ['model'], (g, d) => {
    for (const r of d.review) g.set({ model: r.model }, r.open);
  });
}
