/**
 * Rollouts: canary, blue-green and shadow rollouts of every model, with the current step, the share of
 * traffic the new version gets and each step's analysis (the comparisons with production); Promote and
 * Abort for a running one, for those whose role allows it. The list refreshes every 3 s.
 */
import { formatPercent } from '../../reports/html';
import type { RolloutStatus } from '../../workflows/rollouts/rollout';
import { trafficBar } from '../charts';
import { ConsoleDeps, may } from '../deps';
import { csrfField, escapeHtml, externalLink, formatNumber, Html, PageContext, stateBadge, table, UI, when } from '../html';

export const PROMOTE_ROUTE = 'POST /v1/models/:name/deployments/:id/promote' as const;
export const ABORT_ROUTE = 'POST /v1/models/:name/deployments/:id/abort' as const;

type Comparison = RolloutStatus['comparisons'][number];

function analysis(comparisons: Comparison[]): Html {
  const v = (x: number | null | undefined, pct = false) => escapeHtml(pct ? formatPercent(x) : formatNumber(x ?? null));
  const rows = comparisons.map((c) => [when(c.at), `${v(c.candidate.requests)} / ${v(c.production.requests)}`, `${v(c.candidate.errorRate, true)} / ${v(c.production.errorRate, true)}`,
    `${v(c.candidate.p99Ms)} / ${v(c.production.p99Ms)}`, `${v(c.candidate.accuracy, true)} / ${v(c.production.accuracy, true)}`, v(c.psi),
    c.breaches.length ? stateBadge(c.breaches.join('; ')) : c.conclusive ? stateBadge('ok') : '<span class="muted">too little traffic</span>']);
  return table(['When', 'Requests (new / prod)', 'Error rate', 'p99 ms', 'Accuracy', 'Output PSI', 'Verdict'], rows, { empty: 'No analysis yet.', caption: 'Analysis of each step' });
}

function actions(deps: ConsoleDeps, ctx: PageContext, model: string, id: string): Html {
  if (!may(deps, ctx, PROMOTE_ROUTE)) return '<p class="muted">Your role cannot steer rollouts (an approver can).</p>';
  const base = `${UI}/rollouts/${encodeURIComponent(model)}/${encodeURIComponent(id)}`;
  return `<div class="actions"><form method="post" action="${base}/promote">${csrfField(ctx)}<button class="primary" type="submit">Promote</button></form>
    <form method="post" action="${base}/abort">${csrfField(ctx)}<button class="danger" type="submit">Abort</button></form></div>`;
}

/** Every model's rollouts, running ones first with their live status: the fragment htmx refreshes. */
export async function rolloutsFragment(deps: ConsoleDeps, ctx: PageContext): Promise<Html> {
  const models = await deps.catalog.models();
  const all = (await Promise.all(models.map((m) => deps.rollouts.list(m.name)))).flat();
  const running = all.filter((r) => r.state === 'running');
  const cards = await Promise.all(running.map(async (r) => {
    const live = await deps.rollouts.get(r.modelName, r.id).catch(() => undefined);
    const s = live?.status;
    return `<article class="card" data-rollout="${escapeHtml(r.id)}"><h3>${escapeHtml(r.modelName)} v${escapeHtml(String(r.version))} · ${escapeHtml(r.strategy)} ${stateBadge(s?.state ?? r.state)}</h3>
      <p>Step ${escapeHtml(String(s?.step ?? r.step ?? 0))} · ${r.strategy === 'shadow' ? 'traffic copied to' : 'traffic to'} v${escapeHtml(String(r.version))}: ${trafficBar(s?.percent ?? r.percent)} · replacing ${r.fromVersion ? `v${escapeHtml(String(r.fromVersion))}` : 'nothing'} · ${externalLink(deps.uiUrl(r.id), 'Temporal Web UI')}</p>
      ${analysis(s?.comparisons ?? [])}${actions(deps, ctx, r.modelName, r.id)}</article>`;
  }));
  const ended = all.filter((r) => r.state !== 'running').sort((a, b) => b.startedAt.localeCompare(a.startedAt)).slice(0, 30)
    .map((r) => [escapeHtml(r.modelName), `v${escapeHtml(String(r.version))}`, escapeHtml(r.strategy), stateBadge(r.state), escapeHtml(r.actor), when(r.startedAt), when(r.endedAt), externalLink(deps.uiUrl(r.id), 'Temporal')]);
  return `<div id="rollouts" hx-get="${UI}/rollouts/live" hx-trigger="every 3s" hx-swap="outerHTML">
    <h2>Running</h2>${cards.length ? cards.join('') : '<p class="empty">No rollout is running.</p>'}
    <h2>Ended</h2>${table(['Model', 'Version', 'Strategy', 'Outcome', 'Started by', 'Started', 'Ended', 'Links'], ended, { empty: 'No rollout yet.', id: 'ended-rollouts' })}</div>`;
}
