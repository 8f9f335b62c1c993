/** Binary classification metrics on held-out rows. */

export interface BinaryMetrics {
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  auc: number;
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

/** Metrics at a probability threshold (default 0.5); log loss clips probabilities to [1e-15, 1 - 1e-15]. */
export function binaryMetrics(y: ArrayLike<number>, probability: ArrayLike<number>, threshold = 0.5): BinaryMetrics {
  let tp = 0, fp = 0, tn = 0, fn = 0, loss = 0;
  const eps = 1e-15;
  for (let i = 0; i < y.length; i++) {
    const p = probability[i];
    const predicted = p >= threshold ? 1 : 0;
    if (y[i] === 1) predicted ? tp++ : fn++;
    else predicted ? fp++ : tn++;
    const clipped = Math.min(Math.max(p, eps), 1 - eps);
    loss -= y[i] === 1 ? Math.log(clipped) : Math.log(1 - clipped);
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
    logLoss: n > 0 ? loss / n : NaN,
    n,
    positives: tp + fn,
  };
}
