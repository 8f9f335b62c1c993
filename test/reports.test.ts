/**
 * HTML reports: the curves against scikit-learn, the pages' safety and self-containment, and, in a
 * real headless Chromium (installed by scripts/install-chromium.sh on first use), that the charts
 * actually render: SVG geometry in the parsed DOM, and series colours in a decoded screenshot.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import zlib from 'node:zlib';
import { parseCsv } from '../src/ml/csv';
import { predictProba, trainLogistic } from '../src/ml/logistic';
import { binaryMetrics, multiclassMetrics, precisionRecallCurve, regressionMetrics, rocAuc, rocCurve, thinCurve } from '../src/ml/metrics';
import { createRng } from '../src/ml/random';
import { prepareData } from '../src/ml/prepare';
import { predictRidge, trainRidge } from '../src/ml/ridge';
import { predictSoftmax, trainSoftmax } from '../src/ml/softmax';
import { DriftReportInput, FeatureDrift, renderDriftReport, renderVersionReport, VersionReportInput } from '../src/reports';
import { formatNumber, safeHref } from '../src/reports/html';
import { COLOURS, shade } from '../src/reports/svg-charts';

const ROOT = path.join(__dirname, '..');
const XSS = '<script>alert(1)</script>';
const XSS_ATTR = '"><img src=x onerror=alert(1)>';

// ---------------------------------------------------------------------------------------------------
// Curves against scikit-learn 1.9.1. The expected arrays were printed by:
//   from sklearn.metrics import roc_curve, precision_recall_curve
//   roc_curve(y, score, drop_intermediate=False); precision_recall_curve(y, score)
// for the two (y, score) pairs below (PYTHONPATH=/tmp/pyref python3; inf printed as Infinity).
// The second set is numpy default_rng(3) data rounded to one decimal, so most scores are tied.
// ---------------------------------------------------------------------------------------------------
const SKLEARN = [
  {
    y: [1, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 1],
    score: [0.9, 0.8, 0.8, 0.6, 0.55, 0.5, 0.5, 0.3, 0.3, 0.3, 0.1, 0.05],
    fpr: [0.0, 0.0, 0.16666666666666666, 0.16666666666666666, 0.3333333333333333, 0.5, 0.8333333333333334, 1.0, 1.0],
    tpr: [0.0, 0.16666666666666666, 0.3333333333333333, 0.5, 0.5, 0.6666666666666666, 0.8333333333333334, 0.8333333333333334, 1.0],
    rocThresholds: [Infinity, 0.9, 0.8, 0.6, 0.55, 0.5, 0.3, 0.1, 0.05],
    precision: [0.5, 0.45454545454545453, 0.5, 0.5714285714285714, 0.6, 0.75, 0.6666666666666666, 1.0, 1.0],
    recall: [1.0, 0.8333333333333334, 0.8333333333333334, 0.6666666666666666, 0.5, 0.5, 0.3333333333333333, 0.16666666666666666, 0.0],
    prThresholds: [0.05, 0.1, 0.3, 0.5, 0.55, 0.6, 0.8, 0.9],
  },
  {
    y: [1, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1],
    score: [0.6, 0.3, 0.2, 0.4, 0.6, 0.6, 0.9, 0.7, 0.5, 0.9, 0.6, 0.4, 0.7, 0.6, 1.0, 0.4, 0.6, 1.0, 0.3, 0.4, 0.7, 0.6, 0.7, 0.9],
    fpr: [0.0, 0.06666666666666667, 0.13333333333333333, 0.2, 0.4666666666666667, 0.5333333333333333, 0.8, 0.9333333333333333, 1.0],
    tpr: [0.0, 0.1111111111111111, 0.3333333333333333, 0.6666666666666666, 1.0, 1.0, 1.0, 1.0, 1.0],
    rocThresholds: [Infinity, 1.0, 0.9, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2],
    precision: [0.375, 0.391304347826087, 0.42857142857142855, 0.5294117647058824, 0.5625, 0.6666666666666666, 0.6, 0.5, 1.0],
    recall: [1.0, 1.0, 1.0, 1.0, 1.0, 0.6666666666666666, 0.3333333333333333, 0.1111111111111111, 0.0],
    prThresholds: [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.9, 1.0],
  },
];

function assertClose(actual: number[], expected: number[], label: string): void {
  assert.equal(actual.length, expected.length, `${label}: ${actual.length} points, expected ${expected.length}`);
  actual.forEach((v, i) => {
    if (!Number.isFinite(expected[i])) assert.equal(v, expected[i], `${label}[${i}]`);
    else assert.ok(Math.abs(v - expected[i]) < 1e-12, `${label}[${i}] = ${v}, expected ${expected[i]}`);
  });
}

/** Area under a polyline by trapezoids. */
function trapezoid(xs: number[], ys: number[]): number {
  let area = 0;
  for (let i = 1; i < xs.length; i++) area += ((xs[i] - xs[i - 1]) * (ys[i] + ys[i - 1])) / 2;
  return area;
}

describe('ROC and precision-recall curves', () => {
  it('match scikit-learn point for point, tied scores taken together', () => {
    for (const [k, f] of SKLEARN.entries()) {
      const roc = rocCurve(f.y, f.score);
      assertClose(roc.fpr, f.fpr, `case ${k} fpr`);
      assertClose(roc.tpr, f.tpr, `case ${k} tpr`);
      assertClose(roc.thresholds, f.rocThresholds, `case ${k} roc thresholds`);
      const pr = precisionRecallCurve(f.y, f.score);
      assertClose(pr.precision, f.precision, `case ${k} precision`);
      assertClose(pr.recall, f.recall, `case ${k} recall`);
      assertClose(pr.thresholds, f.prThresholds, `case ${k} pr thresholds`);
      // The trapezoids under the ROC points are the Mann-Whitney AUC, ties and all.
      assert.ok(Math.abs(trapezoid(roc.fpr, roc.tpr) - rocAuc(f.y, f.score)) < 1e-12);
    }
  });

  it('handle one-class and empty inputs as scikit-learn does, without throwing', () => {
    // roc_curve([1,1,1], [0.9,0.8,0.1]): fpr all nan; precision_recall_curve([0,0,0], ...): recall all 1.
    const allPositive = rocCurve([1, 1, 1], [0.9, 0.8, 0.1]);
    assert.ok(allPositive.fpr.every(Number.isNaN));
    assertClose(allPositive.tpr, [0, 1 / 3, 2 / 3, 1], 'tpr');
    const noPositive = precisionRecallCurve([0, 0, 0], [0.9, 0.8, 0.1]);
    assertClose(noPositive.precision, [0, 0, 0, 1], 'precision');
    assertClose(noPositive.recall, [1, 1, 1, 0], 'recall');
    assert.deepEqual(rocCurve([], []), { fpr: [], tpr: [], thresholds: [] });
    assert.deepEqual(precisionRecallCurve([1, 0], [NaN, NaN]), { precision: [], recall: [], thresholds: [] });
    // A NaN score is left out rather than sorted at random; infinite scores still order.
    assertClose(rocCurve([1, 0, 1], [Infinity, NaN, -Infinity]).tpr, [0, 0.5, 1], 'tpr with infinities');
  });
});

describe('thinCurve', () => {
  it('keeps short curves whole and drops non-finite points', () => {
    assert.deepEqual(thinCurve([0, 0.5, 1], [0, 0.7, 1], 10), { xs: [0, 0.5, 1], ys: [0, 0.7, 1], indices: [0, 1, 2] });
    assert.deepEqual(thinCurve([0, NaN, 1, 2], [0, 1, Infinity, 2], 10).indices, [0, 3]);
  });

  it('keeps a 100k-row ROC curve within budget and shape', () => {
    const rng = createRng(11);
    const n = 100_000;
    const y: number[] = [], score: number[] = [];
    for (let i = 0; i < n; i++) {
      const positive = rng() < 0.3 ? 1 : 0;
      y.push(positive);
      score.push(Math.round((rng() + rng() + positive * 0.8) * 1e4) / 1e4); // a few ties, as real scores have
    }
    const roc = rocCurve(y, score);
    assert.ok(roc.fpr.length > 10_000);
    const thin = thinCurve(roc.fpr, roc.tpr, 300);
    assert.ok(thin.xs.length <= 300 && thin.xs.length > 100, `${thin.xs.length} points`);
    assert.deepEqual([thin.indices[0], thin.indices[thin.indices.length - 1]], [0, roc.fpr.length - 1]);
    assert.ok(thin.indices.every((v, i) => i === 0 || v > thin.indices[i - 1]), 'indices ascend');
    assert.ok(Math.abs(trapezoid(thin.xs, thin.ys) - rocAuc(y, score)) < 1e-3);
    // Every dropped point lies close to the thinned line (in plot units, the axes being [0, 1]).
    let worst = 0;
    for (let k = 1; k < thin.indices.length; k++) {
      for (let i = thin.indices[k - 1] + 1; i < thin.indices[k]; i++) {
        const [ax, ay, bx, by] = [thin.xs[k - 1], thin.ys[k - 1], thin.xs[k], thin.ys[k]];
        const d = Math.abs((bx - ax) * (roc.tpr[i] - ay) - (by - ay) * (roc.fpr[i] - ax)) / Math.hypot(bx - ax, by - ay);
        worst = Math.max(worst, d);
      }
    }
    assert.ok(worst < 0.01, `worst deviation ${worst}`);

    // And the report built from it stays small.
    const pr = precisionRecallCurve(y, score);
    const html = renderVersionReport({
      model: 'big', version: 1, task: 'binary', metrics: { auc: rocAuc(y, score) }, classes: ['no', 'yes'],
      roc: { ...roc, auc: rocAuc(y, score) }, pr: { ...pr, averagePrecision: 0.5 }, confusion: [[50_000, 20_000], [9_000, 21_000]],
    });
    assert.ok(html.length < 60_000, `report is ${html.length} characters`);
  });
});

// ---------------------------------------------------------------------------------------------------
// Report inputs from real models trained with the project's ML core.
// ---------------------------------------------------------------------------------------------------
const csv = (name: string) => parseCsv(fs.readFileSync(path.join(ROOT, 'datasets', name), 'utf8'));

/** A deliberately weak logistic model (two features) on Breast Cancer Wisconsin, so the curves are not a perfect corner. */
function binaryInput(): VersionReportInput {
  const features = ['texture_mean', 'smoothness_mean'];
  const d = prepareData(csv('breast-cancer-wisconsin.csv'), { target: 'diagnosis', numeric: features, task: 'binary', seed: 42 });
  const { model } = trainLogistic(d.x.train, d.y.train, d.x.validation, d.y.validation, { features, classes: d.classes as [string, string], l2Grid: [1e-2] });
  const p = predictProba(model, d.x.test);
  const m = binaryMetrics(d.y.test, p);
  const confusion = [[0, 0], [0, 0]];
  d.y.test.forEach((actual, i) => confusion[actual][p[i] >= 0.5 ? 1 : 0]++);
  return {
    model: 'cancer', version: 7, status: 'approved', createdAt: '2025-03-02T10:00:00Z', task: 'binary',
    metrics: { accuracy: m.accuracy, precision: m.precision, recall: m.recall, f1: m.f1, auc: m.auc, prAuc: m.prAuc, brier: m.brier, logLoss: m.logLoss, n: m.n },
    classes: d.classes,
    roc: { ...rocCurve(d.y.test, p), auc: m.auc },
    pr: { ...precisionRecallCurve(d.y.test, p), averagePrecision: m.prAuc },
    confusion,
    links: [{ label: 'Training run in the Temporal Web UI', href: 'http://localhost:8233/namespaces/default/workflows/train-cancer-1' }],
  };
}

function multiclassInput(): VersionReportInput {
  const features = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];
  const d = prepareData(csv('iris.csv'), { target: 'species', numeric: features, task: 'multiclass', seed: 3 });
  const { model } = trainSoftmax(d.x.train, d.y.train, d.x.validation, d.y.validation, { features, classes: d.classes, l2Grid: [1e-1] });
  const m = multiclassMetrics(d.y.test, predictSoftmax(model, d.x.test), d.classes.length);
  return {
    model: 'iris', version: 2, task: 'multiclass', classes: d.classes, confusion: m.confusion,
    metrics: { accuracy: m.accuracy, macroPrecision: m.macroPrecision, macroRecall: m.macroRecall, macroF1: m.macroF1, logLoss: m.logLoss },
  };
}

/** Iris petal length from the other measurements: a ridge regression. */
function regressionInput(): VersionReportInput {
  const features = ['sepal_length', 'sepal_width', 'petal_width'];
  const d = prepareData(csv('iris.csv'), { target: 'petal_length', numeric: features, task: 'regression', seed: 5 });
  const { model } = trainRidge(d.x.train, d.y.train, d.x.validation, d.y.validation, { features, l2Grid: [1e-2] });
  // The test split is small (23 rows); the training rows make a fuller picture for the render check.
  const rows = d.split.train.length;
  const train = { rows, cols: features.length, data: new Float64Array(rows * features.length) };
  d.x.train.forEach((column, j) => column.forEach((v, i) => { train.data[i * features.length + j] = v; }));
  const predicted = Array.from(predictRidge(model, train));
  const m = regressionMetrics(d.y.test, predictRidge(model, d.x.test));
  return {
    model: 'petals', version: 1, task: 'regression', classes: [], metrics: { rmse: m.rmse, mae: m.mae, r2: m.r2 },
    scatter: { actual: Array.from(d.y.train), predicted },
  };
}

// Drift values as scipy computes them (ks_2samp, chi2_contingency, jensenshannon base 2, wasserstein_distance,
// PSI with a 1e-4 floor) for: radius_mean of the bundled data against 400 rows drawn from it scaled by
// 1.12 and shifted by 0.4 (decile bins of the reference); texture_mean against 400 plain draws; and a
// region column where served traffic brings a new category.
const driftFeatures: FeatureDrift[] = [
  {
    name: 'texture_mean', kind: 'numeric', test: 'ks', statistic: 0.028624780316344463, pvalue: 0.9867221186402848,
    psi: 0.010637896351745587, jensenShannon: 0.04378282619250098, wasserstein: 0.16867245166959585, drifted: false,
    missing: { reference: 0, current: 0.0025 },
    bins: {
      labels: ['≤ 14.08', '14.08 – 15.66', '15.66 – 16.84', '16.84 – 17.91', '17.91 – 18.84', '18.84 – 19.97', '19.97 – 21.27', '21.27 – 22.44', '22.44 – 24.99', '> 24.99'],
      reference: [0.1002, 0.1002, 0.1019, 0.0984, 0.1002, 0.0984, 0.1002, 0.1019, 0.0984, 0.1002],
      current: [0.085, 0.11, 0.115, 0.095, 0.11, 0.11, 0.085, 0.1025, 0.09, 0.0975],
    },
  },
  {
    name: 'radius_mean', kind: 'numeric', test: 'ks', statistic: 0.2951845342706503, pvalue: 1.4535629154876332e-18,
    psi: 0.4871915580956792, jensenShannon: 0.287890881236282, wasserstein: 2.1653150601054496, drifted: true,
    missing: { reference: 0, current: 0 },
    bins: {
      labels: ['≤ 10.26', '10.26 – 11.37', '11.37 – 12.01', '12.01 – 12.73', '12.73 – 13.37', '13.37 – 14.06', '14.06 – 15.06', '15.06 – 17.07', '17.07 – 19.53', '> 19.53'],
      reference: [0.1019, 0.0984, 0.1002, 0.1002, 0.1002, 0.0984, 0.1002, 0.1002, 0.1019, 0.0984],
      current: [0.0275, 0.06, 0.0175, 0.0375, 0.075, 0.125, 0.13, 0.1925, 0.1325, 0.2025],
    },
  },
  {
    name: 'region', kind: 'categorical', test: 'chi2', statistic: 150.9080056040057, pvalue: 1.6783747941759776e-32,
    psi: 1.914745510957007, jensenShannon: 0.3622584768250294, drifted: true,
    missing: { reference: 0.01, current: 0.02 },
    bins: { labels: ['north', 'south', 'east', 'latam'], reference: [0.5272, 0.2988, 0.174, 0], current: [0.375, 0.2375, 0.15, 0.2375] },
  },
];

function driftInput(features = driftFeatures): DriftReportInput {
  const drifted = features.filter((f) => f.drifted).length;
  return {
    model: 'cancer', version: 7, checkId: 'check-cancer-20250302T1000', checkedAt: '2025-03-02T10:00:00Z',
    window: { from: '2025-03-01T10:00:00Z', to: '2025-03-02T10:00:00Z', rows: 400, labelled: 120 },
    drift: {
      referenceRows: 569, currentRows: 400, features, driftedFeatures: drifted, driftedShare: drifted / features.length, datasetDrift: drifted / features.length >= 0.5,
      settings: { alpha: 0.05, bonferroni: true, psiThreshold: 0.2, minPsi: 0.1, driftShare: 0.5, psiFloor: 1e-4 },
    },
    quality: { accuracy: 0.91, precision: 0.88, recall: 0.84, auc: 0.95 },
    serving: { requests: 412, errorRate: 0.0049, p99Ms: 18.4 },
    breaches: ['2 of 3 features drifted (67%, the limit is 50%): radius_mean (PSI 0.49), region (PSI 1.91)'],
    links: [{ label: 'Monitoring workflow', href: 'http://localhost:8233/namespaces/default/workflows/monitor-cancer' }],
  };
}

// ---------------------------------------------------------------------------------------------------
// The pages themselves.
// ---------------------------------------------------------------------------------------------------
/** The markup of every tag with its quoted attribute values emptied: what is left are element and
 * attribute names, which is where a script could hide (text and values are escaped, so hold no "<"). */
function tagSkeletons(html: string): string[] {
  return [...html.matchAll(/<[a-zA-Z!/][^>]*>/g)].map((m) => m[0].replace(/"[^"]*"/g, '""'));
}

/** Every src/href in a page, and every other way a page could load or run something. */
function externalReferences(html: string): { urls: string[]; loaders: string[] } {
  const urls = [...html.matchAll(/\s(?:src|href)="([^"]*)"/gi)].map((m) => m[1]);
  const loaders = [
    ...tagSkeletons(html).flatMap((tag) => [...tag.matchAll(/^<(?:script|link|iframe|object|embed|img|base|use)\b|\son[a-z]+=/gi)].map((m) => m[0])),
    ...[...html.matchAll(/@import|url\(/gi)].map((m) => m[0]),
  ];
  return { urls, loaders };
}

describe('report pages', () => {
  it('are complete documents that load nothing: no script, no remote src or href but the given links', () => {
    const version = binaryInput();
    const drift = driftInput();
    for (const [html, links] of [[renderVersionReport(version), version.links], [renderDriftReport(drift), drift.links]] as const) {
      assert.match(html, /^<!DOCTYPE html>\n<html lang="en">/);
      assert.match(html, /<meta charset="utf-8">/);
      assert.match(html, /<\/body>\n<\/html>\n$/);
      assert.match(html, /Content-Security-Policy" content="default-src 'none'/);
      const { urls, loaders } = externalReferences(html);
      assert.deepEqual(loaders, []);
      const remote = urls.filter((u) => /^\s*(https?:)?\/\//i.test(u));
      assert.deepEqual(remote, links!.map((l) => l.href));
      assert.ok(urls.every((u) => u.startsWith('#') || remote.includes(u)), `unexpected hrefs: ${urls.join(' ')}`);
    }
  });

  it('render every data-borne string inert', () => {
    const version: VersionReportInput = {
      ...multiclassInput(), model: XSS, status: XSS_ATTR, createdAt: XSS, classes: [XSS, XSS_ATTR, 'virginica'],
      metrics: { [XSS]: 1, [XSS_ATTR]: 0.5 },
      links: [{ label: XSS, href: 'javascript:alert(1)' }, { label: 'ok', href: `http://x/"onmouseover="alert(1)` }, { label: 'tab', href: 'java\tscript:alert(1)' }],
    };
    const feature = (over: Partial<FeatureDrift>): FeatureDrift => ({ ...driftFeatures[2], ...over });
    const drift = driftInput([
      feature({ name: XSS, bins: { labels: [XSS, XSS_ATTR, 'x'], reference: [0.5, 0.5, 0], current: [0.2, 0.3, 0.5] } }),
      feature({ name: XSS_ATTR }),
    ]);
    const pages = [
      renderVersionReport(version),
      renderVersionReport({ ...binaryInput(), model: XSS, classes: [XSS, XSS_ATTR] }),
      renderDriftReport({ ...drift, model: XSS, checkId: XSS_ATTR, checkedAt: XSS, breaches: [XSS], quality: { [XSS]: 1 }, window: { from: XSS, to: XSS_ATTR, rows: 1, labelled: 0 } }),
    ];
    for (const html of pages) {
      assert.doesNotMatch(html, /<script|<img|javascript:/i);
      assert.deepEqual(externalReferences(html).loaders, [], 'no script, loader or event-handler attribute');
      assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
      assert.ok(html.includes('&quot;&gt;&lt;img src=x onerror=alert(1)&gt;'));
    }
    assert.ok(pages[0].includes('href="#"'), 'a javascript: link becomes #');
    assert.ok(pages[0].includes('href="http://x/&quot;onmouseover=&quot;alert(1)"'));
    assert.equal(safeHref(' JavaScript:alert(1)'), '#');
    assert.equal(safeHref('/v1/models/x'), '/v1/models/x');
  });

  it('say "no data" instead of throwing on empty and NaN inputs', () => {
    const empties: VersionReportInput[] = [
      { model: 'm', version: 1, task: 'binary', metrics: { auc: NaN }, classes: [], roc: { fpr: [], tpr: [], auc: NaN }, pr: { recall: [NaN, NaN], precision: [NaN, 1], averagePrecision: NaN }, confusion: [] },
      { model: 'm', version: 1, task: 'binary', metrics: {}, classes: ['a', 'b'] },
      { model: 'm', version: 1, task: 'multiclass', metrics: {}, classes: ['a', 'b', 'c'], confusion: [[0, 0, 0], [0, NaN, 0], [0, 0, 0]] },
      { model: 'm', version: 1, task: 'regression', metrics: { rmse: NaN }, classes: [], scatter: { actual: [NaN, 1], predicted: [2, NaN] } },
      { model: 'm', version: 1, task: 'regression', metrics: {}, classes: [] },
      // One-class test set: rocCurve gives NaN rates.
      { model: 'm', version: 1, task: 'binary', metrics: {}, classes: ['a', 'b'], roc: { ...rocCurve([1, 1], [0.2, 0.9]), auc: NaN } },
    ];
    // Stored as JSON, NaN comes back as null: still no data, not a line along an axis.
    empties.push(JSON.parse(JSON.stringify(empties[5])));
    for (const input of empties) {
      const html = renderVersionReport(input);
      assert.match(html, />no data</, JSON.stringify(input).slice(0, 120));
      assert.doesNotMatch(html, /NaN|undefined|Infinity/);
    }
    assert.match(renderVersionReport(empties[0]), /AUC n\/a/);

    const broken = renderDriftReport(driftInput([{
      ...driftFeatures[0], statistic: NaN, pvalue: NaN, psi: NaN, jensenShannon: NaN, wasserstein: undefined,
      bins: { labels: [], reference: [], current: [] },
    }, { ...driftFeatures[1], bins: { labels: ['a', 'b'], reference: [NaN, 0], current: [0, NaN] } }]));
    assert.match(broken, />no data</);
    assert.doesNotMatch(broken, /NaN|undefined/);

    const none = renderDriftReport({ ...driftInput(), drift: null, quality: undefined, serving: undefined, breaches: [] });
    assert.match(none, /too few rows \(400\)/);
    assert.doesNotMatch(none, /<svg/);
  });

  it('lead with the verdict and put drifted features first, with their statistics and new categories', () => {
    const html = renderDriftReport(driftInput());
    assert.match(html, /dataset drift<\/span> <strong>2 of 3<\/strong> features drifted \(66\.7%\)/);
    assert.ok(html.indexOf('feature-0">radius_mean') < html.indexOf('feature-2">texture_mean'));
    assert.ok(html.indexOf('id="feature-1"><figure') > 0);
    assert.match(html, /New in served data:<\/strong> latam/);
    assert.match(html, /Kolmogorov-Smirnov statistic<\/th><td>0\.2952</);
    assert.match(html, /p-value<\/th><td>1\.454e-18</);
    assert.match(html, /Wasserstein distance<\/th><td>2\.165</);
    assert.match(html, /p99 latency<\/th><td>18\.4 ms/);
    assert.equal(formatNumber(1.6783747941759776e-32), '1.678e-32');
  });
});

// ---------------------------------------------------------------------------------------------------
// In a real browser.
// ---------------------------------------------------------------------------------------------------
interface Png { width: number; height: number; channels: number; data: Uint8Array }

/** A PNG decoder for Chromium's screenshots: 8-bit RGB or RGBA, not interlaced, all five row filters. */
function decodePng(buffer: Buffer): Png {
  assert.deepEqual([...buffer.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10], 'PNG signature');
  let width = 0, height = 0, channels = 0;
  const idat: Buffer[] = [];
  for (let at = 8; at < buffer.length; ) {
    const length = buffer.readUInt32BE(at);
    const type = buffer.toString('latin1', at + 4, at + 8);
    const body = buffer.subarray(at + 8, at + 8 + length);
    if (type === 'IHDR') {
      width = body.readUInt32BE(0); height = body.readUInt32BE(4);
      const [depth, colourType, interlace] = [body[8], body[9], body[12]];
      assert.equal(depth, 8, 'bit depth');
      assert.equal(interlace, 0, 'interlace');
      channels = colourType === 6 ? 4 : colourType === 2 ? 3 : 0;
      assert.ok(channels > 0, `colour type ${colourType}`);
    } else if (type === 'IDAT') idat.push(body);
    else if (type === 'IEND') break;
    at += 12 + length;
  }
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const data = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const out = y * stride;
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? data[out + x - channels] : 0;
      const b = y > 0 ? data[out - stride + x] : 0;
      const c = x >= channels && y > 0 ? data[out - stride + x - channels] : 0;
      let predictor = 0;
      if (filter === 1) predictor = a;
      else if (filter === 2) predictor = b;
      else if (filter === 3) predictor = (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)];
        predictor = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else assert.equal(filter, 0, `row filter ${filter}`);
      data[out + x] = (line[x] + predictor) & 255;
    }
  }
  return { width, height, channels, data };
}

/** Pixels of exactly one colour: how many, where, and on how many separate bands of rows. */
function colourPixels(png: Png, hex: string): { count: number; minX: number; maxX: number; minY: number; maxY: number; bands: number } {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  let count = 0, minX = Infinity, maxX = -1, minY = Infinity, maxY = -1, bands = 0, lastY = -1000;
  for (let y = 0; y < png.height; y++) {
    let inRow = 0;
    for (let x = 0; x < png.width; x++) {
      const i = (y * png.width + x) * png.channels;
      if (png.data[i] === r && png.data[i + 1] === g && png.data[i + 2] === b) {
        inRow++;
        minX = Math.min(minX, x); maxX = Math.max(maxX, x);
      }
    }
    if (inRow > 0) {
      count += inRow; minY = Math.min(minY, y); maxY = y;
      if (y - lastY > 40) bands++; // a gap of 40 px starts a new chart
      lastY = y;
    }
  }
  return { count, minX, maxX, minY, maxY, bands };
}

/** The box around every pixel that is not the page's white background, or undefined for a blank page. */
function contentBox(png: Png): { minX: number; maxX: number; minY: number; maxY: number } | undefined {
  let minX = Infinity, maxX = -1, minY = Infinity, maxY = -1;
  for (let y = 0; y < png.height; y++) {
    for (let x = 0; x < png.width; x++) {
      const i = (y * png.width + x) * png.channels;
      if (png.data[i] !== 255 || png.data[i + 1] !== 255 || png.data[i + 2] !== 255) {
        minX = Math.min(minX, x); maxX = Math.max(maxX, x); minY = Math.min(minY, y); maxY = y;
      }
    }
  }
  return maxY < 0 ? undefined : { minX, maxX, minY, maxY };
}

/** Charts' geometry from the DOM Chromium built: each path's extent, and the rects and circles drawn. */
function chartGeometry(dom: string) {
  const svgs = [...dom.matchAll(/<svg\b[^>]*class="(chart-[a-z]+)"[\s\S]*?<\/svg>/g)].map((m) => {
    const body = m[0];
    const paths = [...body.matchAll(/<path class="series" d="([^"]+)"/g)].map((p) => {
      const numbers = [...p[1].matchAll(/-?\d+(?:\.\d+)?/g)].map((n) => Number(n[0]));
      const xs = numbers.filter((_, i) => i % 2 === 0), ys = numbers.filter((_, i) => i % 2 === 1);
      return { points: xs.length, width: Math.max(...xs) - Math.min(...xs), height: Math.max(...ys) - Math.min(...ys) };
    });
    const rects = [...body.matchAll(/<rect\b([^>]*)>/g)].map((r) => ({
      width: Number(/width="([\d.]+)"/.exec(r[1])?.[1]), height: Number(/height="([\d.]+)"/.exec(r[1])?.[1]), cls: /class="([^"]+)"/.exec(r[1])?.[1],
    }));
    const barRects = [...body.matchAll(/<g class="bars"[^>]*>([\s\S]*?)<\/g>/g)].flatMap((g) => [...g[1].matchAll(/<rect\b[^>]*height="([\d.]+)"/g)].map((h) => Number(h[1])));
    const circles = (body.match(/<circle\b/g) ?? []).length;
    return { kind: m[1], paths, cells: rects.filter((r) => r.cls === 'cell'), barRects, circles };
  });
  return svgs;
}

describe('reports in headless Chromium', () => {
  let chromium = '';
  let dir = '';
  const pngs = new Map<string, Png>();
  const doms = new Map<string, string>();

  before(() => {
    // Installs Debian's chromium on first use (as other tests install the Temporal CLI); a failed
    // install fails these tests with the script's own output rather than skipping them.
    const started = Date.now();
    const result = spawnSync('bash', [path.join(ROOT, 'scripts', 'install-chromium.sh')], { encoding: 'utf8', timeout: 15 * 60_000 });
    if (result.status !== 0 || !result.stdout.trim()) {
      assert.fail(`scripts/install-chromium.sh failed (exit ${result.status ?? result.signal}):\n${result.stdout}\n${result.stderr.slice(-4000)}`);
    }
    chromium = result.stdout.trim().split('\n').pop()!;
    const version = spawnSync(chromium, ['--version'], { encoding: 'utf8' }).stdout.trim();
    console.log(`# ${version} at ${chromium}, ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-reports-'));

    const pages: Record<string, string> = {
      binary: renderVersionReport(binaryInput()),
      multiclass: renderVersionReport(multiclassInput()),
      regression: renderVersionReport(regressionInput()),
      drift: renderDriftReport(driftInput()),
    };
    for (const [name, html] of Object.entries(pages)) {
      const file = path.join(dir, `${name}.html`);
      fs.writeFileSync(file, html);
      const url = `file://${file}`;
      // A profile per run, so parallel test runs do not fight over Chromium's profile lock; sRGB so
      // the screenshot holds the exact colours the SVG names.
      const common = ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--force-color-profile=srgb', '--force-device-scale-factor=1', `--user-data-dir=${path.join(dir, `profile-${name}`)}`];
      const png = path.join(dir, `${name}.png`);
      const shot = spawnSync(chromium, [...common, `--screenshot=${png}`, '--window-size=1200,2400', url], { encoding: 'utf8', timeout: 120_000 });
      assert.ok(fs.existsSync(png), `no screenshot of ${name} (exit ${shot.status}):\n${shot.stderr.slice(-3000)}`);
      pngs.set(name, decodePng(fs.readFileSync(png)));
      const dump = spawnSync(chromium, [...common, '--dump-dom', url], { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20 });
      assert.equal(dump.status, 0, `--dump-dom of ${name} failed:\n${dump.stderr.slice(-3000)}`);
      doms.set(name, dump.stdout);
    }
  });

  after(() => {
    // KEEP_REPORTS=1 leaves the pages and screenshots to look at.
    if (dir && !process.env.KEEP_REPORTS) fs.rmSync(dir, { recursive: true, force: true });
    else if (dir) console.log(`# reports kept in ${dir}`);
  });

  it('fits each page in its 1200 x 2400 screenshot, so the checks below see all of it', () => {
    for (const [name, png] of pngs) {
      const content = contentBox(png);
      assert.ok(content, `${name}: the screenshot is blank`);
      // the body's padding (32 px at the sides, 48 px below) stays white: nothing runs off the right
      // edge, and the page ends above the bottom rather than being cut off there
      assert.ok(content.minX >= 24 && content.maxX < png.width - 24, `${name}: content spans x ${content.minX}..${content.maxX} of ${png.width}`);
      assert.ok(content.maxY < png.height - 40, `${name}: content reaches y ${content.maxY} of ${png.height}`);
    }
  });

  it('binary report: ROC and PR paths with real extent, a 2x2 grid, each drawn in its colour', () => {
    const charts = chartGeometry(doms.get('binary')!);
    assert.deepEqual(charts.map((c) => c.kind), ['chart-line', 'chart-line', 'chart-heatmap']);
    for (const chart of charts.slice(0, 2)) {
      assert.equal(chart.paths.length, 1);
      const [p] = chart.paths;
      assert.ok(p.points >= 10 && p.width > 200 && p.height > 200, `path ${JSON.stringify(p)}`);
    }
    assert.equal(charts[2].cells.length, 4);
    assert.ok(charts[2].cells.every((c) => c.width >= 22 && c.height >= 22));
    assert.doesNotMatch(doms.get('binary')!, />no data</);

    const png = pngs.get('binary')!;
    for (const colour of [COLOURS.roc, COLOURS.pr]) {
      const seen = colourPixels(png, colour);
      assert.ok(seen.count > 400 && seen.maxX - seen.minX > 200 && seen.maxY - seen.minY > 200, `${colour}: ${JSON.stringify(seen)}`);
    }
    // The ROC curve lies left of the PR curve on the page.
    assert.ok(colourPixels(png, COLOURS.roc).minX < colourPixels(png, COLOURS.pr).minX);
    const input = binaryInput();
    const shares = input.confusion!.flatMap((row) => row.map((v) => v / row.reduce((s, x) => s + x, 0)));
    const darkest = colourPixels(png, shade(Math.max(...shares)));
    assert.ok(darkest.count > 40 * 40, `darkest cell: ${JSON.stringify(darkest)}`);
  });

  it('multiclass report: a 3x3 confusion grid shaded by row share, no ROC', () => {
    const charts = chartGeometry(doms.get('multiclass')!);
    assert.deepEqual(charts.map((c) => c.kind), ['chart-heatmap']);
    assert.equal(charts[0].cells.length, 9);
    const confusion = multiclassInput().confusion!;
    const png = pngs.get('multiclass')!;
    for (const row of confusion) {
      const total = row.reduce((s, v) => s + v, 0);
      const diagonal = row[confusion.indexOf(row)] / total;
      assert.ok(colourPixels(png, shade(diagonal)).count > 40 * 40, `diagonal share ${diagonal}`);
    }
  });

  it('regression report: a cloud of points along the identity line', () => {
    const charts = chartGeometry(doms.get('regression')!);
    assert.deepEqual(charts.map((c) => c.kind), ['chart-scatter']);
    assert.ok(charts[0].circles > 80, `${charts[0].circles} circles`);
    assert.match(doms.get('regression')!, /<line class="guide"[^>]*stroke-dasharray/);
    const seen = colourPixels(pngs.get('regression')!, COLOURS.scatter);
    assert.ok(seen.count > 500 && seen.maxX - seen.minX > 200 && seen.maxY - seen.minY > 200, JSON.stringify(seen));
  });

  it('drift report: a histogram per feature with both series in bars of real height', () => {
    const charts = chartGeometry(doms.get('drift')!);
    assert.deepEqual(charts.map((c) => c.kind), ['chart-bars', 'chart-bars', 'chart-bars']);
    for (const chart of charts) {
      assert.ok(chart.barRects.length >= 7, `${chart.barRects.length} bars`);
      assert.ok(Math.max(...chart.barRects) > 50, 'the tallest bar is more than 50 px');
    }
    const png = pngs.get('drift')!;
    for (const colour of [COLOURS.reference, COLOURS.current]) {
      const seen = colourPixels(png, colour);
      // Three charts one below another, plus the legend swatches in each.
      assert.ok(seen.count > 3000 && seen.bands >= 3, `${colour}: ${JSON.stringify(seen)}`);
    }
  });
});
