/**
 * The HTML around the charts: escaping, number formatting, tables, links and the page itself.
 * Reports are opened straight from the API or saved to disk and mailed around, so a page carries
 * everything it needs (inline CSS, inline SVG) and runs no script at all.
 */

/** Text for HTML content and attribute values: model, feature and category names come from users' data. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/**
 * A number for people: integers in full with separators, others to `digits` significant figures,
 * very small or large ones in exponent form (p-values go down to 1e-300). Missing or NaN is "n/a".
 */
export function formatNumber(value: number | null | undefined, digits = 4): string {
  if (value === null || value === undefined || typeof value !== 'number' || Number.isNaN(value)) return 'n/a';
  if (!Number.isFinite(value)) return value > 0 ? '∞' : '−∞';
  if (Number.isInteger(value) && Math.abs(value) < 1e15) return value.toLocaleString('en-US');
  const magnitude = Math.abs(value);
  if (magnitude !== 0 && (magnitude < 1e-3 || magnitude >= 1e6)) return value.toExponential(digits - 1).replace(/\.?0+e/, 'e');
  return String(Number(value.toPrecision(digits)));
}

/** A share as a percentage: 0.1234 -> "12.3%". */
export function formatPercent(value: number | null | undefined, decimals = 1): string {
  if (value === null || value === undefined || typeof value !== 'number' || !Number.isFinite(value)) return 'n/a';
  return `${(value * 100).toFixed(decimals)}%`;
}

/**
 * An href that cannot run code: http(s), mailto, in-page anchors and relative paths pass; anything
 * with another scheme (javascript:, data:, vbscript:) becomes "#". The result still needs escaping.
 */
export function safeHref(href: string): string {
  const trimmed = String(href ?? '').trim();
  // Browsers ignore tabs and newlines inside a scheme ("java\tscript:"), so judge the text without them.
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is stripped here
  const compact = trimmed.replace(/[\u0000-\u0020]/g, '');
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(compact);
  if (!scheme) return trimmed;
  return ['http', 'https', 'mailto'].includes(scheme[1].toLowerCase()) ? trimmed : '#';
}

/** A two-column table of names and already formatted values (names are escaped here). */
export function keyValueTable(rows: [string, string][], caption?: string): string {
  if (rows.length === 0) return '';
  const body = rows.map(([k, v]) => `<tr><th scope="row">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('');
  return `<table class="kv">${caption ? `<caption>${escapeHtml(caption)}</caption>` : ''}<tbody>${body}</tbody></table>`;
}

/** The caller's links (Temporal Web UI, the run, the dataset), as a list. */
export function linkList(links: { label: string; href: string }[] | undefined): string {
  if (!links || links.length === 0) return '';
  const items = links.map((l) => `<li><a href="${escapeHtml(safeHref(l.href))}" rel="noopener noreferrer">${escapeHtml(l.label)}</a></li>`);
  return `<nav class="links"><ul>${items.join('')}</ul></nav>`;
}

/** A coloured label such as "drifted" or "production"; `tone` picks the colour. */
export function badge(text: string, tone: 'good' | 'bad' | 'neutral' = 'neutral'): string {
  return `<span class="badge ${tone}">${escapeHtml(text)}</span>`;
}

const STYLE = `
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; padding: 24px 32px 48px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d232b; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 10px; padding-bottom: 4px; border-bottom: 1px solid #e3e6ea; }
h3 { font-size: 15px; margin: 0 0 8px; }
p { margin: 6px 0; }
.meta { color: #5b6470; }
.links ul { list-style: none; padding: 0; margin: 8px 0 0; display: flex; flex-wrap: wrap; gap: 16px; }
a { color: #1f5fbf; }
table { border-collapse: collapse; margin: 6px 0; }
caption { text-align: left; font-weight: 600; padding-bottom: 4px; }
th, td { padding: 3px 12px 3px 0; text-align: left; vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
table.kv th { font-weight: normal; color: #5b6470; }
table.kv td { font-variant-numeric: tabular-nums; }
table.grid { border-top: 1px solid #e3e6ea; }
table.grid th { border-bottom: 1px solid #c9ced4; font-weight: 600; }
table.grid td { border-bottom: 1px solid #eef0f2; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; vertical-align: middle; }
.badge.good { background: #e3f4e8; color: #1d6b34; }
.badge.bad { background: #fde4e1; color: #a4261b; }
.badge.neutral { background: #eceff3; color: #39424e; }
.charts { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
figure.chart { margin: 0; }
figure.chart svg { display: block; max-width: 100%; height: auto; }
.summary { padding: 12px 16px; border-radius: 6px; background: #f5f7f9; border-left: 4px solid #8a94a0; }
.summary.bad { background: #fdf1ef; border-left-color: #c8392b; }
.summary.good { background: #eff8f2; border-left-color: #2e8b4a; }
.feature { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; padding: 14px 0; border-bottom: 1px solid #eef0f2; }
.feature .stats { min-width: 260px; }
.note { color: #5b6470; font-size: 13px; }
`;

/** A complete document. The Content-Security-Policy forbids scripts and remote loads outright, so even a
 * value that slipped past escaping could neither run nor phone home. */
export function htmlDocument(title: string, body: string): string {
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    `<body>\n${body}\n</body>`,
    '</html>',
    '',
  ].join('\n');
}
