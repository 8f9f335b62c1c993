/**
 * The main job: the whole pipeline on the bundled Breast Cancer Wisconsin dataset, driven through
 * the HTTP API exactly as a user would drive it, ending with a prediction from the served model.
 */
import fs from 'node:fs';
import { parseCsv } from '../ml/csv';
import { cellText } from '../ml/table';
import { ApiClient } from './api-client';
import { followPipeline, formatMetrics } from './follow';

export interface DemoOptions {
  dataset: string;
  uiUrl: string;
  log: (line: string) => void;
}

const MODEL = 'breast-cancer';
const TARGET = 'diagnosis';

/** Returns true when the run ends deployed and the served model answered. */
export async function runDemo(api: ApiClient, o: DemoOptions): Promise<boolean> {
  const { log } = o;
  log(`\n== demo: ${MODEL} on ${o.dataset}`);
  const started = await api.post<{ id: string; uiUrl: string }>('/v1/pipelines', {
    model: MODEL,
    data: { uri: o.dataset },
    target: TARGET,
    approval: { mode: 'manual', thresholds: { auc: 0.9, accuracy: 0.9 } },
  });
  log(`started pipeline ${started.id}`);
  log(`  follow it in the Temporal Web UI: ${started.uiUrl}`);

  let view = await followPipeline(api, started.id, log, { stopAtApproval: true });
  if (view.state === 'awaiting_approval') {
    log(`  candidate v${view.modelVersion}: ${formatMetrics(view.metrics as unknown as Record<string, number>)}`);
    if (view.champion?.metrics) log(`  champion  v${view.champion.version}: ${formatMetrics(view.champion.metrics as unknown as Record<string, number>)}`);
    const passed = view.approval?.thresholdsPassed;
    log(`  thresholds ${JSON.stringify(view.approval?.policy.thresholds)}: ${passed ? 'passed' : `missed (${view.approval?.thresholdFailures?.join('; ')})`}`);
    const decision = passed ? 'approve' : 'reject';
    // the reviewer is a person of their own: an approver key, not the admin key that started the run
    const reviewer = await api.post<{ token: string; name: string }>('/v1/keys', { name: `demo-reviewer-${Date.now().toString(36)}`, role: 'approver', expiresInDays: 1 });
    log(`  sending the approval signal: ${decision}, as ${reviewer.name} (an approver key of its own, via POST /v1/pipelines/${started.id}/approval)`);
    await new ApiClient(api.baseUrl, reviewer.token).post(`/v1/pipelines/${encodeURIComponent(started.id)}/approval`, { decision, comment: passed ? 'metrics pass the thresholds' : 'metrics below thresholds' });
    view = await followPipeline(api, started.id, log, { stopAtApproval: false });
  }
  if (view.state !== 'deployed') {
    log(`pipeline ended ${view.state}${view.error ? `: ${view.error}` : ''}`);
    return false;
  }
  log(`deployed ${MODEL} v${view.modelVersion} (ONNX sha256 ${view.onnxDigest?.slice(0, 16)}...)`);

  const table = parseCsv(fs.readFileSync(o.dataset, 'utf8'));
  const rows = [0, 19, 100];
  const instances = rows.map((r) => Object.fromEntries(table.columns.filter((c) => c.name !== TARGET).map((c) => [c.name, Number(cellText(c, r))])));
  const truth = rows.map((r) => cellText(table.columns.find((c) => c.name === TARGET)!, r));
  const answer = await api.post<{ predictions: { label: string; probabilities: Record<string, number> }[]; model: { name: string; version: number } }>(`/v1/models/${MODEL}/predict`, { instances });
  log(`POST /v1/models/${MODEL}/predict -> served by ${answer.model.name} v${answer.model.version}`);
  answer.predictions.forEach((p, i) => {
    const probs = Object.entries(p.probabilities).map(([k, v]) => `${k}=${v.toFixed(4)}`).join(' ');
    log(`  row ${rows[i]}: predicted ${p.label} (${probs}); actual ${truth[i]}`);
  });
  log(`\nthe run in the Temporal Web UI: ${started.uiUrl}`);
  return true;
}
