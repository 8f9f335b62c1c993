/**
 * Charts as inline SVG strings: line charts (ROC, precision-recall), a scatter with the identity line,
 * a shaded grid (confusion matrix) and grouped bars (histograms). They need no script and no fonts
 * beyond the system's, so a report renders the same in a browser, a mail client or a screenshot.
 * Every text that may come from data goes through escapeHtml; every chart degrades to a "no data"
 * panel instead of throwing when its numbers are empty or not finite.
 */
import { thinCurve } from '../ml/metrics';
import { escapeHtml, formatNumber } from './html';

/** Series colours, exported so tests can look for them in screenshots. Solid fills, no opacity, so the
 * exact colour survives rendering at least in the middle of every mark. */
export const COLOURS = {
  roc: '#1f6fd1',
  pr: '#8e3fb8',
  scatter: '#1f6fd1',
  reference: '#3d7dd8',
  current: '#e8702a',
  guide: '#9aa3ad',
  axis: '#5b6470',
  grid: '#e9ecf0',
  text: '#1d232b',
  heatLow: '#f3f6fa',
  heatHigh: '#1c4f9c',
} as const;

const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif"';

/** Fixed-point coordinates keep a 400-point path at a few kilobytes. */
const r1 = (v: number) => String(Math.round(v * 10) / 10);

function hexToRgb(hex: string): [number, number, number] {
  const v = parseInt(hex.slice(1), 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

/** The confusion-grid colour for a share in [0, 1], a straight blend from heatLow to heatHigh. */
export function shade(share: number): string {
  const t = Number.isFinite(share) ? Math.min(1, Math.max(0, share)) : 0;
  const [a, b] = [hexToRgb(COLOURS.heatLow), hexToRgb(COLOURS.heatHigh)];
  return '#' + a.map((c, i) => Math.round(c + (b[i] - c) * t).toString(16).padStart(2, '0')).join('');
}

/** About `count` round tick values covering [min, max] (1, 2 or 5 times a power of ten apart). */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (min === max) return [min];
  const raw = (max - min) / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const ticks: number[] = [];
  for (let v = Math.ceil(min / step - 1e-9) * step; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

/** Long labels would run into their neighbours; the full text stays in the tooltip. */
function truncate(label: string, max: number): string {
  return label.length > max ? `${label.slice(0, max - 1)}…` : label;
}

interface Frame { width: number; height: number; left: number; right: number; top: number; bottom: number }

function svgOpen(title: string, width: number, height: number, kind: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" class="${kind}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(title)}" ${FONT} font-size="12">`
    + `<title>${escapeHtml(title)}</title>`
    + `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`
    + `<text x="${r1(width / 2)}" y="20" text-anchor="middle" font-size="14" font-weight="600" fill="${COLOURS.text}">${escapeHtml(title)}</text>`;
}

function figure(svg: string, kind: string): string {
  return `<figure class="chart" data-chart="${kind}">${svg}</figure>`;
}

/** The panel shown instead of a chart when there is nothing to draw, saying why. */
export function emptyChart(title: string, reason: string, width = 440, height = 200): string {
  return figure(
    svgOpen(title, width, height, 'chart-empty')
      + `<rect x="16" y="34" width="${width - 32}" height="${height - 50}" fill="#f7f8fa" stroke="${COLOURS.grid}"/>`
      + `<text x="${width / 2}" y="${height / 2 + 4}" text-anchor="middle" font-size="15" fill="${COLOURS.axis}">no data</text>`
      + `<text x="${width / 2}" y="${height / 2 + 24}" text-anchor="middle" fill="${COLOURS.axis}">${escapeHtml(reason)}</text>`
      + '</svg>',
    'empty',
  );
}

type Scale = (v: number) => number;
const linear = (domain: [number, number], range: [number, number]): Scale => {
  const span = domain[1] - domain[0] || 1;
  return (v) => range[0] + ((v - domain[0]) / span) * (range[1] - range[0]);
};

/** Grid lines, tick labels and axis titles for a plot area. */
function axes(f: Frame, x: Scale, y: Scale, xTicks: number[], yTicks: number[], xLabel: string, yLabel: string, yFormat: (v: number) => string = formatNumber): string {
  const [x0, x1, y0, y1] = [f.left, f.width - f.right, f.height - f.bottom, f.top];
  const parts: string[] = [];
  for (const t of yTicks) {
    const py = r1(y(t));
    parts.push(`<line x1="${x0}" y1="${py}" x2="${x1}" y2="${py}" stroke="${COLOURS.grid}"/>`);
    parts.push(`<text x="${x0 - 6}" y="${py}" dy="4" text-anchor="end" fill="${COLOURS.axis}">${escapeHtml(yFormat(t))}</text>`);
  }
  for (const t of xTicks) {
    const px = r1(x(t));
    parts.push(`<line x1="${px}" y1="${y1}" x2="${px}" y2="${y0}" stroke="${COLOURS.grid}"/>`);
    parts.push(`<text x="${px}" y="${y0 + 16}" text-anchor="middle" fill="${COLOURS.axis}">${escapeHtml(formatNumber(t, 3))}</text>`);
  }
  parts.push(`<rect x="${x0}" y="${y1}" width="${x1 - x0}" height="${y0 - y1}" fill="none" stroke="${COLOURS.axis}" stroke-width="1"/>`);
  parts.push(`<text x="${r1((x0 + x1) / 2)}" y="${f.height - 10}" text-anchor="middle" fill="${COLOURS.text}">${escapeHtml(xLabel)}</text>`);
  parts.push(`<text transform="translate(14 ${r1((y0 + y1) / 2)}) rotate(-90)" text-anchor="middle" fill="${COLOURS.text}">${escapeHtml(yLabel)}</text>`);
  return `<g class="axes">${parts.join('')}</g>`;
}

function legend(items: { name: string; colour: string }[], right: number, top: number): string {
  // Right-aligned, one row per item; width estimated from the text (no layout engine to ask).
  const width = Math.max(...items.map((i) => Math.min(24, i.name.length) * 6.5)) + 22;
  return `<g class="legend">` + items.map((item, k) => {
    const y = top + k * 16;
    return `<rect x="${r1(right - width)}" y="${y}" width="10" height="10" fill="${item.colour}"/>`
      + `<text x="${r1(right - width + 15)}" y="${y + 9}" fill="${COLOURS.text}">${escapeHtml(truncate(item.name, 24))}</text>`;
  }).join('') + '</g>';
}

/** A value as a number, where null (NaN after a trip through JSON) and other non-numbers stay not finite. */
const num = (v: unknown): number => (typeof v === 'number' ? v : NaN);

/** Finite (x, y) pairs of a series; a step series becomes the corner points of its staircase. */
function seriesPoints(xs: ArrayLike<number>, ys: ArrayLike<number>, step: boolean): { xs: number[]; ys: number[] } {
  const px: number[] = [], py: number[] = [];
  for (let i = 0; i < Math.min(xs?.length ?? 0, ys?.length ?? 0); i++) {
    const [x, y] = [num(xs[i]), num(ys[i])];
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    // Step after: hold the previous y until this x, then move to this y.
    if (step && px.length > 0) { px.push(x); py.push(py[py.length - 1]); }
    px.push(x); py.push(y);
  }
  return { xs: px, ys: py };
}

export interface LineSeries {
  name: string;
  xs: ArrayLike<number>;
  ys: ArrayLike<number>;
  colour: string;
  /** Draw as a staircase (hold each y until the next x), as average precision integrates a PR curve. */
  step?: boolean;
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: LineSeries[];
  xDomain?: [number, number];
  yDomain?: [number, number];
  /** A dashed line from the domain's lower-left to upper-right corner: chance level on a ROC plot. */
  diagonal?: boolean;
  width?: number;
  height?: number;
  /** Points kept per series (thinCurve), so a 100k-row test set still gives a small page. */
  maxPoints?: number;
  /** Shown in place of the chart when no series has two finite points. */
  emptyReason?: string;
}

export function lineChart(o: LineChartOptions): string {
  const width = o.width ?? 440, height = o.height ?? 452;
  const drawn = o.series
    .map((s) => ({ s, p: seriesPoints(s.xs, s.ys, s.step ?? false) }))
    .filter(({ p }) => p.xs.length >= 2)
    .map(({ s, p }) => ({ s, p: thinCurve(p.xs, p.ys, o.maxPoints ?? 400) }));
  if (drawn.length === 0) return emptyChart(o.title, o.emptyReason ?? 'fewer than two finite points', width, 200);

  const extent = (pick: (p: { xs: number[]; ys: number[] }) => number[]): [number, number] => {
    const all = drawn.flatMap(({ p }) => pick(p));
    return [Math.min(...all), Math.max(...all)];
  };
  const xDomain = o.xDomain ?? extent((p) => p.xs), yDomain = o.yDomain ?? extent((p) => p.ys);
  const f: Frame = { width, height, left: 56, right: 16, top: 36, bottom: 48 };
  const x = linear(xDomain, [f.left, width - f.right]);
  const y = linear(yDomain, [height - f.bottom, f.top]);
  const parts = [svgOpen(o.title, width, height, 'chart-line'), axes(f, x, y, niceTicks(...xDomain), niceTicks(...yDomain), o.xLabel, o.yLabel)];
  if (o.diagonal) {
    parts.push(`<line class="guide" x1="${r1(x(xDomain[0]))}" y1="${r1(y(yDomain[0]))}" x2="${r1(x(xDomain[1]))}" y2="${r1(y(yDomain[1]))}" stroke="${COLOURS.guide}" stroke-width="1.5" stroke-dasharray="6 4"/>`);
  }
  for (const { s, p } of drawn) {
    const d = p.xs.map((v, i) => `${i === 0 ? 'M' : 'L'}${r1(x(v))} ${r1(y(p.ys[i]))}`).join('');
    parts.push(`<path class="series" d="${d}" fill="none" stroke="${s.colour}" stroke-width="2.5" stroke-linejoin="round"><title>${escapeHtml(s.name)}</title></path>`);
  }
  if (drawn.length > 1) parts.push(legend(drawn.map(({ s }) => ({ name: s.name, colour: s.colour })), width - f.right - 6, f.top + 8));
  parts.push('</svg>');
  return figure(parts.join(''), 'line');
}

export interface ScatterOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  xs: ArrayLike<number>;
  ys: ArrayLike<number>;
  colour?: string;
  /** Draw y = x; both axes then share one domain so the line is the diagonal. */
  identity?: boolean;
  /** Points drawn at most, taken evenly through the input (the order is the caller's sample). */
  maxPoints?: number;
  width?: number;
  height?: number;
}

export function scatterChart(o: ScatterOptions): string {
  const width = o.width ?? 440, height = o.height ?? 452;
  const xs: number[] = [], ys: number[] = [];
  for (let i = 0; i < Math.min(o.xs?.length ?? 0, o.ys?.length ?? 0); i++) {
    const [a, b] = [num(o.xs[i]), num(o.ys[i])];
    if (Number.isFinite(a) && Number.isFinite(b)) { xs.push(a); ys.push(b); }
  }
  if (xs.length === 0) return emptyChart(o.title, 'no pairs of finite values', width, 200);
  const limit = Math.max(1, o.maxPoints ?? 1500);
  const stride = xs.length / Math.min(limit, xs.length);
  const picked = Array.from({ length: Math.min(limit, xs.length) }, (_, k) => Math.floor(k * stride));

  const pad = ([lo, hi]: [number, number]): [number, number] => {
    const span = hi - lo || Math.abs(hi) || 1;
    return [lo - span * 0.04, hi + span * 0.04];
  };
  // A loop, not Math.min(...xs): spreading 100k arguments can overflow the stack.
  const range = (v: number[]): [number, number] => { let lo = Infinity, hi = -Infinity; for (const a of v) { if (a < lo) lo = a; if (a > hi) hi = a; } return [lo, hi]; };
  let xDomain = pad(range(xs)), yDomain = pad(range(ys));
  if (o.identity) xDomain = yDomain = [Math.min(xDomain[0], yDomain[0]), Math.max(xDomain[1], yDomain[1])];
  const f: Frame = { width, height, left: 64, right: 16, top: 36, bottom: 48 };
  const x = linear(xDomain, [f.left, width - f.right]);
  const y = linear(yDomain, [height - f.bottom, f.top]);
  const parts = [svgOpen(o.title, width, height, 'chart-scatter'), axes(f, x, y, niceTicks(...xDomain), niceTicks(...yDomain), o.xLabel, o.yLabel)];
  const colour = o.colour ?? COLOURS.scatter;
  parts.push(`<g class="points" fill="${colour}">${picked.map((i) => `<circle cx="${r1(x(xs[i]))}" cy="${r1(y(ys[i]))}" r="3"/>`).join('')}</g>`);
  if (o.identity) {
    parts.push(`<line class="guide" x1="${r1(x(xDomain[0]))}" y1="${r1(y(xDomain[0]))}" x2="${r1(x(xDomain[1]))}" y2="${r1(y(xDomain[1]))}" stroke="${COLOURS.guide}" stroke-width="1.5" stroke-dasharray="6 4"><title>predicted = actual</title></line>`);
  }
  if (picked.length < xs.length) {
    parts.push(`<text x="${width - f.right}" y="${f.top - 6}" text-anchor="end" font-size="11" fill="${COLOURS.axis}">${picked.length} of ${xs.length} points</text>`);
  }
  parts.push('</svg>');
  return figure(parts.join(''), 'scatter');
}

export interface HeatmapOptions {
  title: string;
  rowLabels: string[];
  colLabels: string[];
  /** values[row][col]; non-finite cells count as 0. */
  values: number[][];
  xLabel: string;
  yLabel: string;
}

/**
 * A grid shaded by each cell's share of its row, with the counts written in. Shading by row share
 * (recall per actual class) keeps a rare class's mistakes as visible as a common one's.
 */
export function heatmap(o: HeatmapOptions): string {
  const rows = Array.isArray(o.values) ? o.values.length : 0;
  const cols = rows > 0 ? Math.max(...o.values.map((r) => (Array.isArray(r) ? r.length : 0))) : 0;
  const cell = (r: number, c: number) => { const v = num(o.values[r]?.[c]); return Number.isFinite(v) ? v : 0; };
  let total = 0;
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) total += cell(r, c);
  if (rows === 0 || cols === 0 || total === 0) return emptyChart(o.title, 'no counts', 440, 200);

  const size = Math.max(14, Math.min(72, Math.floor(380 / Math.max(rows, cols))));
  const label = (labels: string[], i: number) => String(labels?.[i] ?? `#${i}`);
  const maxChars = 16;
  const longestRow = Math.max(...Array.from({ length: rows }, (_, i) => Math.min(maxChars, label(o.rowLabels, i).length)));
  const longestCol = Math.max(...Array.from({ length: cols }, (_, i) => Math.min(maxChars, label(o.colLabels, i).length)));
  const rotate = longestCol * 7 > size;
  const left = 34 + longestRow * 7;
  const top = 40;
  const bottom = (rotate ? longestCol * 5.5 + 16 : 20) + 30;
  const width = Math.max(300, left + cols * size + 24);
  const height = top + rows * size + bottom;
  const parts = [svgOpen(o.title, width, height, 'chart-heatmap')];
  const fontSize = Math.max(9, Math.min(14, Math.floor(size / 3)));
  for (let r = 0; r < rows; r++) {
    let rowSum = 0;
    for (let c = 0; c < cols; c++) rowSum += cell(r, c);
    const cy = top + r * size;
    parts.push(`<text x="${left - 6}" y="${r1(cy + size / 2 + 4)}" text-anchor="end" fill="${COLOURS.text}">${escapeHtml(truncate(label(o.rowLabels, r), maxChars))}<title>${escapeHtml(label(o.rowLabels, r))}</title></text>`);
    for (let c = 0; c < cols; c++) {
      const share = rowSum > 0 ? cell(r, c) / rowSum : 0;
      const cx = left + c * size;
      const tip = `actual ${label(o.rowLabels, r)}, predicted ${label(o.colLabels, c)}: ${formatNumber(cell(r, c))} (${(share * 100).toFixed(1)}% of the row)`;
      parts.push(`<rect class="cell" x="${cx}" y="${cy}" width="${size}" height="${size}" fill="${shade(share)}" stroke="#ffffff"><title>${escapeHtml(tip)}</title></rect>`);
      // Counts fit from 22 px cells on; smaller grids keep them in the tooltip.
      if (size >= 22) {
        parts.push(`<text x="${r1(cx + size / 2)}" y="${r1(cy + size / 2 + fontSize / 3)}" text-anchor="middle" font-size="${fontSize}" fill="${share > 0.55 ? '#ffffff' : COLOURS.text}">${escapeHtml(formatNumber(cell(r, c)))}</text>`);
      }
    }
  }
  const labelY = top + rows * size + 14;
  for (let c = 0; c < cols; c++) {
    const cx = r1(left + c * size + size / 2);
    const text = `${escapeHtml(truncate(label(o.colLabels, c), maxChars))}<title>${escapeHtml(label(o.colLabels, c))}</title>`;
    parts.push(rotate
      ? `<text transform="translate(${cx} ${labelY - 4}) rotate(-40)" text-anchor="end" fill="${COLOURS.text}">${text}</text>`
      : `<text x="${cx}" y="${labelY}" text-anchor="middle" fill="${COLOURS.text}">${text}</text>`);
  }
  parts.push(`<text x="${r1(left + (cols * size) / 2)}" y="${height - 10}" text-anchor="middle" fill="${COLOURS.text}">${escapeHtml(o.xLabel)}</text>`);
  parts.push(`<text transform="translate(14 ${r1(top + (rows * size) / 2)}) rotate(-90)" text-anchor="middle" fill="${COLOURS.text}">${escapeHtml(o.yLabel)}</text>`);
  parts.push('</svg>');
  return figure(parts.join(''), 'heatmap');
}

export interface BarSeries { name: string; values: ArrayLike<number>; colour: string }

export interface GroupedBarOptions {
  title: string;
  labels: string[];
  series: BarSeries[];
  xLabel: string;
  yLabel: string;
  /** How tick values read, e.g. as percentages for shares. */
  yFormat?: (v: number) => string;
}

/** Bars side by side per label (reference next to current), from zero up. */
export function groupedBars(o: GroupedBarOptions): string {
  const n = Array.isArray(o.labels) ? o.labels.length : 0;
  const value = (s: BarSeries, i: number) => { const v = num(s.values?.[i]); return Number.isFinite(v) && v > 0 ? v : 0; };
  let top = 0;
  for (const s of o.series) for (let i = 0; i < n; i++) top = Math.max(top, value(s, i));
  if (n === 0 || o.series.length === 0 || top === 0) return emptyChart(o.title, n === 0 ? 'no bins' : 'every bin is empty', 460, 200);

  const plotWidth = Math.max(300, Math.min(760, n * 30));
  const group = plotWidth / n;
  const longest = Math.max(...o.labels.map((l) => Math.min(18, String(l ?? '').length)));
  const rotate = longest * 6.5 > group - 4;
  // A rotated first label reaches left of its bar by about cos 40° of its length (6 px a character).
  const left = rotate ? Math.max(56, Math.ceil(longest * 6 * 0.77 - group / 2) + 8) : 56;
  const f: Frame = { width: 0, height: 0, left, right: 16, top: 64, bottom: (rotate ? longest * 5 + 18 : 24) + 30 };
  f.width = f.left + plotWidth + f.right;
  f.height = f.top + 220 + f.bottom;
  const yTicks = niceTicks(0, top * 1.05, 4);
  const yMax = Math.max(top * 1.05, yTicks[yTicks.length - 1] ?? 0);
  const y = linear([0, yMax], [f.height - f.bottom, f.top]);
  const x = (i: number) => f.left + i * group;
  const parts = [svgOpen(o.title, f.width, f.height, 'chart-bars'), axes(f, linear([0, 1], [f.left, f.left + plotWidth]), y, [], yTicks, o.xLabel, o.yLabel, o.yFormat)];

  const barWidth = (group * 0.8) / o.series.length;
  o.series.forEach((s, k) => {
    const bars: string[] = [];
    for (let i = 0; i < n; i++) {
      const v = value(s, i);
      if (v === 0) continue;
      const bx = x(i) + group * 0.1 + k * barWidth;
      const by = y(v);
      bars.push(`<rect x="${r1(bx)}" y="${r1(by)}" width="${r1(barWidth)}" height="${r1(y(0) - by)}"><title>${escapeHtml(`${o.labels[i]}: ${s.name} ${(o.yFormat ?? formatNumber)(v)}`)}</title></rect>`);
    }
    parts.push(`<g class="bars" data-series="${escapeHtml(s.name)}" fill="${s.colour}">${bars.join('')}</g>`);
  });
  const labelY = f.height - f.bottom + 14;
  for (let i = 0; i < n; i++) {
    const full = String(o.labels[i] ?? '');
    const cx = r1(x(i) + group / 2);
    const text = `${escapeHtml(truncate(full, 18))}<title>${escapeHtml(full)}</title>`;
    parts.push(rotate
      ? `<text transform="translate(${cx} ${labelY - 4}) rotate(-40)" text-anchor="end" font-size="11" fill="${COLOURS.axis}">${text}</text>`
      : `<text x="${cx}" y="${labelY}" text-anchor="middle" font-size="11" fill="${COLOURS.axis}">${text}</text>`);
  }
  parts.push(legend(o.series.map((s) => ({ name: s.name, colour: s.colour })), f.width - f.right, 30));
  parts.push('</svg>');
  return figure(parts.join(''), 'bars');
}
