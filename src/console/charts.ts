/**
 * The console's own drawings: a pipeline's stage bar, a traffic-share bar and the lineage graph. The
 * report charts (lines, bars) come from src/reports/svg-charts.ts. All are inline SVG or plain HTML
 * with text beside the picture, so a screen reader and a test read the same thing as the eye.
 */
import { escapeHtml, formatNumber } from './html';
import type { Html } from './html';

/** The pipeline's stages in order; a run moves left to right (an import run has `import` in place of `tune`/`train`). */
export const STAGES = ['ingest', 'validate', 'tune', 'train', 'evaluate', 'register', 'approve', 'deploy', 'done'] as const;

/** Each stage as done, current or to do; a failed run marks its current stage failed. */
export function stageBar(stage: string | undefined, state: string): Html {
  const at = STAGES.indexOf((stage === 'import' ? 'train' : stage) as (typeof STAGES)[number]);
  const finished = state === 'deployed' || state === 'rejected';
  const items = STAGES.map((s, i) => {
    const status = finished || (at >= 0 && i < at) ? 'done' : i === at ? (state === 'failed' ? 'failed' : 'current') : 'todo';
    return `<li class="${status}"${status === 'current' ? ' aria-current="step"' : ''}><span>${escapeHtml(s)}</span></li>`;
  });
  return `<ol class="stages" aria-label="Pipeline stages: at ${escapeHtml(stage ?? 'unknown')}">${items.join('')}</ol>`;
}

/** The share of traffic the new version gets, as a bar with its number. */
export function trafficBar(percent: number | null | undefined): Html {
  const p = Math.max(0, Math.min(100, Number(percent ?? 0)));
  return `<span class="traffic"><svg viewBox="0 0 100 8" width="160" height="12" role="img" aria-label="${p}% of traffic to the new version"><rect class="track" x="0" y="0" width="100" height="8" rx="2"/><rect class="fill" x="0" y="0" width="${p}" height="8" rx="2"/></svg> <strong>${escapeHtml(formatNumber(p))}%</strong></span>`;
}

export interface LineageNode { id: string; label: string; detail: string; href?: string; kind: 'dataset' | 'run' | 'version' | 'deployment' }

/**
 * Dataset → run → version → deployments, as boxes in columns joined by arrows. Each box links to the
 * page or link that describes it.
 */
export function lineageGraph(nodes: LineageNode[], edges: [string, string][]): Html {
  const columns: LineageNode['kind'][] = ['dataset', 'run', 'version', 'deployment'];
  const boxW = 190, boxH = 50, gapX = 50, gapY = 16, pad = 10;
  const place = new Map<string, { x: number; y: number }>();
  let height = 0;
  columns.forEach((kind, c) => {
    nodes.filter((n) => n.kind === kind).forEach((n, r) => {
      const pos = { x: pad + c * (boxW + gapX), y: pad + r * (boxH + gapY) };
      place.set(n.id, pos);
      height = Math.max(height, pos.y + boxH + pad);
    });
  });
  const width = pad * 2 + columns.length * boxW + (columns.length - 1) * gapX;
  const lines = edges.filter(([a, b]) => place.has(a) && place.has(b)).map(([a, b]) => {
    const p = place.get(a)!, q = place.get(b)!;
    return `<line class="edge" x1="${p.x + boxW}" y1="${p.y + boxH / 2}" x2="${q.x - 4}" y2="${q.y + boxH / 2}" marker-end="url(#arrow)"/>`;
  });
  const boxes = nodes.filter((n) => place.has(n.id)).map((n) => {
    const { x, y } = place.get(n.id)!;
    const box = `<rect class="node ${n.kind}" x="${x}" y="${y}" width="${boxW}" height="${boxH}" rx="6"/>`
      + `<text x="${x + 10}" y="${y + 20}" class="label">${escapeHtml(clip(n.label, 26))}</text>`
      + `<text x="${x + 10}" y="${y + 38}" class="detail">${escapeHtml(clip(n.detail, 30))}</text>`;
    return n.href ? `<a href="${escapeHtml(n.href)}"><title>${escapeHtml(`${n.label}: ${n.detail}`)}</title>${box}</a>` : `<g><title>${escapeHtml(`${n.label}: ${n.detail}`)}</title>${box}</g>`;
  });
  return `<figure class="lineage"><svg viewBox="0 0 ${width} ${Math.max(height, 70)}" width="${width}" height="${Math.max(height, 70)}" role="img" aria-label="Lineage graph: dataset, run, version and deployments">`
    + '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0 0L10 5L0 10z" class="arrowhead"/></marker></defs>'
    + `${lines.join('')}${boxes.join('')}</svg></figure>`;
}

const clip = (text: string, n: number) => (text.length > n ? `${text.slice(0, n - 1)}…` : text);
