/**
 * Binary logistic regression over preprocessed features with an L2 or L1 penalty, fitted by damped
 * Newton steps (proximal Newton for L1). The penalty's strength is chosen on the validation split.
 */
import * as math from 'mathjs';
import os from 'node:os';
import { Matrix } from './features';
import { LogisticRows, gradientChunk, hessianChunk, lossChunk, predictorChunk } from './logistic-kernels';
import { binaryMetrics } from './metrics';
import { KernelFamily, MAX_CHUNKS, onSharedMemory, RowThreads, sharedFloats, threadsForRows } from './row-threads';
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
  /** Threads for the passes over rows (default: every core); the fit is the same for any number. */
  threads?: number;
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

const PREDICTOR = 0, LOSS = 1, GRADIENT = 2, HESSIAN = 3;
const family = new KernelFamily<LogisticRows>([predictorChunk, lossChunk, gradientChunk, hessianChunk], []);

/** Chunks the logistic-regression helper threads of this thread have run, ever. */
export const chunksRunByLogisticHelpers = () => family.chunksRunByHelpers();


/** Rows the Hessian is estimated on; gradients and the objective always use every row. */
export const HESSIAN_ROWS = 50_000;

/**
 * Minimises mean log loss + (l2 / 2)·‖w‖² over standardised features (intercept unpenalised).
 * Newton directions come from the (d+1)×(d+1) Hessian solved with mathjs; steps are halved until the
 * objective falls, so every iteration makes progress even on separable data. Every pass over the rows
 * runs on all cores (`row-threads.ts`), column by column over contiguous memory, and its chunk sums
 * are added in chunk order, so the fit is the same on any number of cores.
 * Above HESSIAN_ROWS rows the Hessian is estimated on an evenly strided subset (subsampled Newton):
 * its cost is d² per row against d for the gradient, and the exact gradient still decides where it ends.
 * With an L1 penalty the step minimises the quadratic model plus l1·‖w + δ‖₁ by coordinate descent
 * (proximal Newton, as newGLMNET in liblinear), which sets weights exactly to zero.
 */
export function fitLogisticColumns(columns: Float64Array[], y: Float64Array, options: FitOptions): FitResult {
  const d = columns.length;
  const n = y.length;
  const stride = Math.max(1, Math.floor(n / HESSIAN_ROWS));
  const m = Math.floor((n - 1) / stride) + 1;
  const shared = columns.map(onSharedMemory);
  const s: LogisticRows = {
    n, d, stride,
    columns: shared,
    y: onSharedMemory(y),
    t: sharedFloats(n), direction: sharedFloats(n), trial: sharedFloats(n), r: sharedFloats(n), w: sharedFloats(n),
    coef: sharedFloats(d + 1),
    sample: stride === 1 ? shared : shared.map((col) => { const out = sharedFloats(m); for (let k = 0; k < m; k++) out[k] = col[k * stride]; return out; }),
    sampleW: sharedFloats(m),
    partials: sharedFloats(MAX_CHUNKS * (d + 2)),
    hessians: sharedFloats(MAX_CHUNKS * (d + 1) * (d + 1)),
  };
  const rows = new RowThreads(family, s, threadsForRows(n, options.threads ?? os.availableParallelism()));
  try {
    return newton(rows, m, options);
  } finally {
    rows.release();
  }
}

/** Sums of slot `slot` (or slots [slot, slot + width)) over the chunks, in chunk order. */
function chunkSums(parts: Float64Array, chunks: number, stride: number, slot: number, width = 1): Float64Array {
  const out = new Float64Array(width);
  for (let c = 0; c < chunks; c++) for (let j = 0; j < width; j++) out[j] += parts[c * stride + slot + j];
  return out;
}

function newton(rows: RowThreads<LogisticRows>, m: number, options: FitOptions): FitResult {
  const { l2 } = options;
  const l1 = options.l1 ?? 0;
  const maxIterations = options.maxIterations ?? 100;
  const tolerance = options.tolerance ?? 1e-15;
  const s = rows.s;
  const { n, d } = s;
  let w: Float64Array = new Float64Array(d);
  let b = 0;
  const penalty = (weights: ArrayLike<number>) => {
    let squares = 0, absolute = 0;
    for (let j = 0; j < d; j++) { squares += weights[j] * weights[j]; absolute += Math.abs(weights[j]); }
    return 0.5 * l2 * squares + l1 * absolute;
  };
  /** Mean loss at t - scale·direction (kept in `trial`), plus the penalty of `weights`. */
  const objective = (scale: number, weights: ArrayLike<number>) => {
    const chunks = rows.run(LOSS, 0, n, scale);
    return chunkSums(s.partials, chunks, d + 2, d + 1)[0] / n + penalty(weights);
  };
  const predictor = (target: 0 | 1, weights: ArrayLike<number>, bias: number) => {
    s.coef.set(weights);
    s.coef[d] = bias;
    rows.run(PREDICTOR, 0, n, target);
  };
  predictor(0, w, b);
  s.direction.fill(0);
  let current = objective(0, w);
  for (let iteration = 1; iteration <= maxIterations; iteration++) {
    options.onIteration?.(iteration);
    // gradient g = Zᵀ r and Hessian H = Zᵀ S Z (plus the intercept row), both averaged, with the penalty
    const sums = chunkSums(s.partials, rows.run(GRADIENT, 0, n), d + 2, 0, d + 1);
    const k = d + 1;
    const hessian = chunkSums(s.hessians, rows.run(HESSIAN, 0, m), k * k, 0, k * k);
    const H: number[][] = Array.from({ length: k }, () => new Array<number>(k).fill(0));
    const g: number[] = new Array<number>(k).fill(0);
    for (let a = 0; a < d; a++) {
      for (let c = a; c < k; c++) H[a][c] = H[c][a] = hessian[a * k + c] / m;
      H[a][a] += l2;
      g[a] = sums[a] / n + l2 * w[a];
    }
    H[d][d] = hessian[d * k + d] / m + 1e-9;
    g[d] = sums[d] / n;
    const step = l1 > 0 ? proximalStep(H, g, w, l1) : (math.lusolve(H, g) as number[][]).map((v) => v[0]);
    // The Newton decrement gᵀH⁻¹g / 2 estimates how far the objective is above its minimum; with L1,
    // the decrease the model predicts for the whole step, penalty included.
    const decrement = l1 > 0 ? predictedDecrease(H, g, w, step, l1) : g.reduce((sum, gi, a) => sum + gi * step[a], 0) / 2;
    if (decrement < tolerance) return { weights: w, bias: b, iterations: iteration, converged: true };
    // Trial points along the step cost O(n) each: t - scale·(Zδ), with Zδ computed once.
    predictor(1, step, step[d]);
    let scale = 1;
    let next = current;
    let nw = w;
    let nb = b;
    for (let halvings = 0; halvings < 30; halvings++) {
      nw = w.map((wj, j) => wj - scale * step[j]);
      nb = b - scale * step[d];
      next = objective(scale, nw);
      if (next <= current) break;
      scale /= 2;
      // The decrease still expected is below what the sum over n rows can resolve: stop searching.
      if (scale * decrement < 1e-15 * Math.max(1, Math.abs(current))) break;
    }
    if (next > current) return { weights: w, bias: b, iterations: iteration, converged: true };
    const improvement = current - next;
    w = nw; b = nb; current = next; s.t.set(s.trial);
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
