/** Audit: the hash-chained log, filterable by action and subject, with the chain's verification status. */
import type { Request } from 'express';
import { ApiError } from '../../errors';
import { ConsoleDeps, queryParam } from '../deps';
import { escapeHtml, Html, link, stateBadge, table, UI, when } from '../html';

export async function auditPage(deps: ConsoleDeps, req: Request): Promise<Html> {
  const action = queryParam(req, 'action'), subject = queryParam(req, 'subject'), beforeText = queryParam(req, 'before');
  const before = beforeText === undefined ? undefined : Number(beforeText);
  if (before !== undefined && (!Number.isSafeInteger(before) || before < 1)) throw new ApiError('invalid_request', 'before must be an audit entry id (a positive whole number)');
  const [entries, verification] = await Promise.all([deps.repos.audit.listAudit({ limit: 100, action, subject, before }), deps.repos.audit.verifyAuditChain()]);
  const status = verification.ok
    ? `${stateBadge('verified')} the chain of ${escapeHtml(String(verification.entries))} entries is intact${verification.head ? ` (head #${verification.head.id}, <code>${escapeHtml(verification.head.hash.slice(0, 16))}…</code>)` : ''}`
    : `${stateBadge('broken')} the chain breaks at entry #${escapeHtml(String(verification.firstBroken?.id))}: ${escapeHtml(verification.firstBroken?.reason ?? '')}`;
  const rows = entries.map((e) => [escapeHtml(String(e.id)), when(e.at), escapeHtml(e.actor), `<code>${escapeHtml(e.action)}</code>`, escapeHtml(e.subject), `<code class="long">${escapeHtml(JSON.stringify(e.details).slice(0, 400))}</code>`]);
  const last = entries[entries.length - 1];
  const params = (extra: Record<string, string>) => new URLSearchParams({ ...(action ? { action } : {}), ...(subject ? { subject } : {}), ...extra }).toString();
  return `<p class="verification" role="status">${status}</p>
    <form class="filters" method="get" action="${UI}/audit" role="search" aria-label="Filter the audit log">
      <label>Action <input name="action" value="${escapeHtml(action ?? '')}" placeholder="approval.decided"></label>
      <label>Subject <input name="subject" value="${escapeHtml(subject ?? '')}"></label>
      <button type="submit">Filter</button></form>
    ${table(['#', 'When', 'Actor', 'Action', 'Subject', 'Details'], rows, { empty: 'No entry matches.', id: 'audit' })}
    ${last && entries.length === 100 ? `<p>${link(`${UI}/audit?${params({ before: String(last.id) })}`, 'Older entries')}</p>` : ''}`;
}
