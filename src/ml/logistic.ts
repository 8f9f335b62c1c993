/**
 * Binary logistic regression with mean imputation, standardisation and L2 regularisation,
 * fitted by damped Newton steps. The L2 strength is chosen on the validation split.
 */
import * as math from 'mathjs';
import { Matrix } from './features';
import { binaryMetrics } from './metrics';

/** Everything needed to score raw feature rows; the ONNX export writes exactly these numbers. */
export interface LogisticModel {
  kind: 'logistic';
  features: string[];
  /** [negative, positive] labels. */
  classes: [string, string];
  /** Value that replaces a missing feature (the training mean). */
  imputeValues: number[];
  /** Standardisation: z = (x - center) / scale. */
  center: number[];
  scale: number[];
  /** Coefficients in standardised units, and the intercept. */
  weights: number[];
  bias: number;
  l2: number;
}

export interface FitOptions {
  l2: number;
  maxIterations?: number;
  tolerance?: number;
  /** Called once per Newton iteration, e.g. to heartbeat during long fits. */
  onIteration?: (iteration: number) => void;
}

export interface FitResult {
  weights: Float64Array;
  bias: number;
  iterations: number;
  converged: boolean;
}

function sigmoid(t: number): number {
  return t >= 0 ? 1 / (1 + Math.exp(-t)) : Math.exp(t) / (1 + Math.exp(t));
}

/** Mean of each column ignoring NaN; 0 for a column with no values. */
export function columnMeans(x: Matrix): Float64Array {
  const sums = new Float64Array(x.cols);
  const counts = new Float64Array(x.cols);
  for (let i = 0; i < x.rows; i++) {
    for (let j = 0; j < x.cols; j++) {
      const v = x.data[i * x.cols + j];
      if (!Number.isNaN(v)) { sums[j] += v; counts[j]++; }
    }
  }
  return sums.map((s, j) => (counts[j] > 0 ? s / counts[j] : 0));
}

/** Standard deviation of each column ignoring NaN; 1 where it is zero, so constants stay finite. */
function columnScales(x: Matrix, means: Float64Array): Float64Array {
  const sq = new Float64Array(x.cols);
  const counts = new Float64Array(x.cols);
  for (let i = 0; i < x.rows; i++) {
    for (let j = 0; j < x.cols; j++) {
      const v = x.data[i * x.cols + j];
      if (!Number.isNaN(v)) { sq[j] += (v - means[j]) ** 2; counts[j]++; }
    }
  }
  return sq.map((s, j) => { const sd = counts[j] > 0 ? Math.sqrt(s / counts[j]) : 0; return sd > 1e-12 ? sd : 1; });
}

/** Imputes and standardises a raw matrix into a new one. */
export function standardize(x: Matrix, impute: ArrayLike<number>, center: ArrayLike<number>, scale: ArrayLike<number>): Matrix {
  const out = new Float64Array(x.data.length);
  for (let i = 0; i < x.rows; i++) {
    for (let j = 0; j < x.cols; j++) {
      const k = i * x.cols + j;
      const v = Number.isNaN(x.data[k]) ? impute[j] : x.data[k];
      out[k] = (v - center[j]) / scale[j];
    }
  }
  return { rows: x.rows, cols: x.cols, data: out };
}

function objective(z: Matrix, y: Float64Array, w: Float64Array, b: number, l2: number): number {
  let loss = 0;
  for (let i = 0; i < z.rows; i++) {
    let t = b;
    for (let j = 0; j < z.cols; j++) t += z.data[i * z.cols + j] * w[j];
    // log(1 + e^t) - y t, written to stay finite for large |t|
    loss += (t > 0 ? t + Math.log1p(Math.exp(-t)) : Math.log1p(Math.exp(t))) - y[i] * t;
  }
  let penalty = 0;
  for (let j = 0; j < w.length; j++) penalty += w[j] * w[j];
  return loss / z.rows + 0.5 * l2 * penalty;
}

/**
 * Minimises mean log loss + (l2 / 2)·‖w‖² over standardised features (intercept unpenalised).
 * Newton directions come from the (d+1)×(d+1) Hessian solved with mathjs; steps are halved until the
 * objective falls, so every iteration makes progress even on separable data.
 */
export function fitLogistic(z: Matrix, y: Float64Array, options: FitOptions): FitResult {
  const { l2 } = options;
  const maxIterations = options.maxIterations ?? 100;
  const tolerance = options.tolerance ?? 1e-15;
  const d = z.cols;
  const n = z.rows;
  let w: Float64Array = new Float64Array(d);
  let b = 0;
  let current = objective(z, y, w, b, l2);
  const p = new Float64Array(n);
  for (let iteration = 1; iteration <= maxIterations; iteration++) {
    options.onIteration?.(iteration);
    const grad = new Float64Array(d + 1);
    const hess = new Float64Array((d + 1) * (d + 1));
    const row = new Float64Array(d + 1);
    row[d] = 1;
    for (let i = 0; i < n; i++) {
      let t = b;
      for (let j = 0; j < d; j++) { row[j] = z.data[i * d + j]; t += row[j] * w[j]; }
      p[i] = sigmoid(t);
      const r = p[i] - y[i];
      const s = Math.max(p[i] * (1 - p[i]), 1e-12);
      for (let a = 0; a <= d; a++) {
        grad[a] += r * row[a];
        const sa = s * row[a];
        for (let c = a; c <= d; c++) hess[a * (d + 1) + c] += sa * row[c];
      }
    }
    const H: number[][] = [];
    for (let a = 0; a <= d; a++) {
      H.push([]);
      for (let c = 0; c <= d; c++) {
        const v = a <= c ? hess[a * (d + 1) + c] : hess[c * (d + 1) + a];
        H[a].push(v / n + (a === c ? (a < d ? l2 : 1e-9) : 0));
      }
    }
    const g: number[] = [];
    for (let a = 0; a <= d; a++) g.push(grad[a] / n + (a < d ? l2 * w[a] : 0));
    const step = (math.lusolve(H, g) as number[][]).map((v) => v[0]);
    let scale = 1;
    let next = current;
    let nw = w;
    let nb = b;
    for (let halvings = 0; halvings < 30; halvings++) {
      nw = w.map((wj, j) => wj - scale * step[j]);
      nb = b - scale * step[d];
      next = objective(z, y, nw, nb, l2);
      if (next <= current) break;
      scale /= 2;
    }
    const improvement = current - next;
    if (next <= current) { w = nw; b = nb; current = next; }
    // Newton converges quadratically, so a tight stop costs an iteration or two and matches
    // reference solvers to ~1e-8 in the coefficients.
    const gradNorm = Math.sqrt(g.reduce((s, v) => s + v * v, 0));
    if (gradNorm < 1e-10 || improvement < tolerance) return { weights: w, bias: b, iterations: iteration, converged: true };
  }
  return { weights: w, bias: b, iterations: maxIterations, converged: false };
}

/** Probability of the positive class for raw (unstandardised, possibly missing) rows. */
export function predictProba(model: LogisticModel, x: Matrix): Float64Array {
  const z = standardize(x, model.imputeValues, model.center, model.scale);
  const out = new Float64Array(x.rows);
  for (let i = 0; i < x.rows; i++) {
    let t = model.bias;
    for (let j = 0; j < x.cols; j++) t += z.data[i * x.cols + j] * model.weights[j];
    out[i] = sigmoid(t);
  }
  return out;
}

export interface SearchCandidate {
  l2: number;
  validationLogLoss: number;
  validationAuc: number;
  iterations: number;
}

export interface TrainOptions {
  features: string[];
  classes: [string, string];
  /** L2 strengths to try; the one with the lowest validation log loss wins. */
  l2Grid: number[];
  /** Candidates already scored by an earlier attempt (from a heartbeat), skipped this time. */
  done?: SearchCandidate[];
  /** Called after each candidate, e.g. to heartbeat. */
  onCandidate?: (candidate: SearchCandidate, all: SearchCandidate[]) => void;
  onIteration?: () => void;
}

export interface TrainResult {
  model: LogisticModel;
  search: SearchCandidate[];
}

/** Fits preprocessing on the training rows, searches the L2 grid on validation, returns the best model. */
export function trainLogistic(train: Matrix, yTrain: Float64Array, validation: Matrix, yValidation: Float64Array, options: TrainOptions): TrainResult {
  const impute = columnMeans(train);
  const filled = standardize(train, impute, new Float64Array(train.cols), new Float64Array(train.cols).fill(1));
  const center = columnMeans(filled);
  const scale = columnScales(filled, center);
  const z = standardize(train, impute, center, scale);
  const base = { kind: 'logistic' as const, features: options.features, classes: options.classes, imputeValues: [...impute], center: [...center], scale: [...scale] };

  const search: SearchCandidate[] = [...(options.done ?? [])];
  let best: { candidate: SearchCandidate; fit?: FitResult } | undefined;
  for (const l2 of options.l2Grid) {
    const previous = search.find((c) => c.l2 === l2);
    if (previous) {
      if (!best || previous.validationLogLoss < best.candidate.validationLogLoss) best = { candidate: previous };
      continue;
    }
    const fit = fitLogistic(z, yTrain, { l2, onIteration: options.onIteration });
    const model: LogisticModel = { ...base, weights: [...fit.weights], bias: fit.bias, l2 };
    const m = binaryMetrics(yValidation, predictProba(model, validation));
    const candidate = { l2, validationLogLoss: m.logLoss, validationAuc: m.auc, iterations: fit.iterations };
    search.push(candidate);
    options.onCandidate?.(candidate, search);
    if (!best || candidate.validationLogLoss < best.candidate.validationLogLoss) best = { candidate, fit };
  }
  if (!best) throw new Error('the L2 grid is empty');
  const fit = best.fit ?? fitLogistic(z, yTrain, { l2: best.candidate.l2, onIteration: options.onIteration });
  return { model: { ...base, weights: [...fit.weights], bias: fit.bias, l2: best.candidate.l2 }, search };
}
