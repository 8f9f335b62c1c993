/**
 * The console's static files. The style sheet and the small script are strings here, so `npm run build`
 * compiles them into dist with the rest; htmx is read from the installed htmx.org package (a runtime
 * dependency), never a CDN: the console works with no internet.
 */
import fs from 'node:fs';

export const CONSOLE_CSS = `
:root { color-scheme: light dark; --bg: #ffffff; --fg: #1d232b; --muted: #5b6470; --line: #dfe3e8; --panel: #f5f7f9; --accent: #1f5fbf;
  --good-bg: #e3f4e8; --good: #1d6b34; --bad-bg: #fde4e1; --bad: #a4261b; --warn-bg: #fff3d6; --warn: #7a5200; --neutral-bg: #eceff3; --neutral: #39424e; --focus: #f59e0b; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #15191e; --fg: #e6e9ed; --muted: #9aa4b0; --line: #2e353d; --panel: #1d232a; --accent: #7fb0ff;
    --good-bg: #173a24; --good: #8fe0a8; --bad-bg: #4a1d19; --bad: #ffb0a6; --warn-bg: #43330f; --warn: #ffd27a; --neutral-bg: #2a3139; --neutral: #cdd4dc; }
}
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--accent); }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
nav.top { display: flex; align-items: center; gap: 20px; padding: 8px 24px; border-bottom: 1px solid var(--line); background: var(--panel); flex-wrap: wrap; }
nav.top .brand { font-weight: 700; text-decoration: none; color: var(--fg); }
nav.top ul { list-style: none; display: flex; gap: 4px; margin: 0; padding: 0; flex-wrap: wrap; }
nav.top li a { display: block; padding: 6px 10px; border-radius: 6px; text-decoration: none; }
nav.top li a[aria-current="page"] { background: var(--accent); color: var(--bg); }
nav.top .who { margin-left: auto; display: flex; align-items: center; gap: 10px; }
.role { font-size: 12px; color: var(--muted); border: 1px solid var(--line); border-radius: 8px; padding: 0 6px; }
main { padding: 16px 24px 48px; max-width: 1400px; }
h1 { font-size: 22px; margin: 4px 0 12px; }
h2 { font-size: 17px; margin: 24px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 0 0 6px; }
table.grid { border-collapse: collapse; width: 100%; margin: 6px 0 12px; }
table.grid th, table.grid td { text-align: left; padding: 5px 10px 5px 0; border-bottom: 1px solid var(--line); vertical-align: top; }
table.grid th { font-weight: 600; }
table.grid td { overflow-wrap: break-word; }
/* long JSON (audit details, settings, inputs) breaks anywhere; names and numbers do not */
code.long { white-space: pre-wrap; word-break: break-all; }
caption { text-align: left; font-weight: 600; padding-bottom: 4px; }
.muted, .empty { color: var(--muted); }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; white-space: nowrap; }
.badge.good { background: var(--good-bg); color: var(--good); }
.badge.bad { background: var(--bad-bg); color: var(--bad); }
.badge.warn { background: var(--warn-bg); color: var(--warn); }
.badge.neutral { background: var(--neutral-bg); color: var(--neutral); }
.notice { padding: 8px 12px; border-radius: 6px; }
.notice.good { background: var(--good-bg); color: var(--good); }
.notice.bad { background: var(--bad-bg); color: var(--bad); }
dl.metrics { display: flex; flex-wrap: wrap; gap: 4px 14px; margin: 0; }
dl.metrics div { display: flex; gap: 4px; }
dl.metrics dt { color: var(--muted); }
dl.metrics dd { margin: 0; font-variant-numeric: tabular-nums; }
form.filters { display: flex; flex-wrap: wrap; gap: 10px; align-items: flex-end; margin: 8px 0; }
label { display: flex; flex-direction: column; gap: 2px; font-size: 13px; color: var(--muted); }
label.inline { flex-direction: row; align-items: center; gap: 6px; color: var(--fg); }
input, select, textarea, button { font: inherit; color: var(--fg); background: var(--bg); border: 1px solid var(--line); border-radius: 6px; padding: 5px 8px; }
button { cursor: pointer; background: var(--panel); }
button.primary { background: var(--accent); color: var(--bg); border-color: var(--accent); }
button.danger { border-color: var(--bad); color: var(--bad); }
article.card { border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; margin: 12px 0; background: var(--panel); }
.row { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
form.inline { display: flex; gap: 6px; align-items: center; margin: 0; }
.actions { display: flex; flex-wrap: wrap; gap: 10px; align-items: flex-end; margin-top: 10px; }
ol.stages { display: flex; list-style: none; padding: 0; margin: 4px 0; gap: 2px; }
ol.stages li { flex: 1; min-width: 60px; text-align: center; font-size: 11px; padding: 3px 2px; background: var(--neutral-bg); color: var(--muted); }
ol.stages li:first-child { border-radius: 6px 0 0 6px; }
ol.stages li:last-child { border-radius: 0 6px 6px 0; }
ol.stages li.done { background: var(--good-bg); color: var(--good); }
ol.stages li.current { background: var(--accent); color: var(--bg); font-weight: 700; }
ol.stages li.failed { background: var(--bad-bg); color: var(--bad); font-weight: 700; }
.traffic svg .track { fill: var(--neutral-bg); }
.traffic svg .fill { fill: var(--accent); }
figure { margin: 8px 0; }
figure.chart svg, figure.lineage svg { max-width: 100%; height: auto; }
figure.lineage .node { fill: var(--panel); stroke: var(--accent); stroke-width: 1.5; }
figure.lineage .node.dataset { stroke: #2e8b4a; }
figure.lineage .node.deployment { stroke: #e8702a; }
figure.lineage text { fill: var(--fg); font-size: 12px; }
figure.lineage text.label { font-weight: 600; }
figure.lineage text.detail { fill: var(--muted); }
figure.lineage .edge { stroke: var(--muted); stroke-width: 1.5; }
figure.lineage .arrowhead { fill: var(--muted); }
/* signed out: the sign-in card alone, in the middle */
body:not([data-csrf]) main { margin: 0 auto; }
body:not([data-csrf]) main h1 { text-align: center; margin-top: 10vh; }
.signin { max-width: 420px; margin: 16px auto; padding: 24px; border: 1px solid var(--line); border-radius: 10px; background: var(--panel); }
.signin form { display: flex; flex-direction: column; gap: 12px; }
code { font-size: 12px; }
time { white-space: nowrap; }
`;

/**
 * Every htmx request carries the session's anti-forgery token as a header (forms carry it as a field
 * too), read from the page, never from a cookie the script could not see anyway.
 */
export const CONSOLE_JS = `
document.addEventListener('htmx:configRequest', function (event) {
  var token = document.body.getAttribute('data-csrf');
  if (token) event.detail.headers['X-CSRF-Token'] = token;
});
`;

let htmx: Buffer | undefined;

/** htmx's minified build, from the installed package (read once). */
export function htmxScript(): Buffer {
  htmx ??= fs.readFileSync(require.resolve('htmx.org/dist/htmx.min.js'));
  return htmx;
}
