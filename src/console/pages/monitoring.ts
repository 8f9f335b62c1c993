/**
 * Monitoring: per model, the drift checks over time (share of drifting features), the latest check's
 * per-feature PSI and p-values, each check's drift report, the alerts raised and suppressed, and the
 * review queue, where a person labels the answers the model was least sure of.
 */
import { listAlerts } from '../../alerts/alerter';
import { formatPercent } from '../../reports/html';
import { lineChart } from '../../reports/svg-charts';
import type { MonitorCheck } from '../../store/monitoring';
import { ConsoleDeps, may } from '../deps';
import { csrfField, escapeHtml, formatNumber, Html, link, PageContext, stateBadge, table, UI, when } from '../html';

export const LABEL_ROUTE = 'POST /v1/review/:id/label' as const;

export async function monitoringIndex(deps: ConsoleDeps): Promise<Html> {
  const [models, latest, alerts] = await Promise.all([deps.catalog.models(), deps.repos.monitoring.latestChecks(), listAlerts(deps.repos, { limit: 20 })]);
  const byModel = new Map(latest.map((c) => [c.model, c]));
  const rows = models.map((m) => {
    const c = byModel.get(m.name);
    return [link(`${UI}/monitoring/${encodeURIComponent(m.name)}`, m.name), c ? when(c.checkedAt) : '<span class="muted">never checked</span>', c?.drift ? `${stateBadge(c.drift.datasetDrift ? 'drift' : 'ok')} ${escapeHtml(formatPercent(c.drift.driftedShare))} of features` : '—', escapeHtml(c ? String(c.breaches.length) : '—')];
  });
  return `${table(['Model', 'Last check', 'Drift', 'Breaches'], rows, { empty: 'No model yet.', id: 'monitored' })}<h2>Recent alerts</h2>${alertTable(alerts)}`;
}

function alertTable(alerts: Awaited<ReturnType<typeof listAlerts>>): Html {
  const rows = alerts.map((a) => [when(a.createdAt), escapeHtml(a.model ?? ''), stateBadge(a.severity), escapeHtml(a.title), stateBadge(a.state), escapeHtml(a.reason ?? '')]);
  return table(['When', 'Model', 'Severity', 'Alert', 'State', 'Why'], rows, { empty: 'No alert raised.', id: 'alerts' });
}

function driftOverTime(checks: MonitorCheck[]): Html {
  const withDrift = [...checks].reverse().filter((c) => c.drift);
  if (withDrift.length < 2) return '<p class="muted">The chart of drift over time needs two checks with traffic.</p>';
  return lineChart({
    title: 'Share of drifting features per check', xLabel: 'check (oldest to newest)', yLabel: 'share drifting', height: 260, width: 520, yDomain: [0, 1],
    series: [{ name: 'drifting share', colour: '#e8702a', xs: withDrift.map((_, i) => i + 1), ys: withDrift.map((c) => c.drift!.driftedShare) }],
  });
}

function featureTable(check: MonitorCheck | undefined): Html {
  if (!check?.drift) return '<p class="muted">No check with traffic yet.</p>';
  const rows = [...check.drift.features].sort((a, b) => b.psi - a.psi).map((f) => [escapeHtml(f.name), escapeHtml(f.test), escapeHtml(formatNumber(f.psi)), escapeHtml(formatNumber(f.pvalue)), f.drifted ? stateBadge('drift') : stateBadge('ok')]);
  return table(['Feature', 'Test', 'PSI', 'p-value', 'Verdict'], rows, { caption: `Latest check ${check.id} (${check.drift.currentRows} rows against ${check.drift.referenceRows})`, id: 'features' });
}

/** A served answer in short: the predicted label and the probabilities, or the value. */
function answer(output: unknown): Html {
  const o = output as { label?: unknown; probabilities?: Record<string, number>; value?: unknown } | null;
  if (o && typeof o === 'object' && 'label' in o) {
    const probabilities = Object.entries(o.probabilities ?? {}).map(([k, p]) => `${k} ${formatNumber(p, 3)}`).join(', ');
    return `<strong>${escapeHtml(String(o.label))}</strong>${probabilities ? ` <span class="muted">(${escapeHtml(probabilities)})</span>` : ''}`;
  }
  return `<code>${escapeHtml(JSON.stringify(output))}</code>`;
}

function reviewQueue(deps: ConsoleDeps, ctx: PageContext, items: Awaited<ReturnType<ConsoleDeps['repos']['review']['listReview']>>): Html {
  const canLabel = may(deps, ctx, LABEL_ROUTE);
  const rows = items.map((i) => [
    when(i.createdAt), `v${escapeHtml(String(i.version))}`, escapeHtml(formatNumber(i.uncertainty, 3)), answer(i.output),
    `<details><summary>inputs</summary><code class="long">${escapeHtml(JSON.stringify(i.instance))}</code></details>`,
    canLabel
      ? `<form class="inline" method="post" action="${UI}/review/${encodeURIComponent(i.predictionId)}/label" data-prediction="${escapeHtml(i.predictionId)}">${csrfField(ctx)}<label class="inline">Label <input name="label" required maxlength="500" size="10"></label><button type="submit">Save label</button></form>`
      : '<span class="muted">a scientist labels</span>',
  ]);
  return table(['Answered', 'Version', 'Uncertainty', 'Answer', 'Inputs', 'Label'], rows, { empty: 'The review queue is empty.', id: 'review' });
}

export async function modelMonitoringPage(deps: ConsoleDeps, ctx: PageContext, model: string, done?: string): Promise<Html> {
  const [overview, alerts, review, labelled] = await Promise.all([
    deps.monitoring.overview(model), listAlerts(deps.repos, { model, limit: 30 }),
    deps.repos.review.listReview({ model, state: 'open', limit: 25, keys: deps.privacy.decryptionKeys }),
    deps.repos.review.listReview({ model, state: 'labelled', limit: 20, keys: deps.privacy.decryptionKeys }),
  ]);
  const checks = overview.checks;
  const checkRows = checks.map((c) => [when(c.checkedAt), `v${escapeHtml(String(c.version))}`, escapeHtml(formatNumber(c.rows)), c.drift ? `${stateBadge(c.drift.datasetDrift ? 'drift' : 'ok')} ${escapeHtml(formatPercent(c.drift.driftedShare))}` : '—',
    escapeHtml(c.breaches.map((b) => `${b.kind}: ${b.message}`).join('; ') || 'none'), link(`${UI}/monitoring/${encodeURIComponent(model)}/checks/${encodeURIComponent(c.id)}/report`, 'drift report')]);
  const labelledRows = labelled.map((i) => [when(i.labelledAt), escapeHtml(i.label ?? ''), escapeHtml(i.labelledBy ?? ''), `<code>${escapeHtml(JSON.stringify(i.output))}</code>`]);
  return `${done ?? ''}<p>${link(`${UI}/monitoring`, '← all models')} · ${link(`${UI}/registry/${encodeURIComponent(model)}`, 'registry')}</p>
    <h2>Drift over time</h2><div class="row">${driftOverTime(checks)}<div>${featureTable(checks.find((c) => c.drift))}</div></div>
    <h2>Checks</h2>${table(['When', 'Version', 'Rows', 'Drift', 'Breaches', 'Report'], checkRows, { empty: 'No check yet.', id: 'checks' })}
    <h2>Alerts</h2>${alertTable(alerts)}
    <h2>Review queue</h2><p class="muted">The answers the model was least sure of; a label joins the next retraining's data.</p>${reviewQueue(deps, ctx, review)}
    <h3>Labelled</h3>${table(['When', 'Label', 'By', 'Answer'], labelledRows, { empty: 'Nothing labelled yet.', id: 'labelled' })}`;
}
