/** Binary classification metrics on held-out rows. */

export interface BinaryMetrics {
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  auc: number;
  /** Area under the precision-recall curve as average precision (scikit-learn's definition). */
  prAuc: number;
  /** Mean squared difference between the probability and the 0/1 outcome. */
  brier: number;
  logLoss: number;
  /** Rows scored, and how many of them are positive. */
  n: number;
  positives: number;
}

/**
 * Area under the ROC curve as the Mann-Whitney statistic: the chance a random positive scores above a
 * random negative, counting ties as one half (tied scores share their average rank).
 */
export function rocAuc(y: ArrayLike<number>, score: ArrayLike<number>): number {
  const n = y.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => score[a] - score[b]);
  let positives = 0;
  let rankSum = 0;
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && score[order[j + 1]] === score[order[i]]) j++;
    const averageRank = (i + j + 2) / 2; // ranks are 1-based
    for (let k = i; k <= j; k++) if (y[order[k]] === 1) { positives++; rankSum += averageRank; }
    i = j + 1;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/**
 * Average precision: Σ (Rₙ − Rₙ₋₁)·Pₙ over the thresholds at each distinct score, highest first, tied
 * scores taken together (as scikit-learn's average_precision_score does).
 */
export function averagePrecision(y: ArrayLike<number>, score: ArrayLike<number>): number {
  const order = Array.from({ length: y.length }, (_, i) => i).sort((a, b) => score[b] - score[a]);
  let positives = 0;
  for (let i = 0; i < y.length; i++) if (y[i] === 1) positives++;
  if (positives === 0) return NaN;
  let tp = 0, previousRecall = 0, ap = 0;
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j < order.length && score[order[j]] === score[order[i]]) { if (y[order[j]] === 1) tp++; j++; }
    const seen = j;
    const recall = tp / positives;
    ap += (recall - previousRecall) * (tp / seen);
    previousRecall = recall;
    i = j;
  }
  return ap;
}

/** Metrics at a probability threshold (default 0.5); log loss clips probabilities to [1e-15, 1 - 1e-15]. */
export function binaryMetrics(y: ArrayLike<number>, probability: ArrayLike<number>, threshold = 0.5): BinaryMetrics {
  let tp = 0, fp = 0, tn = 0, fn = 0, loss = 0, brier = 0;
  const eps = 1e-15;
  for (let i = 0; i < y.length; i++) {
    const p = probability[i];
    const predicted = p >= threshold ? 1 : 0;
    if (y[i] === 1) predicted ? tp++ : fn++;
    else predicted ? fp++ : tn++;
    const clipped = Math.min(Math.max(p, eps), 1 - eps);
    loss -= y[i] === 1 ? Math.log(clipped) : Math.log(1 - clipped);
    brier += (p - (y[i] === 1 ? 1 : 0)) ** 2;
  }
  const n = y.length;
  const precision = tp + fp > 0 ? tp / (tp + fp) : 0;
  const recall = tp + fn > 0 ? tp / (tp + fn) : 0;
  return {
    accuracy: n > 0 ? (tp + tn) / n : NaN,
    precision,
    recall,
    f1: precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0,
    auc: rocAuc(y, probability),
    prAuc: averagePrecision(y, probability),
    brier: n > 0 ? brier / n : NaN,
    logLoss: n > 0 ? loss / n : NaN,
    n,
    positives: tp + fn,
  };
}

export interface MulticlassMetrics {
  accuracy: number;
  macroPrecision: number;
  macroRecall: number;
  macroF1: number;
  /** Equals accuracy when every row has exactly one label; reported for comparison with other tools. */
  microF1: number;
  logLoss: number;
  n: number;
  /** confusion[actual][predicted] counts. */
  confusion: number[][];
}

/** Metrics for class indices y (0..K-1) and probabilities row-major [n][K]; prediction is the argmax. */
export function multiclassMetrics(y: ArrayLike<number>, probabilities: ArrayLike<number>, k: number): MulticlassMetrics {
  const n = y.length;
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  let loss = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (probabilities[i * k + c] > probabilities[i * k + best]) best = c;
    confusion[y[i]][best]++;
    loss -= Math.log(Math.min(Math.max(probabilities[i * k + y[i]], 1e-15), 1 - 1e-15));
  }
  let correct = 0, precisionSum = 0, recallSum = 0, f1Sum = 0;
  for (let c = 0; c < k; c++) {
    const tp = confusion[c][c];
    correct += tp;
    let predicted = 0, actual = 0;
    for (let o = 0; o < k; o++) { predicted += confusion[o][c]; actual += confusion[c][o]; }
    const precision = predicted > 0 ? tp / predicted : 0;
    const recall = actual > 0 ? tp / actual : 0;
    precisionSum += precision;
    recallSum += recall;
    f1Sum += precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  }
  const accuracy = n > 0 ? correct / n : NaN;
  return { accuracy, macroPrecision: precisionSum / k, macroRecall: recallSum / k, macroF1: f1Sum / k, microF1: accuracy, logLoss: n > 0 ? loss / n : NaN, n, confusion };
}

export interface RegressionMetrics {
  rmse: number;
  mae: number;
  r2: number;
  n: number;
}

export function regressionMetrics(y: ArrayLike<number>, prediction: ArrayLike<number>): RegressionMetrics {
  const n = y.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += y[i];
  mean /= n;
  let se = 0, ae = 0, total = 0;
  for (let i = 0; i < n; i++) {
    const e = y[i] - prediction[i];
    se += e * e;
    ae += Math.abs(e);
    total += (y[i] - mean) ** 2;
  }
  return { rmse: Math.sqrt(se / n), mae: ae / n, r2: total > 0 ? 1 - se / total : NaN, n };
}

/**
 * Points of a binary score's curves: one per distinct score, highest first, tied scores taken together
 * (scikit-learn's _binary_clf_curve). Rows with a NaN score are left out, since they have no place in
 * the order; a positive is y === 1, as in rocAuc.
 */
function thresholdCounts(y: ArrayLike<number>, score: ArrayLike<number>): { tps: number[]; fps: number[]; thresholds: number[] } {
  const order: number[] = [];
  for (let i = 0; i < y.length; i++) if (!Number.isNaN(score[i])) order.push(i);
  // Compared rather than subtracted, so infinite scores order correctly (Infinity - Infinity is NaN).
  order.sort((a, b) => (score[b] > score[a] ? 1 : score[b] < score[a] ? -1 : 0));
  const tps: number[] = [], fps: number[] = [], thresholds: number[] = [];
  let tp = 0, fp = 0;
  for (let i = 0; i < order.length; ) {
    const s = score[order[i]];
    while (i < order.length && score[order[i]] === s) { if (y[order[i]] === 1) tp++; else fp++; i++; }
    tps.push(tp); fps.push(fp); thresholds.push(s);
  }
  return { tps, fps, thresholds };
}

/**
 * The ROC curve as scikit-learn's roc_curve(drop_intermediate=False): a point per distinct score, after
 * a first point (0, 0) at threshold +Infinity. Without negatives (or positives) the false (true) positive
 * rates are NaN, as there. No scored rows gives empty arrays.
 */
export function rocCurve(y: ArrayLike<number>, score: ArrayLike<number>): { fpr: number[]; tpr: number[]; thresholds: number[] } {
  const { tps, fps, thresholds } = thresholdCounts(y, score);
  if (thresholds.length === 0) return { fpr: [], tpr: [], thresholds: [] };
  const positives = tps[tps.length - 1], negatives = fps[fps.length - 1];
  return {
    fpr: [0, ...fps].map((f) => (negatives > 0 ? f / negatives : NaN)),
    tpr: [0, ...tps].map((t) => (positives > 0 ? t / positives : NaN)),
    thresholds: [Infinity, ...thresholds],
  };
}

/**
 * Precision and recall as scikit-learn's precision_recall_curve: a point per distinct score in rising
 * threshold order, then the point (recall 0, precision 1) that has no threshold. Without positives
 * recall is 1 everywhere, as there. No scored rows gives empty arrays.
 */
export function precisionRecallCurve(y: ArrayLike<number>, score: ArrayLike<number>): { precision: number[]; recall: number[]; thresholds: number[] } {
  const { tps, fps, thresholds } = thresholdCounts(y, score);
  if (thresholds.length === 0) return { precision: [], recall: [], thresholds: [] };
  const positives = tps[tps.length - 1];
  const precision = tps.map((t, i) => (t + fps[i] > 0 ? t / (t + fps[i]) : 0)).reverse();
  const recall = tps.map((t) => (positives > 0 ? t / positives : 1)).reverse();
  return { precision: [...precision, 1], recall: [...recall, 0], thresholds: [...thresholds].reverse() };
}

/**
 * At most maxPoints (at least 2) of a curve's points, chosen so the drawn line keeps its shape: the
 * first and last points, then again and again the point farthest from the line drawn so far (top-down
 * Douglas-Peucker with a point budget instead of a tolerance). Distances are measured with each axis
 * scaled to its range, as on a plot. Points with a non-finite coordinate are dropped first; `indices`
 * are positions in the input, so callers can thin matching arrays (thresholds) alike.
 */
export function thinCurve(xs: ArrayLike<number>, ys: ArrayLike<number>, maxPoints: number): { xs: number[]; ys: number[]; indices: number[] } {
  const kept: number[] = [];
  for (let i = 0; i < Math.min(xs.length, ys.length); i++) if (Number.isFinite(xs[i]) && Number.isFinite(ys[i])) kept.push(i);
  const budget = Math.max(2, Math.floor(maxPoints));
  const pick = (indices: number[]) => ({ xs: indices.map((i) => xs[i]), ys: indices.map((i) => ys[i]), indices });
  if (kept.length <= budget) return pick(kept);

  let [xMin, xMax, yMin, yMax] = [Infinity, -Infinity, Infinity, -Infinity];
  for (const i of kept) { xMin = Math.min(xMin, xs[i]); xMax = Math.max(xMax, xs[i]); yMin = Math.min(yMin, ys[i]); yMax = Math.max(yMax, ys[i]); }
  const sx = xMax > xMin ? 1 / (xMax - xMin) : 1, sy = yMax > yMin ? 1 / (yMax - yMin) : 1;
  const px = (k: number) => xs[kept[k]] * sx, py = (k: number) => ys[kept[k]] * sy;

  // The point of kept[a+1 .. b-1] farthest from the chord a-b (or from a itself when a and b coincide).
  const farthest = (a: number, b: number): { at: number; distance: number } => {
    const [ax, ay, dx, dy] = [px(a), py(a), px(b) - px(a), py(b) - py(a)];
    const length = Math.hypot(dx, dy);
    let at = -1, distance = -1;
    for (let k = a + 1; k < b; k++) {
      const d = length > 0 ? Math.abs(dx * (py(k) - ay) - dy * (px(k) - ax)) / length : Math.hypot(px(k) - ax, py(k) - ay);
      if (d > distance) { distance = d; at = k; }
    }
    return { at, distance };
  };

  const chosen = new Set<number>([0, kept.length - 1]);
  const open: { a: number; b: number; at: number; distance: number }[] = [{ a: 0, b: kept.length - 1, ...farthest(0, kept.length - 1) }];
  while (chosen.size < budget && open.length > 0) {
    let best = 0;
    for (let s = 1; s < open.length; s++) if (open[s].distance > open[best].distance) best = s;
    const { a, b, at, distance } = open[best];
    open.splice(best, 1);
    // Every remaining point lies on the line drawn so far: more points would not change the picture.
    if (at < 0 || distance <= 0) break;
    chosen.add(at);
    if (at - a > 1) open.push({ a, b: at, ...farthest(a, at) });
    if (b - at > 1) open.push({ a: at, b, ...farthest(at, b) });
  }
  return pick([...chosen].sort((p, q) => p - q).map((k) => kept[k]));
}
