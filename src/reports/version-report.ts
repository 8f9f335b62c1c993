/**
 * The report of one registered model version: its test metrics as a table, and the pictures a
 * reviewer needs before approving it: ROC and precision-recall curves for a binary model, the
 * confusion matrix for a classifier, predicted against actual for a regression.
 */
import { badge, escapeHtml, formatNumber, htmlDocument, keyValueTable, linkList } from './html';
import { COLOURS, emptyChart, heatmap, lineChart, scatterChart } from './svg-charts';

export interface VersionReportInput {
  model: string;
  version: number;
  status?: string;
  createdAt?: string;
  task: 'binary' | 'multiclass' | 'regression';
  /** Shown as a table, in this order. */
  metrics: Record<string, number>;
  classes: string[];
  /** Binary only; points in the order of rocCurve. */
  roc?: { fpr: number[]; tpr: number[]; auc: number };
  /** Binary only; points in the order of precisionRecallCurve. */
  pr?: { recall: number[]; precision: number[]; averagePrecision: number };
  /** Rows actual, columns predicted, in `classes` order. */
  confusion?: number[][];
  /** Regression: predicted against actual for a sample of test rows. */
  scatter?: { actual: number[]; predicted: number[] };
  /** E.g. the training run in the Temporal Web UI. */
  links?: { label: string; href: string }[];
}

const TASK_NAMES = { binary: 'binary classification', multiclass: 'multiclass classification', regression: 'regression' } as const;

/** Numbers that are not plain metrics (a confusion matrix stored among them, say) are left out. */
function metricsTable(metrics: Record<string, number> | undefined): string {
  const rows = Object.entries(metrics ?? {})
    .filter(([, v]) => typeof v === 'number' || v === null)
    .map(([k, v]) => [k, formatNumber(v)] as [string, string]);
  return rows.length > 0 ? keyValueTable(rows) : '<p class="note">No metrics were recorded for this version.</p>';
}

function rocChart(roc: VersionReportInput['roc']): string {
  const title = `ROC curve, AUC ${formatNumber(roc?.auc, 3)}`;
  if (!roc) return emptyChart(title, 'no ROC curve was recorded');
  return lineChart({
    title, xLabel: 'false positive rate', yLabel: 'true positive rate',
    series: [{ name: 'ROC', xs: roc.fpr, ys: roc.tpr, colour: COLOURS.roc }],
    xDomain: [0, 1], yDomain: [0, 1], diagonal: true,
    emptyReason: 'the test set needs both classes',
  });
}

function prChart(pr: VersionReportInput['pr']): string {
  const title = `Precision-recall, AP ${formatNumber(pr?.averagePrecision, 3)}`;
  if (!pr) return emptyChart(title, 'no precision-recall curve was recorded');
  return lineChart({
    title, xLabel: 'recall', yLabel: 'precision',
    // Drawn as steps, the area under the line is the average precision in the title.
    series: [{ name: 'precision-recall', xs: pr.recall, ys: pr.precision, colour: COLOURS.pr, step: true }],
    xDomain: [0, 1], yDomain: [0, 1],
    emptyReason: 'the test set needs positive rows',
  });
}

function confusionChart(input: VersionReportInput): string {
  return heatmap({
    title: 'Confusion matrix (test rows)',
    rowLabels: input.classes ?? [], colLabels: input.classes ?? [],
    values: input.confusion ?? [], xLabel: 'predicted', yLabel: 'actual',
  });
}

export function renderVersionReport(input: VersionReportInput): string {
  const title = `${input.model} v${input.version}`;
  const meta = [
    TASK_NAMES[input.task] ?? String(input.task),
    input.createdAt ? `registered ${input.createdAt}` : '',
    input.task === 'regression' || !input.classes?.length ? ''
      : input.classes.length <= 10 ? `classes: ${input.classes.join(', ')}` : `${input.classes.length} classes`,
  ].filter(Boolean).map(escapeHtml).join(' · ');

  const sections: string[] = [
    `<header><h1>Model ${escapeHtml(input.model)} <span class="meta">version ${escapeHtml(input.version)}</span> ${input.status ? badge(input.status) : ''}</h1>`,
    `<p class="meta">${meta}</p>${linkList(input.links)}</header>`,
    '<section><h2>Test metrics</h2>', metricsTable(input.metrics), '</section>',
  ];
  if (input.task === 'binary') {
    sections.push('<section><h2>Ranking quality</h2>',
      '<p class="note">ROC: how many positives are caught (up) against how many negatives are raised by mistake (right) as the threshold falls; the dashed diagonal is a random score. Precision-recall: how clean the positive predictions stay as more positives are caught.</p>',
      `<div class="charts">${rocChart(input.roc)}${prChart(input.pr)}</div></section>`);
  }
  if (input.task === 'binary' || input.task === 'multiclass') {
    sections.push('<section><h2>Confusion matrix</h2>',
      '<p class="note">Rows are the actual class, columns the predicted one; counts are test rows, and the shade is the share of the row, so the diagonal is each class\'s recall.</p>',
      `<div class="charts">${confusionChart(input)}</div></section>`);
  }
  if (input.task === 'regression') {
    sections.push('<section><h2>Predicted against actual</h2>',
      '<p class="note">Each dot is one scored row; on the dashed line the prediction is exact, above it the model predicts too high, below it too low.</p>',
      `<div class="charts">${scatterChart({ title: 'Predicted vs actual', xLabel: 'actual', yLabel: 'predicted', xs: input.scatter?.actual ?? [], ys: input.scatter?.predicted ?? [], identity: true })}</div></section>`);
  }
  return htmlDocument(`Model report: ${title}`, sections.join('\n'));
}
