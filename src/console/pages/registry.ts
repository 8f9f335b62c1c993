/**
 * Registry: the models; a model's versions with status, aliases and metrics; a version with its report
 * and lineage graph (dataset → run → version → deployments); dataset versions and the diff of two.
 */
import type { Request } from 'express';
import { ApiError } from '../../errors';
import { formatPercent } from '../../reports/html';
import { lineageGraph, LineageNode } from '../charts';
import { ConsoleDeps, queryParam } from '../deps';
import { escapeHtml, externalLink, formatNumber, Html, link, metricList, stateBadge, table, UI, when } from '../html';

const modelHref = (name: string) => `${UI}/registry/${encodeURIComponent(name)}`;
const versionHref = (name: string, v: number) => `${modelHref(name)}/versions/${v}`;
const datasetHref = (id: string) => `${UI}/datasets/${encodeURIComponent(id)}`;

export async function modelsPage(deps: ConsoleDeps): Promise<Html> {
  const models = await deps.catalog.models();
  const rows = models.map((m) => [link(modelHref(m.name), m.name), escapeHtml(String(m.versionCount)), m.productionVersion ? link(versionHref(m.name, m.productionVersion), `v${m.productionVersion}`) : '<span class="muted">none</span>', m.latestVersion ? `v${m.latestVersion}` : '—', when(m.createdAt)]);
  return `${table(['Model', 'Versions', 'Production', 'Latest', 'Created'], rows, { empty: 'No model yet: start a pipeline (mlops run or POST /v1/pipelines).', id: 'models' })}
    <p>${link(`${UI}/datasets`, 'Dataset versions and their differences')}</p>`;
}

export async function modelPage(deps: ConsoleDeps, name: string): Promise<Html> {
  const model = await deps.catalog.model(name);
  const aliasesOf = (v: number) => Object.entries(model.aliases).filter(([, n]) => n === v).map(([a]) => stateBadge(a)).join(' ');
  const versions = [...model.versions].sort((a, b) => b.version - a.version).map((v) => [
    link(versionHref(name, v.version), `v${v.version}`), stateBadge(v.status), escapeHtml(v.deployment), aliasesOf(v.version) || '<span class="muted">—</span>',
    metricList(v.metrics), link(`${versionHref(name, v.version)}/report`, 'report'), when(v.createdAt),
  ]);
  const deployments = model.deployments.slice(0, 20).map((d) => [escapeHtml(String(d.id)), `v${d.version}`, escapeHtml(d.previousVersion ? `v${d.previousVersion}` : '—'), escapeHtml(d.strategy), escapeHtml(d.actor), escapeHtml(d.reason ?? ''), when(d.createdAt)]);
  return `<p>${link(`${UI}/registry`, '← all models')} · ${link(`${UI}/monitoring/${encodeURIComponent(name)}`, 'monitoring')} · ${link(`${UI}/runs?model=${encodeURIComponent(name)}`, 'runs')}</p>
    <h2>Versions</h2>${table(['Version', 'Status', 'Deployment', 'Aliases', 'Metrics', 'Report', 'Created'], versions, { id: 'versions' })}
    <h2>Deployments</h2>${table(['#', 'Version', 'Replaced', 'Strategy', 'By', 'Reason', 'When'], deployments, { empty: 'Never deployed.' })}`;
}

export async function versionPage(deps: ConsoleDeps, name: string, number: number): Promise<Html> {
  const v = await deps.catalog.version(name, number);
  const dataset = v.lineage.dataset as { id: string; sourceUri?: string; rowCount?: number };
  const nodes: LineageNode[] = [
    { id: 'dataset', kind: 'dataset', label: `dataset ${dataset.id.slice(0, 12)}`, detail: dataset.rowCount !== undefined ? `${formatNumber(dataset.rowCount)} rows` : 'dataset', href: datasetHref(dataset.id) },
    { id: 'run', kind: 'run', label: `run ${v.runId}`, detail: 'in the Temporal Web UI', href: v.lineage.run.uiUrl },
    { id: 'version', kind: 'version', label: `${name} v${v.version}`, detail: `${v.status}, ${v.deployment}`, href: `${versionHref(name, v.version)}/report` },
    ...v.lineage.deployments.map((d) => ({ id: `d${d.id}`, kind: 'deployment' as const, label: `deployment #${d.id}`, detail: `${d.strategy} by ${d.actor}`, href: `${UI}/rollouts` })),
  ];
  const edges: [string, string][] = [['dataset', 'run'], ['run', 'version'], ...v.lineage.deployments.map((d): [string, string] => ['version', `d${d.id}`])];
  const history = v.history.map((h) => [when(h.at), escapeHtml([h.event, h.toStatus, h.alias].filter(Boolean).join(' ')), escapeHtml(h.actor), escapeHtml(h.reason ?? '')]);
  return `<p>${link(modelHref(name), `← ${name}`)} · ${link(`${versionHref(name, v.version)}/report`, 'Version report (ROC, PR, confusion matrix or residuals)')} · ${externalLink(v.lineage.run.uiUrl, 'Run in the Temporal Web UI')}</p>
    <div class="row"><div><h2>Status</h2><p>${stateBadge(v.status)} ${escapeHtml(v.deployment)} ${v.aliases.map((a) => stateBadge(a)).join(' ')}</p>
    <h2>Metrics</h2>${metricList(v.metrics)}</div></div>
    <h2>Lineage</h2>${lineageGraph(nodes, edges)}
    <p class="muted">ONNX sha256 <code>${escapeHtml(v.onnxDigest)}</code> · code ${escapeHtml(v.codeVersion ?? 'unknown')} · ${escapeHtml(formatNumber(v.lineage.predictions.predictions))} predictions served</p>
    <h2>History</h2>${table(['When', 'What', 'By', 'Reason'], history, { empty: 'No events.' })}`;
}

export async function datasetsPage(deps: ConsoleDeps, req: Request): Promise<Html> {
  const datasets = await deps.catalog.datasets({ limit: 100 });
  const option = (id: string, chosen?: string) => `<option value="${escapeHtml(id)}"${id === chosen ? ' selected' : ''}>${escapeHtml(id.slice(0, 12))}</option>`;
  const rows = datasets.map((d) => [link(datasetHref(d.id), d.id.slice(0, 12)), escapeHtml(d.sourceUri), escapeHtml(formatNumber(d.rowCount)), escapeHtml(String(d.columns.length)), d.parentId ? link(datasetHref(d.parentId), d.parentId.slice(0, 12)) : '—', when(d.createdAt)]);
  const from = queryParam(req, 'from'), to = queryParam(req, 'to');
  let diff = '';
  if (from && to) diff = diffSection(await deps.catalog.diffDatasets(from, to));
  return `<p>${link(`${UI}/registry`, '← models')}</p>
    <form class="filters" method="get" action="${UI}/datasets" aria-label="Compare two dataset versions">
      <label>From <select name="from">${datasets.map((d) => option(d.id, from ?? datasets[1]?.id)).join('')}</select></label>
      <label>To <select name="to">${datasets.map((d) => option(d.id, to ?? datasets[0]?.id)).join('')}</select></label>
      <button type="submit">Show the difference</button></form>
    ${diff}<h2>Dataset versions</h2>${table(['Version', 'Source', 'Rows', 'Columns', 'Parent', 'Read'], rows, { empty: 'No dataset read yet.', id: 'datasets' })}`;
}

type Diff = Awaited<ReturnType<ConsoleDeps['catalog']['diffDatasets']>>;

function diffSection(d: Diff): Html {
  const change = (c: { before: number | null; after: number | null } | undefined, pct = false) => {
    if (!c) return '—';
    const f = (x: number | null) => (pct ? formatPercent(x) : formatNumber(x));
    return c.before === c.after ? escapeHtml(f(c.after)) : `${escapeHtml(f(c.before))} → <strong>${escapeHtml(f(c.after))}</strong>`;
  };
  const cols = d.columns.map((c) => [escapeHtml(c.name), escapeHtml(c.type), change(c.missingRatio, true), change(c.distinct), change(c.mean), change(c.std), escapeHtml(c.categories ? [...c.categories.added.map((x) => `+${x}`), ...c.categories.removed.map((x) => `−${x}`)].join(', ') : '')]);
  return `<h2>Difference ${escapeHtml(d.from.slice(0, 12))} → ${escapeHtml(d.to.slice(0, 12))}</h2>
    <p>Rows ${change(d.rows)}. Added: ${escapeHtml(d.added.map((a) => a.name).join(', ') || 'none')}. Removed: ${escapeHtml(d.removed.map((a) => a.name).join(', ') || 'none')}. Retyped: ${escapeHtml(d.retyped.map((r) => `${r.name} (${r.before} → ${r.after})`).join(', ') || 'none')}.</p>
    ${table(['Column', 'Type', 'Missing', 'Distinct', 'Mean', 'Std', 'Categories'], cols, { id: 'diff' })}`;
}

export async function datasetPage(deps: ConsoleDeps, id: string): Promise<Html> {
  const d = await deps.catalog.dataset(id);
  const lineage = await deps.catalog.datasetLineage(id);
  const cols = d.columns.map((c) => [escapeHtml(c.name), escapeHtml(c.type)]);
  const used = lineage.versions;
  return `<p>${link(`${UI}/datasets`, '← dataset versions')}</p>
    <p><code>${escapeHtml(d.id)}</code> · ${escapeHtml(d.sourceUri)} · ${escapeHtml(formatNumber(d.rowCount))} rows · read ${when(d.createdAt)}</p>
    ${used.length ? `<h2>Versions trained on it</h2><ul>${used.map((u) => `<li>${link(versionHref(u.model, u.version), `${u.model} v${u.version}`)}</li>`).join('')}</ul>` : ''}
    <h2>Columns</h2>${table(['Column', 'Type'], cols)}`;
}

/** The version number from the path, as the API reads it. */
export function versionParam(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 2 ** 31 - 1) throw new ApiError('invalid_request', `version must be a whole number from 1 to 2147483647, got "${value}"`);
  return n;
}
