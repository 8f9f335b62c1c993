/**
 * Multinomial (softmax) logistic regression with L2 over preprocessed features, fitted by
 * L-BFGS over the K×d weights and K intercepts (a Newton Hessian would be (K·d)² wide).
 */
import { Matrix } from './features';
import { minimizeLbfgs } from './lbfgs';
import { multiclassMetrics } from './metrics';
import { SearchCandidate, SearchOptions, searchL2 } from './search';

export interface SoftmaxModel {
  kind: 'softmax';
  features: string[];
  classes: string[];
  /** weights[k][j]: class k, standardised feature j. */
  weights: number[][];
  bias: number[];
  l2: number;
}

/** Row-wise softmax of logits [n][K] in place (max-shifted, so it never overflows). */
export function softmaxRows(logits: Float64Array, n: number, k: number): void {
  for (let i = 0; i < n; i++) {
    let max = -Infinity;
    for (let c = 0; c < k; c++) max = Math.max(max, logits[i * k + c]);
    let sum = 0;
    for (let c = 0; c < k; c++) { const e = Math.exp(logits[i * k + c] - max); logits[i * k + c] = e; sum += e; }
    for (let c = 0; c < k; c++) logits[i * k + c] /= sum;
  }
}

/**
 * Minimises mean cross-entropy + (l2 / 2)·‖W‖² over column-major standardised features; y holds class
 * indices 0..K-1. Parameters are laid out [W row-major K×d, b (K)].
 */
export function fitSoftmaxColumns(columns: Float64Array[], y: Float64Array, classCount: number, o: { l2: number; onIteration?: () => void }) {
  const d = columns.length;
  const n = y.length;
  const k = classCount;
  const probs = new Float64Array(n * k);
  const evaluate = (theta: Float64Array, grad: Float64Array): number => {
    for (let i = 0; i < n; i++) for (let c = 0; c < k; c++) probs[i * k + c] = theta[k * d + c];
    for (let j = 0; j < d; j++) {
      const col = columns[j];
      for (let c = 0; c < k; c++) {
        const w = theta[c * d + j];
        if (w === 0) continue;
        for (let i = 0; i < n; i++) probs[i * k + c] += w * col[i];
      }
    }
    let loss = 0;
    for (let i = 0; i < n; i++) {
      let max = -Infinity;
      for (let c = 0; c < k; c++) max = Math.max(max, probs[i * k + c]);
      let sum = 0;
      for (let c = 0; c < k; c++) sum += Math.exp(probs[i * k + c] - max);
      loss += max + Math.log(sum) - probs[i * k + y[i]];
    }
    softmaxRows(probs, n, k);
    for (let i = 0; i < n; i++) probs[i * k + y[i]] -= 1; // residuals p - onehot(y)
    grad.fill(0);
    let penalty = 0;
    for (let c = 0; c < k; c++) {
      for (let j = 0; j < d; j++) {
        const col = columns[j];
        let s = 0;
        for (let i = 0; i < n; i++) s += probs[i * k + c] * col[i];
        const w = theta[c * d + j];
        grad[c * d + j] = s / n + o.l2 * w;
        penalty += w * w;
      }
      let s = 0;
      for (let i = 0; i < n; i++) s += probs[i * k + c];
      grad[k * d + c] = s / n;
    }
    return loss / n + 0.5 * o.l2 * penalty;
  };
  const result = minimizeLbfgs(evaluate, new Float64Array(k * d + k), { gradientTolerance: 1e-8, maxIterations: 2000, onIteration: () => o.onIteration?.() });
  const weights = Array.from({ length: k }, (_, c) => Array.from(result.x.subarray(c * d, c * d + d)));
  return { weights, bias: Array.from(result.x.subarray(k * d)), iterations: result.iterations };
}

/** Class probabilities, row-major [rows][K], for preprocessed rows. */
export function predictSoftmax(model: SoftmaxModel, z: Matrix): Float64Array {
  const x = z;
  const k = model.classes.length;
  const out = new Float64Array(x.rows * k);
  for (let i = 0; i < x.rows; i++) {
    for (let c = 0; c < k; c++) {
      let t = model.bias[c];
      for (let j = 0; j < x.cols; j++) t += z.data[i * x.cols + j] * model.weights[c][j];
      out[i * k + c] = t;
    }
  }
  softmaxRows(out, x.rows, k);
  return out;
}

export function trainSoftmax(train: Float64Array[], yTrain: Float64Array, validation: Matrix, yValidation: Float64Array, options: SearchOptions & { features: string[]; classes: string[] }): { model: SoftmaxModel; search: SearchCandidate[] } {
  const z = train;
  const base = { kind: 'softmax' as const, features: options.features, classes: options.classes };
  const { model, search } = searchL2(options, (l2) => {
    const fit = fitSoftmaxColumns(z, yTrain, options.classes.length, { l2, onIteration: options.onIteration });
    const candidate: SoftmaxModel = { ...base, weights: fit.weights, bias: fit.bias, l2 };
    const loss = multiclassMetrics(yValidation, predictSoftmax(candidate, validation), options.classes.length).logLoss;
    return { model: candidate, validationLoss: loss, iterations: fit.iterations };
  });
  return { model, search };
}
