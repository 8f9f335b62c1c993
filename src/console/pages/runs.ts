/**
 * Runs: the pipeline runs with filters (model, state, trigger, start date), the ones in progress with
 * their stage bar (refreshed every 2 s), and a side-by-side comparison of 2 to 5 runs.
 */
import type { Request } from 'express';
import { ApiError } from '../../errors';
import { groupedBars } from '../../reports/svg-charts';
import type { PipelineView } from '../../usecases/pipelines';
import { stageBar } from '../charts';
import { ConsoleDeps, queryParam } from '../deps';
import { escapeHtml, externalLink, formatNumber, Html, link, metricList, PageContext, stateBadge, table, UI, when } from '../html';

const STATES = ['running', 'awaiting_approval', 'deployed', 'rejected', 'failed'];
const TRIGGERS = ['manual', 'drift', 'quality', 'new-data', 'schedule'];
const SERIES_COLOURS = ['#1f6fd1', '#e8702a', '#2e8b4a', '#8e3fb8', '#c8392b'];

export interface RunFilters { model?: string; state?: string; trigger?: string; since?: string }

export function runFilters(req: Request): RunFilters {
  const f: RunFilters = { model: queryParam(req, 'model'), state: queryParam(req, 'state'), trigger: queryParam(req, 'trigger'), since: queryParam(req, 'since') };
  if (f.state && !STATES.includes(f.state)) throw new ApiError('invalid_request', `state is one of ${STATES.join(', ')}`);
  if (f.trigger && !TRIGGERS.includes(f.trigger)) throw new ApiError('invalid_request', `trigger is one of ${TRIGGERS.join(', ')}`);
  if (f.since && (!/^\d{4}-\d{2}-\d{2}$/.test(f.since) || Number.isNaN(Date.parse(f.since)))) throw new ApiError('invalid_request', 'since is a date, as 2026-12-31');
  return f;
}

/** Runs matching the filters: model and date narrow the listing, state and trigger are read from each run. */
export async function findRuns(deps: ConsoleDeps, f: RunFilters, limit = 40): Promise<PipelineView[]> {
  const runs = await deps.pipelines.list({ model: f.model, since: f.since ? new Date(`${f.since}T00:00:00Z`) : undefined, limit });
  return runs.filter((r) => (!f.state || r.state === f.state) && (!f.trigger || (r.trigger?.kind ?? 'manual') === f.trigger));
}

const runLink = (r: PipelineView) => link(`${UI}/runs/compare?id=${encodeURIComponent(r.id)}`, r.id);

/** The runs in progress, each with its stage bar: the fragment htmx refreshes. */
export function progressFragment(runs: PipelineView[]): Html {
  const live = runs.filter((r) => r.state === 'running' || r.state === 'awaiting_approval');
  const body = live.length === 0
    ? '<p class="empty">No run is in progress.</p>'
    : live.map((r) => `<article class="card" data-run="${escapeHtml(r.id)}"><h3>${escapeHtml(r.model ?? '')} · ${runLink(r)} ${stateBadge(r.state)}</h3>${stageBar(r.stage, r.state)}<p class="muted">started ${when(r.startedAt)} · ${externalLink(r.uiUrl, 'Temporal Web UI')}</p></article>`).join('');
  return `<section id="progress" hx-get="${UI}/runs/progress" hx-trigger="every 2s" hx-swap="outerHTML" aria-live="polite"><h2>In progress</h2>${body}</section>`;
}

export async function runsPage(deps: ConsoleDeps, ctx: PageContext, req: Request): Promise<Html> {
  const f = runFilters(req);
  const [runs, live] = await Promise.all([findRuns(deps, f), deps.pipelines.list({ running: true, limit: 20 })]);
  const option = (value: string, selected?: string) => `<option value="${escapeHtml(value)}"${value === selected ? ' selected' : ''}>${escapeHtml(value || 'any')}</option>`;
  const filters = `<form class="filters" method="get" action="${UI}/runs" role="search" aria-label="Filter runs">
    <label>Model <input name="model" value="${escapeHtml(f.model ?? '')}" pattern="[A-Za-z0-9_.-]*"></label>
    <label>State <select name="state">${['', ...STATES].map((s) => option(s, f.state ?? '')).join('')}</select></label>
    <label>Trigger <select name="trigger">${['', ...TRIGGERS].map((s) => option(s, f.trigger ?? '')).join('')}</select></label>
    <label>Started since <input type="date" name="since" value="${escapeHtml(f.since ?? '')}"></label>
    <button type="submit">Filter</button></form>`;
  const rows = runs.map((r) => [
    `<input type="checkbox" name="id" value="${escapeHtml(r.id)}" aria-label="Compare ${escapeHtml(r.id)}">`,
    runLink(r), escapeHtml(r.model ?? ''), stateBadge(r.state), escapeHtml(r.stage ?? ''), escapeHtml(r.trigger?.kind ?? 'manual'),
    metricList(r.metrics as Record<string, unknown> | undefined), when(r.startedAt),
    `${externalLink(r.uiUrl, 'Temporal')}${r.model && r.modelVersion ? ` · ${link(`${UI}/registry/${encodeURIComponent(r.model)}/versions/${r.modelVersion}`, `v${r.modelVersion}`)}` : ''}`,
  ]);
  const list = `<form method="get" action="${UI}/runs/compare" aria-label="Compare runs">
    ${table(['', 'Run', 'Model', 'State', 'Stage', 'Trigger', 'Metrics', 'Started', 'Links'], rows, { empty: 'No run matches these filters.', id: 'runs' })}
    <button type="submit">Compare selected (2 to 5)</button></form>`;
  return `${progressFragment(live)}<h2>All runs</h2>${filters}${list}`;
}

/** Params, metrics and datasets of 2-5 runs side by side, with a chart of their metrics. */
export async function comparePage(deps: ConsoleDeps, _ctx: PageContext, req: Request): Promise<Html> {
  const raw = req.query.id;
  const ids = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).map(String);
  if (ids.length < 1 || ids.length > 5 || ids.some((id) => id.length > 200)) throw new ApiError('invalid_request', 'choose 1 to 5 runs to see (2 to 5 to compare)');
  const runs = await Promise.all(ids.map((id) => deps.pipelines.get(id)));
  const metricNames = [...new Set(runs.flatMap((r) => Object.entries(r.metrics ?? {}).filter(([, v]) => typeof v === 'number').map(([k]) => k)))];
  const paramNames = [...new Set(runs.flatMap((r) => Object.keys(r.params ?? {})))];
  const cell = (v: unknown) => {
    if (typeof v === 'number') return escapeHtml(formatNumber(v));
    if (v === undefined) return '<span class="muted">—</span>';
    const json = JSON.stringify(v);
    // settings such as preprocessing are large objects: folded, and cut short
    if (v !== null && typeof v === 'object') return `<details><summary>${escapeHtml(Array.isArray(v) ? `${v.length} items` : `${Object.keys(v).length} settings`)}</summary><code class="long">${escapeHtml(json.length > 600 ? `${json.slice(0, 600)}…` : json)}</code></details>`;
    return `<code>${escapeHtml(json)}</code>`;
  };
  const header = ['', ...runs.map((r) => r.id)];
  const rows: Html[][] = [
    ['<strong>model</strong>', ...runs.map((r) => escapeHtml(r.model ?? ''))],
    ['<strong>state</strong>', ...runs.map((r) => stateBadge(r.state))],
    ['<strong>kind</strong>', ...runs.map((r) => escapeHtml(r.kind ?? ''))],
    ['<strong>dataset version</strong>', ...runs.map((r) => (r.datasetId ? link(`${UI}/datasets/${r.datasetId}`, r.datasetId.slice(0, 12)) : '—'))],
    ['<strong>Temporal</strong>', ...runs.map((r) => externalLink(r.uiUrl, 'open'))],
    ...paramNames.map((p) => [`param <code>${escapeHtml(p)}</code>`, ...runs.map((r) => cell(r.params?.[p]))]),
    ...metricNames.map((m) => [`metric <code>${escapeHtml(m)}</code>`, ...runs.map((r) => cell((r.metrics as Record<string, unknown> | undefined)?.[m]))]),
  ];
  // the chart shows scores (0 to 1: accuracy, AUC, F1...); counts such as n would flatten them
  const valueOf = (r: PipelineView, m: string) => (r.metrics as Record<string, unknown> | undefined)?.[m];
  const scores = metricNames.filter((m) => runs.every((r) => { const v = valueOf(r, m); return v === undefined || (typeof v === 'number' && v >= 0 && v <= 1); }));
  const chart = scores.length > 0 && runs.length > 1
    ? groupedBars({ title: 'Scores by run', labels: scores, xLabel: 'metric', yLabel: 'value', series: runs.map((r, i) => ({ name: r.id, colour: SERIES_COLOURS[i], values: scores.map((m) => Number(valueOf(r, m) ?? 0)) })) })
    : '';
  return `${runs.length === 1 ? '<p class="muted">Choose two to five runs on the Runs page to compare them.</p>' : ''}${table(header, rows, { id: 'comparison' })}${chart}`;
}
