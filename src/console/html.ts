/**
 * The console's page frame and the small pieces every page uses. Pages are strings built by functions;
 * every value from users' data goes through `escapeHtml` (src/reports/html.ts), and links through
 * `safeHref`. Styles and scripts are files served from /ui/assets, so the Content-Security-Policy can
 * forbid inline script and style outright.
 */
import { escapeHtml, formatNumber, safeHref } from '../reports/html';
import type { Principal } from '../api/access';

export { escapeHtml, formatNumber, safeHref };

/** Markup already escaped: what page functions return and accept, so escaping happens once. */
export type Html = string;

/** The console's base path: every link and form is under it. */
export const UI = '/ui';

/** The navigation; `also` lists other paths under the same entry (dataset pages belong to the registry). */
export const NAV: { href: string; label: string; also?: string[] }[] = [
  { href: `${UI}/runs`, label: 'Runs' },
  { href: `${UI}/registry`, label: 'Registry', also: [`${UI}/datasets`] },
  { href: `${UI}/approvals`, label: 'Approvals' },
  { href: `${UI}/rollouts`, label: 'Rollouts' },
  { href: `${UI}/monitoring`, label: 'Monitoring' },
  { href: `${UI}/audit`, label: 'Audit' },
];

/** Who is signed in and the session's anti-forgery token: every page needs both. */
export interface PageContext {
  principal: Principal;
  csrfToken: string;
  /** The path of the page, to mark the current navigation entry. */
  path: string;
}

/** A link; `href` is made safe and escaped here. */
export const link = (href: string, label: string, attrs = ''): Html => `<a href="${escapeHtml(safeHref(href))}"${attrs ? ` ${attrs}` : ''}>${escapeHtml(label)}</a>`;

/** A link that leaves the console (the Temporal Web UI): a new tab, no referrer. */
export const externalLink = (href: string, label: string): Html => link(href, label, 'target="_blank" rel="noopener noreferrer"');

/** The hidden field that carries the session's anti-forgery token in every form that changes something. */
export const csrfField = (ctx: PageContext): Html => `<input type="hidden" name="_csrf" value="${escapeHtml(ctx.csrfToken)}">`;

/** A coloured state label. */
export function stateBadge(state: string): Html {
  const tone = /deployed|promoted|completed|ok|approved|production|sent|labelled|verified/.test(state) ? 'good'
    : /failed|rejected|rolled_back|aborted|drift|broken|critical/.test(state) ? 'bad'
      : /awaiting|running|preparing|suppressed|warning|candidate|staging/.test(state) ? 'warn' : 'neutral';
  return `<span class="badge ${tone}">${escapeHtml(state.replace(/_/g, ' '))}</span>`;
}

/** A table with a header row; cells are markup already escaped. */
export function table(headers: string[], rows: Html[][], o: { caption?: string; empty?: string; id?: string } = {}): Html {
  if (rows.length === 0) return `<p class="empty">${escapeHtml(o.empty ?? 'Nothing to show.')}</p>`;
  const head = headers.map((h) => `<th scope="col">${escapeHtml(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('');
  return `<table class="grid"${o.id ? ` id="${escapeHtml(o.id)}"` : ''}>${o.caption ? `<caption>${escapeHtml(o.caption)}</caption>` : ''}<thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

/** Metrics as "name value" pairs, numbers formatted. */
export function metricList(metrics: Record<string, unknown> | undefined | null): Html {
  const entries = Object.entries(metrics ?? {}).filter(([, v]) => typeof v === 'number');
  if (entries.length === 0) return '<span class="muted">none</span>';
  return `<dl class="metrics">${entries.map(([k, v]) => `<div><dt>${escapeHtml(k)}</dt><dd>${escapeHtml(formatNumber(v as number))}</dd></div>`).join('')}</dl>`;
}

/** A time for people, in UTC to the second (the same everywhere, as the audit log records it). */
export function when(iso: string | null | undefined): Html {
  if (!iso) return '<span class="muted">—</span>';
  return `<time datetime="${escapeHtml(iso)}">${escapeHtml(iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z'))}</time>`;
}

/** A short message box: an error or a notice after an action. */
export function notice(text: string, tone: 'good' | 'bad' = 'good'): Html {
  return `<p class="notice ${tone}" role="${tone === 'bad' ? 'alert' : 'status'}">${escapeHtml(text)}</p>`;
}

/** The whole document: navigation, who is signed in, sign-out, and the page. */
export function page(title: string, ctx: PageContext | undefined, body: Html): Html {
  const nav = ctx
    ? `<nav class="top" aria-label="Main"><a class="brand" href="${UI}/runs">mlops console</a><ul>${NAV.map((n) => `<li><a href="${n.href}"${[n.href, ...(n.also ?? [])].some((p) => ctx.path.startsWith(p)) ? ' aria-current="page"' : ''}>${escapeHtml(n.label)}</a></li>`).join('')}</ul>`
      + `<form class="who" method="post" action="${UI}/sign-out"><span>${escapeHtml(ctx.principal.name)} <span class="role">${escapeHtml(ctx.principal.role)}</span></span>${csrfField(ctx)}<button type="submit">Sign out</button></form></nav>`
    : '';
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    // htmx would otherwise add an inline <style> for its indicators, which the policy forbids
    '<meta name="htmx-config" content=\'{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false}\'>',
    `<title>${escapeHtml(title)} · mlops console</title>`,
    // no favicon request (it would be a 404 in every browser's console)
    '<link rel="icon" href="data:,">',
    `<link rel="stylesheet" href="${UI}/assets/console.css">`,
    `<script src="${UI}/assets/htmx.min.js" defer></script>`,
    `<script src="${UI}/assets/console.js" defer></script>`,
    '</head>',
    `<body${ctx ? ` data-csrf="${escapeHtml(ctx.csrfToken)}"` : ''}>`,
    nav,
    `<main id="main"><h1>${escapeHtml(title)}</h1>`,
    body,
    '</main>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** What the console's responses may load and run: only its own files; no inline script, no framing. */
export const CONSOLE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
