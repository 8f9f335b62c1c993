/**
 * Binary logistic regression over preprocessed features with an L2 or L1 penalty, fitted by damped
 * Newton steps (proximal Newton for L1). The penalty's strength is chosen on the validation split.
 */
import * as math from 'mathjs';
import { Matrix } from './features';
import { binaryMetrics } from './metrics';
import { SearchCandidate, SearchOptions, searchL2 } from './search';

/** A fitted binary logistic regression over preprocessed features (see recipe.ts). */
export interface LogisticModel {
  kind: 'logistic';
  features: string[];
  /** [negative, positive] labels. */
  classes: [string, string];
  /** Coefficients in standardised units, and the intercept. */
  weights: number[];
  bias: number;
  l2: number;
  /** L1 strength (sparse coefficients); 0 or absent for a pure L2 fit. */
  l1?: number;
}

export type Penalty = 'l2' | 'l1';

export interface FitOptions {
  l2: number;
  /** L1 strength: adds l1·‖w‖₁ to the objective (the intercept is not penalised). */
  l1?: number;
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

/** Linear predictor b + Σ w_j x_j for every row, over column-major features. */
function linearPredictor(columns: Float64Array[], w: ArrayLike<number>, b: number, out: Float64Array): Float64Array {
  out.fill(b);
  for (let j = 0; j < columns.length; j++) {
    const col = columns[j];
    const wj = w[j];
    for (let i = 0; i < out.length; i++) out[i] += wj * col[i];
  }
  return out;
}

function objective(t: Float64Array, y: Float64Array, w: ArrayLike<number>, l2: number, l1 = 0): number {
  let loss = 0;
  for (let i = 0; i < t.length; i++) {
    // log(1 + e^t) - y t, written to stay finite for large |t|
    const ti = t[i];
    loss += (ti > 0 ? ti + Math.log1p(Math.exp(-ti)) : Math.log1p(Math.exp(ti))) - y[i] * ti;
  }
  let penalty = 0;
  let absolute = 0;
  for (let j = 0; j < w.length; j++) { penalty += w[j] * w[j]; absolute += Math.abs(w[j]); }
  return loss / t.length + 0.5 * l2 * penalty + l1 * absolute;
}

/** Σ w_i a_i b_i with four accumulators, which lets V8 overlap the multiply-adds. */
function weightedDot(w: Float64Array, a: Float64Array, b: Float64Array, n: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    s0 += w[i] * a[i] * b[i];
    s1 += w[i + 1] * a[i + 1] * b[i + 1];
    s2 += w[i + 2] * a[i + 2] * b[i + 2];
    s3 += w[i + 3] * a[i + 3] * b[i + 3];
  }
  for (; i < n; i++) s0 += w[i] * a[i] * b[i];
  return s0 + s1 + s2 + s3;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let i = 0;
  for (; i + 3 < a.length; i += 4) {
    s0 += a[i] * b[i];
    s1 += a[i + 1] * b[i + 1];
    s2 += a[i + 2] * b[i + 2];
    s3 += a[i + 3] * b[i + 3];
  }
  for (; i < a.length; i++) s0 += a[i] * b[i];
  return s0 + s1 + s2 + s3;
}

/** Rows the Hessian is estimated on; gradients and the objective always use every row. */
export const HESSIAN_ROWS = 50_000;

/**
 * Minimises mean log loss + (l2 / 2)·‖w‖² over standardised features (intercept unpenalised).
 * Newton directions come from the (d+1)×(d+1) Hessian solved with mathjs; steps are halved until the
 * objective falls, so every iteration makes progress even on separable data. The features are copied
 * to column-major order once, so every pass over the data is a tight loop over contiguous memory.
 * Above HESSIAN_ROWS rows the Hessian is estimated on an evenly strided subset (subsampled Newton):
 * its cost is d² per row against d for the gradient, and the exact gradient still decides where it ends.
 * With an L1 penalty the step minimises the quadratic model plus l1·‖w + δ‖₁ by coordinate descent
 * (proximal Newton, as newGLMNET in liblinear), which sets weights exactly to zero.
 */
export function fitLogisticColumns(columns: Float64Array[], y: Float64Array, options: FitOptions): FitResult {
  const { l2 } = options;
  const l1 = options.l1 ?? 0;
  const maxIterations = options.maxIterations ?? 100;
  const tolerance = options.tolerance ?? 1e-15;
  const d = columns.length;
  const n = y.length;
  let w: Float64Array = new Float64Array(d);
  let b = 0;
  const t = new Float64Array(n);
  const trial = new Float64Array(n);
  const direction = new Float64Array(n);
  const r = new Float64Array(n);
  const s = new Float64Array(n);
  const stride = Math.max(1, Math.floor(n / HESSIAN_ROWS));
  const m = Math.floor((n - 1) / stride) + 1;
  const sample = stride === 1 ? columns : columns.map((col) => Float64Array.from({ length: m }, (_, k) => col[k * stride]));
  const sampleS = new Float64Array(m);
  let current = objective(linearPredictor(columns, w, b, t), y, w, l2, l1);
  for (let iteration = 1; iteration <= maxIterations; iteration++) {
    options.onIteration?.(iteration);
    let sumR = 0;
    for (let i = 0; i < n; i++) {
      const p = sigmoid(t[i]);
      r[i] = p - y[i];
      s[i] = Math.max(p * (1 - p), 1e-12);
      sumR += r[i];
    }
    // Hessian H = Zᵀ S Z (plus the intercept row) and gradient g = Zᵀ r, both averaged, with the penalty.
    const H: number[][] = Array.from({ length: d + 1 }, () => new Array<number>(d + 1).fill(0));
    const g: number[] = new Array<number>(d + 1).fill(0);
    let sumSampleS = 0;
    for (let k = 0; k < m; k++) { sampleS[k] = s[k * stride]; sumSampleS += sampleS[k]; }
    for (let a = 0; a < d; a++) {
      const colA = sample[a];
      for (let c = a; c < d; c++) H[a][c] = H[c][a] = weightedDot(sampleS, colA, sample[c], m) / m;
      let sumWeighted = 0;
      for (let k = 0; k < m; k++) sumWeighted += sampleS[k] * colA[k];
      H[a][d] = H[d][a] = sumWeighted / m;
      H[a][a] += l2;
      g[a] = dot(r, columns[a]) / n + l2 * w[a];
    }
    H[d][d] = sumSampleS / m + 1e-9;
    g[d] = sumR / n;
    const step = l1 > 0 ? proximalStep(H, g, w, l1) : (math.lusolve(H, g) as number[][]).map((v) => v[0]);
    // The Newton decrement gᵀH⁻¹g / 2 estimates how far the objective is above its minimum; with L1,
    // the decrease the model predicts for the whole step, penalty included.
    const decrement = l1 > 0 ? predictedDecrease(H, g, w, step, l1) : g.reduce((sum, gi, a) => sum + gi * step[a], 0) / 2;
    if (decrement < tolerance) return { weights: w, bias: b, iterations: iteration, converged: true };
    // Trial points along the step cost O(n) each: t - scale·(Zδ), with Zδ computed once.
    linearPredictor(columns, step, step[d], direction);
    let scale = 1;
    let next = current;
    let nw = w;
    let nb = b;
    for (let halvings = 0; halvings < 30; halvings++) {
      nw = w.map((wj, j) => wj - scale * step[j]);
      nb = b - scale * step[d];
      for (let i = 0; i < n; i++) trial[i] = t[i] - scale * direction[i];
      next = objective(trial, y, nw, l2, l1);
      if (next <= current) break;
      scale /= 2;
      // The decrease still expected is below what the sum over n rows can resolve: stop searching.
      if (scale * decrement < 1e-15 * Math.max(1, Math.abs(current))) break;
    }
    if (next > current) return { weights: w, bias: b, iterations: iteration, converged: true };
    const improvement = current - next;
    if (next <= current) { w = nw; b = nb; current = next; t.set(trial); }
    // Newton converges quadratically, so a tight stop costs an iteration or two and matches
    // reference solvers to ~1e-8 in the coefficients.
    const gradNorm = Math.sqrt(g.reduce((sum, v) => sum + v * v, 0));
    if (gradNorm < 1e-10 || improvement < tolerance) return { weights: w, bias: b, iterations: iteration, converged: true };
  }
  return { weights: w, bias: b, iterations: maxIterations, converged: false };
}

/**
 * The proximal Newton step, as a step to subtract (like H⁻¹g): the δ minimising
 * gᵀδ + ½δᵀHδ + l1·Σ|w_j + δ_j| (the last coordinate, the intercept, unpenalised), by cyclic
 * coordinate descent with soft thresholding on the small (d+1)-dimensional model.
 */
function proximalStep(H: number[][], g: number[], w: Float64Array, l1: number): number[] {
  const d = w.length;
  const delta = new Float64Array(d + 1);
  const Hdelta = new Float64Array(d + 1); // H·δ, kept current as δ changes
  for (let sweep = 0; sweep < 1000; sweep++) {
    let largest = 0;
    for (let j = 0; j <= d; j++) {
      const h = H[j][j];
      const slope = g[j] + Hdelta[j] - h * delta[j]; // the model's gradient at δ_j = 0, others fixed
      let next: number;
      if (j === d) next = -slope / h;
      else {
        // minimise slope·δ + ½h·δ² + l1·|w + δ| over δ: soft-threshold the unpenalised minimiser of z = w + δ
        const z = w[j] - slope / h;
        const shrunk = Math.sign(z) * Math.max(0, Math.abs(z) - l1 / h);
        next = shrunk - w[j];
      }
      const change = next - delta[j];
      if (change !== 0) {
        for (let k = 0; k <= d; k++) Hdelta[k] += H[k][j] * change;
        delta[j] = next;
        largest = Math.max(largest, Math.abs(change));
      }
    }
    if (largest < 1e-12) break;
  }
  return Array.from(delta, (v) => -v);
}

/** How much the proximal model says the objective falls over the whole step (positive). */
function predictedDecrease(H: number[][], g: number[], w: Float64Array, step: number[], l1: number): number {
  let linear = 0;
  let quadratic = 0;
  for (let a = 0; a < step.length; a++) {
    linear += g[a] * step[a];
    for (let c = 0; c < step.length; c++) quadratic += step[a] * H[a][c] * step[c];
  }
  let penaltyChange = 0;
  for (let j = 0; j < w.length; j++) penaltyChange += Math.abs(w[j] - step[j]) - Math.abs(w[j]);
  // δ = -step: model change is -gᵀstep + ½ stepᵀH step + l1·Δ‖w‖₁
  return linear - 0.5 * quadratic - l1 * penaltyChange;
}

/** Probability of the positive class for preprocessed rows. */
export function predictProba(model: LogisticModel, x: Matrix): Float64Array {
  const out = new Float64Array(x.rows);
  for (let i = 0; i < x.rows; i++) {
    let t = model.bias;
    for (let j = 0; j < x.cols; j++) t += x.data[i * x.cols + j] * model.weights[j];
    out[i] = sigmoid(t);
  }
  return out;
}

export interface TrainOptions extends SearchOptions {
  features: string[];
  classes: [string, string];
  /** Which penalty the searched strength applies to (default l2). */
  penalty?: Penalty;
}

export interface TrainResult {
  model: LogisticModel;
  search: SearchCandidate[];
}

/** Searches the penalty's strength on validation log loss over preprocessed rows; returns the best model. */
export function trainLogistic(train: Float64Array[], yTrain: Float64Array, validation: Matrix, yValidation: Float64Array, options: TrainOptions): TrainResult {
  const z = train;
  const base = { kind: 'logistic' as const, features: options.features, classes: options.classes };
  const { model, search } = searchL2(options, (strength) => {
    const penalty = options.penalty === 'l1' ? { l2: 0, l1: strength } : { l2: strength };
    const fit = fitLogisticColumns(z, yTrain, { ...penalty, onIteration: options.onIteration });
    const candidate: LogisticModel = { ...base, weights: [...fit.weights], bias: fit.bias, ...penalty };
    return { model: candidate, validationLoss: binaryMetrics(yValidation, predictProba(candidate, validation)).logLoss, iterations: fit.iterations };
  });
  return { model, search };
}
