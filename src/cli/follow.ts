/** Follows a pipeline run through the API, printing each stage as it is entered. */
import type { PipelineView } from '../api/pipeline-service';
import { ApiClient } from './api-client';

const TERMINAL = new Set(['deployed', 'rejected', 'failed']);

export function formatMetrics(m: Record<string, number> | undefined): string {
  if (!m) return '-';
  return ['auc', 'accuracy', 'precision', 'recall', 'f1', 'logLoss']
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
