/** Follows a pipeline run through the API, printing each stage as it is entered. */
import type { PipelineView } from '../usecases/pipelines';
import type { TrainingRun } from '../store/runs';
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

/** Training runs as an aligned table, newest first, with the metrics their task reports. */
export function formatRuns(runs: TrainingRun[]): string {
  if (runs.length === 0) return 'no training runs yet';
  const rows = runs.map((r) => [
    r.runId, r.modelName, r.kind, r.datasetId.slice(0, 12), String(r.params.l2 ?? ''), String(r.trials.length), `${r.trainMs} ms`,
    formatMetrics(r.metrics ?? undefined),
  ]);
  const header = ['run', 'model', 'kind', 'dataset', 'l2', 'trials', 'train', 'test metrics'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  return [header, ...rows].map((r) => r.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd()).join('\n');
}
