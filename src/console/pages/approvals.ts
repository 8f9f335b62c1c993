/**
 * Approvals: each run waiting for a decision, with its metrics beside the champion's, its data version
 * and schema changes, and what the policy still needs (k of n approvers, four-eyes); Approve and Reject
 * with a comment for those whose role allows it. Below, who decided what on recent runs.
 */
import type { PipelineView } from '../../usecases/pipelines';
import { ConsoleDeps, may } from '../deps';
import { csrfField, escapeHtml, externalLink, formatNumber, Html, link, PageContext, stateBadge, table, UI, when } from '../html';

export const APPROVAL_ROUTE = 'POST /v1/pipelines/:id/approval' as const;

function comparison(run: PipelineView): Html {
  const mine = (run.metrics ?? {}) as Record<string, unknown>;
  const champ = (run.champion?.metrics ?? {}) as Record<string, unknown>;
  const names = [...new Set([...Object.keys(mine), ...Object.keys(champ)])].filter((k) => typeof mine[k] === 'number' || typeof champ[k] === 'number');
  const f = (v: unknown) => (typeof v === 'number' ? escapeHtml(formatNumber(v)) : '<span class="muted">—</span>');
  const rows = names.map((n) => [`<code>${escapeHtml(n)}</code>`, f(mine[n]), f(champ[n])]);
  const champion = run.champion ? `champion v${run.champion.version}` : 'champion (none in production)';
  return `${table(['Metric', 'this run', champion], rows, { empty: 'No metrics yet.' })}${run.champion?.skipped ? `<p class="muted">The champion was not scored: ${escapeHtml(run.champion.skipped)}</p>` : ''}`;
}

function policy(run: PipelineView): Html {
  const g = run.approval?.governance;
  const needed = g?.approvers ?? 1;
  const have = run.approval?.approvals ?? 0;
  const parts = [`<strong>${escapeHtml(String(have))} of ${escapeHtml(String(needed))}</strong> approvals`];
  if (g?.fourEyes) parts.push(`four-eyes: ${escapeHtml(run.requestedBy ?? 'the person who started it')} may not approve`);
  if (run.approval?.thresholdFailures?.length) parts.push(`thresholds missed: ${escapeHtml(run.approval.thresholdFailures.join('; '))}`);
  return `<p class="policy">Policy needs: ${parts.join(' · ')}</p>`;
}

function received(run: PipelineView): Html {
  const list = run.approval?.received ?? [];
  if (list.length === 0) return '';
  return `<ul class="received">${list.map((d) => `<li>${when(d.at)} <strong>${escapeHtml(d.by)}</strong> ${escapeHtml(d.decision)}${d.channel ? ` via ${escapeHtml(d.channel)}` : ''}${d.comment ? `: “${escapeHtml(d.comment)}”` : ''}${d.counted ? '' : ` <span class="muted">(not counted${d.reason ? `: ${escapeHtml(d.reason)}` : ''})</span>`}</li>`).join('')}</ul>`;
}

function decisionForm(ctx: PageContext, run: PipelineView): Html {
  const id = escapeHtml(run.id);
  return `<form class="actions" method="post" action="${UI}/approvals/${encodeURIComponent(run.id)}" aria-label="Decide on ${id}">${csrfField(ctx)}
    <label>Comment <textarea name="comment" rows="2" cols="40" maxlength="2000"></textarea></label>
    <button class="primary" type="submit" name="decision" value="approve">Approve</button>
    <button class="danger" type="submit" name="decision" value="reject">Reject</button></form>`;
}

function waitingCard(deps: ConsoleDeps, ctx: PageContext, run: PipelineView): Html {
  const changes = run.approval?.schemaChanges ?? [];
  return `<article class="card" data-run="${escapeHtml(run.id)}" aria-labelledby="run-${escapeHtml(run.id)}">
    <h3 id="run-${escapeHtml(run.id)}">${escapeHtml(run.model ?? '')} · ${escapeHtml(run.id)} ${stateBadge(run.state)}</h3>
    <p class="muted">started ${when(run.startedAt)} by ${escapeHtml(run.requestedBy ?? 'unknown')} · ${externalLink(run.uiUrl, 'Temporal Web UI')}${run.model && run.modelVersion ? ` · ${link(`${UI}/registry/${encodeURIComponent(run.model)}/versions/${run.modelVersion}/report`, `report of v${run.modelVersion}`)}` : ''}</p>
    <div class="row"><div>${comparison(run)}</div>
    <div><p>Data version: ${run.datasetId ? link(`${UI}/datasets/${run.datasetId}`, run.datasetId.slice(0, 12)) : '—'}</p>
    <p>Schema changes against production: ${changes.length ? `<ul>${changes.map((c) => `<li>${escapeHtml(c)}</li>`).join('')}</ul>` : 'none'}</p>
    ${policy(run)}${received(run)}</div></div>
    ${may(deps, ctx, APPROVAL_ROUTE) ? decisionForm(ctx, run) : '<p class="muted">Your role cannot decide on runs (an approver can).</p>'}
  </article>`;
}

export async function approvalsPage(deps: ConsoleDeps, ctx: PageContext, done?: string): Promise<Html> {
  const runs = await deps.pipelines.list({ limit: 50 });
  const waiting = runs.filter((r) => r.state === 'awaiting_approval');
  const decided = runs.filter((r) => r.approval?.decision || (r.approval?.received?.length ?? 0) > 0).filter((r) => r.state !== 'awaiting_approval');
  const history = decided.map((r) => {
    const d = r.approval?.decision;
    return [escapeHtml(r.model ?? ''), escapeHtml(r.id), stateBadge(r.state), d ? `${escapeHtml(d.decision)} by <strong>${escapeHtml(d.by)}</strong> (${escapeHtml(d.via)}${d.channel ? `, ${escapeHtml(d.channel)}` : ''})` : '—', escapeHtml(d?.comment ?? ''), received(r)];
  });
  return `${done ?? ''}<h2>Waiting for a decision</h2>
    ${waiting.length ? waiting.map((r) => waitingCard(deps, ctx, r)).join('') : '<p class="empty">No run is waiting for a decision.</p>'}
    <h2>Decided</h2>${table(['Model', 'Run', 'State', 'Decision', 'Comment', 'Every decision received'], history, { empty: 'No decision yet.', id: 'decided' })}`;
}
