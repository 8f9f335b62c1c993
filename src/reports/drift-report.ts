/**
 * The report of one monitoring check: did the served traffic move away from the training data, which
 * features moved and how, and how the model did on labelled feedback and in serving. Features that
 * drifted come first, each with its histogram (reference against current) and test statistics.
 */
import type { DriftResult, FeatureDrift } from '../ml/reference-profile';
import { badge, escapeHtml, formatNumber, formatPercent, htmlDocument, keyValueTable, linkList } from './html';
import { COLOURS, groupedBars } from './svg-charts';

export type { FeatureDrift };

export interface DriftReportInput {
  model: string;
  version: number;
  checkId: string;
  checkedAt: string;
  window: { from: string; to: string; rows: number; labelled: number };
  /** null: too few rows in the window to compare. */
  drift: DriftResult | null;
  /** accuracy, precision, recall, auc over labelled feedback. */
  quality?: Record<string, number>;
  serving?: { requests: number; errorRate: number; p99Ms: number | null };
  breaches: string[];
  links?: { label: string; href: string }[];
}

const TEST_NAMES = { ks: 'Kolmogorov-Smirnov', chi2: 'chi-square' } as const;

/** Drifted features first, then the largest PSI: the order someone triaging wants. */
function triageOrder(features: FeatureDrift[]): FeatureDrift[] {
  const psi = (f: FeatureDrift) => (Number.isFinite(f.psi) ? f.psi : -Infinity);
  return [...features].sort((a, b) => Number(b.drifted) - Number(a.drifted) || psi(b) - psi(a));
}

/** Categories seen on one side only: a new category is often the whole story of a categorical drift. */
function onlyIn(f: FeatureDrift): { added: string[]; gone: string[] } {
  const added: string[] = [], gone: string[] = [];
  if (f.kind !== 'categorical') return { added, gone };
  f.bins?.labels?.forEach((label, i) => {
    const [r, c] = [Number(f.bins.reference?.[i]) || 0, Number(f.bins.current?.[i]) || 0];
    if (r === 0 && c > 0) added.push(label);
    if (c === 0 && r > 0) gone.push(label);
  });
  return { added, gone };
}

/** The thresholds the verdicts were reached with, as the check recorded them. */
function settingsLine(s: NonNullable<DriftReportInput['drift']>['settings'] | undefined): string {
  if (!s) return '';
  const alpha = `significance level ${formatNumber(s.alpha)}${s.bonferroni ? ', Bonferroni-corrected over the features' : ''}`;
  return `<p class="note">Settings: ${escapeHtml(alpha)}; PSI threshold ${escapeHtml(formatNumber(s.psiThreshold))}; minimum PSI ${escapeHtml(formatNumber(s.minPsi))}; dataset drift from ${escapeHtml(formatPercent(s.driftShare))} of features drifted.</p>`;
}

function summary(input: DriftReportInput): string {
  const d = input.drift;
  const breaches = input.breaches ?? [];
  const breachList = breaches.length > 0
    ? `<p><strong>Breaches:</strong></p><ul>${breaches.map((b) => `<li>${escapeHtml(b)}</li>`).join('')}</ul>`
    : '<p>No thresholds were breached.</p>';
  if (!d) {
    return `<div class="summary"><p><strong>No drift verdict:</strong> the window held too few rows (${escapeHtml(formatNumber(input.window?.rows))}) to compare with the training data, so no drift tests were run.</p>${breachList}</div>`;
  }
  const verdict = d.datasetDrift ? badge('dataset drift', 'bad') : badge('no dataset drift', 'good');
  const total = d.features?.length ?? 0;
  return `<div class="summary ${d.datasetDrift ? 'bad' : 'good'}">`
    + `<p>${verdict} <strong>${escapeHtml(formatNumber(d.driftedFeatures))} of ${total}</strong> features drifted (${escapeHtml(formatPercent(d.driftedShare))}); the dataset counts as drifted from ${escapeHtml(formatPercent(d.settings?.driftShare))}.</p>`
    + `<p class="note">Compared ${escapeHtml(formatNumber(d.currentRows))} served rows with ${escapeHtml(formatNumber(d.referenceRows))} training rows.</p>`
    + settingsLine(d.settings)
    + breachList + '</div>';
}

/** All features in one table, linking to their sections: the overview for wide data. */
function overview(features: FeatureDrift[]): string {
  const head = '<tr><th>feature</th><th>test</th><th class="num">p-value</th><th class="num">PSI</th><th class="num">JS</th><th></th></tr>';
  const rows = features.map((f, i) => `<tr><td><a href="#feature-${i}">${escapeHtml(f.name)}</a></td><td>${escapeHtml(TEST_NAMES[f.test] ?? f.test)}</td>`
    + `<td class="num">${escapeHtml(formatNumber(f.pvalue, 3))}</td><td class="num">${escapeHtml(formatNumber(f.psi, 3))}</td><td class="num">${escapeHtml(formatNumber(f.jensenShannon, 3))}</td>`
    + `<td>${f.drifted ? badge('drifted', 'bad') : badge('stable', 'good')}</td></tr>`);
  return `<table class="grid"><thead>${head}</thead><tbody>${rows.join('')}</tbody></table>`;
}

function featureSection(f: FeatureDrift, index: number): string {
  const chart = groupedBars({
    title: f.name,
    labels: f.bins?.labels ?? [],
    series: [
      { name: 'reference (training)', values: f.bins?.reference ?? [], colour: COLOURS.reference },
      { name: 'current (served)', values: f.bins?.current ?? [], colour: COLOURS.current },
    ],
    xLabel: f.kind === 'numeric' ? 'value bin' : 'category',
    yLabel: 'share of rows',
    yFormat: (v) => formatPercent(v, 0),
  });
  const rows: [string, string][] = [
    [`${TEST_NAMES[f.test] ?? f.test} statistic`, formatNumber(f.statistic)],
    ['p-value', formatNumber(f.pvalue)],
    ['PSI', formatNumber(f.psi)],
    ['Jensen-Shannon distance', formatNumber(f.jensenShannon)],
  ];
  if (f.wasserstein !== undefined) rows.push(['Wasserstein distance', formatNumber(f.wasserstein)]);
  rows.push(['missing (reference / current)', `${formatPercent(f.missing?.reference)} / ${formatPercent(f.missing?.current)}`]);
  const { added, gone } = onlyIn(f);
  const notes = [
    added.length > 0 ? `<p><strong>New in served data:</strong> ${added.map(escapeHtml).join(', ')}</p>` : '',
    gone.length > 0 ? `<p><strong>Not seen in served data:</strong> ${gone.map(escapeHtml).join(', ')}</p>` : '',
  ].join('');
  return `<section class="feature" id="feature-${index}">${chart}<div class="stats">`
    + `<h3>${escapeHtml(f.name)} ${f.drifted ? badge('drifted', 'bad') : badge('stable', 'good')}</h3>`
    + `<p class="meta">${escapeHtml(f.kind)} feature</p>${keyValueTable(rows)}${notes}</div></section>`;
}

function numbers(values: Record<string, number> | undefined): [string, string][] {
  return Object.entries(values ?? {}).filter(([, v]) => typeof v === 'number' || v === null).map(([k, v]) => [k, formatNumber(v)]);
}

export function renderDriftReport(input: DriftReportInput): string {
  const w = input.window ?? { from: '', to: '', rows: NaN, labelled: NaN };
  const parts: string[] = [
    `<header><h1>Monitoring check for ${escapeHtml(input.model)} <span class="meta">version ${escapeHtml(input.version)}</span></h1>`,
    `<p class="meta">check ${escapeHtml(input.checkId)} · ${escapeHtml(input.checkedAt)} · window ${escapeHtml(w.from)} to ${escapeHtml(w.to)}, ${escapeHtml(formatNumber(w.rows))} predictions, ${escapeHtml(formatNumber(w.labelled))} with feedback labels</p>`,
    `${linkList(input.links)}</header>`,
    '<section><h2>Summary</h2>', summary(input), '</section>',
  ];

  const quality = numbers(input.quality);
  const serving: [string, string][] = input.serving ? [
    ['requests', formatNumber(input.serving.requests)],
    ['error rate', formatPercent(input.serving.errorRate, 2)],
    ['p99 latency', input.serving.p99Ms === null || input.serving.p99Ms === undefined ? 'n/a' : `${formatNumber(input.serving.p99Ms, 3)} ms`],
  ] : [];
  if (quality.length > 0 || serving.length > 0) {
    parts.push('<section><h2>Quality and serving</h2><div class="charts">',
      quality.length > 0 ? keyValueTable(quality, `On ${formatNumber(w.labelled)} labelled predictions`) : '',
      serving.length > 0 ? keyValueTable(serving, 'Serving') : '', '</div></section>');
  }

  const features = triageOrder(input.drift?.features ?? []);
  if (input.drift && features.length > 0) {
    parts.push('<section><h2>Features</h2>',
      '<p class="note">PSI under 0.1 is usually read as stable, 0.1 to 0.2 as a moderate shift, above 0.2 as a large one. The Jensen-Shannon distance runs from 0 (same distribution) to 1; the Wasserstein distance is in the feature\'s own units.</p>',
      overview(features), features.map(featureSection).join('\n'), '</section>');
  } else if (input.drift) {
    parts.push('<section><h2>Features</h2><p>No features were compared.</p></section>');
  }
  return htmlDocument(`Monitoring check: ${input.model} v${input.version}`, parts.join('\n'));
}
