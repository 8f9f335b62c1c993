/** Follows a pipeline run through the API, printing each stage as it is entered. */
import type { PipelineView } from '../usecases/pipelines';
import type { RunRecord } from '../store/runs';
import { ApiClient } from './api-client';

const TERMINAL = new Set(['deployed', 'rejected', 'failed']);

export function formatMetrics(m: Record<string, number> | undefined): string {
  if (!m) return '-';
  return ['auc', 'accuracy', 'macroF1', 'precision', 'recall', 'f1', 'logLoss', 'rmse', 'mae', 'r2']
    .filter((k) => typeof m[k] === 'number')
    .map((k) => `${k}=${m[k].toFixed(4)}`)
    .join(' ');
}

/** Polls until the run ends (or, with stopAtApproval, until it waits for a decision). */
export async function followPipeline(api: ApiClient, id: string, log: (line: string) => void, o: { stopAtApproval: boolean; intervalMs?: number }): Promise<PipelineView> {
  const started = Date.now();
  let last = '';
  for (;;) {
    const view = await api.get<PipelineView>(`/v1/pipelines/${encodeURIComponent(id)}`);
    const label = `${view.state}/${view.stage ?? '?'}`;
    if (label !== last) {
      const seconds = ((Date.now() - started) / 1000).toFixed(1).padStart(5);
      log(`  [${seconds}s] ${view.stage ?? '...'}${view.state !== 'running' ? ` (${view.state})` : ''}`);
      last = label;
    }
    if (TERMINAL.has(view.state) || (o.stopAtApproval && view.state === 'awaiting_approval')) return view;
    await new Promise((r) => setTimeout(r, o.intervalMs ?? 100));
  }
}

/** `k=v` pairs of an MLflow run's params or metrics, in key order, cut short past `max` characters. */
function pairsText(values: Record<string, unknown>, max: number): string {
  const out = Object.keys(values).sort().map((k) => `${k}=${typeof values[k] === 'number' ? Number((values[k] as number).toPrecision(6)) : String(values[k])}`).join(' ');
  return out === '' ? '-' : out.length > max ? `${out.slice(0, max - 3)}...` : out;
}

/**
 * Runs as an aligned table, newest first: the pipeline's (family, dataset, chosen l2, trials, training
 * time and the metrics their task reports) and those logged through the MLflow client (its params and
 * latest metrics, the registered models made from it).
 */
export function formatRuns(runs: RunRecord[]): string {
  if (runs.length === 0) return 'no training runs yet';
  const rows = runs.map((r) => (r.source === 'mlflow'
    ? [
      r.runId, 'mlflow', [...new Set(r.modelVersions.map((v) => v.name))].join(',') || '-', `experiment ${r.experiment.name}`, r.status.toLowerCase(),
      pairsText(r.params, 60), pairsText(r.metrics, 80),
    ]
    : [
      r.runId, 'pipeline', r.modelName, `${r.kind}, ${r.datasetId ? `dataset ${r.datasetId.slice(0, 12)}` : 'no dataset (imported unscored)'}`, `trained in ${r.trainMs} ms`,
      `l2=${String(r.params.l2 ?? '-')} trials=${r.trials.length}`, formatMetrics(r.metrics ?? undefined),
    ]));
  const header = ['run', 'source', 'model', 'what', 'state', 'params', 'metrics'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  return [header, ...rows].map((r) => r.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd()).join('\n');
}
