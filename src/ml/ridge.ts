/** Ridge linear regression on preprocessed (standardised) features, solved in closed form with mathjs. */
import * as math from 'mathjs';
import { Matrix } from './features';
import { regressionMetrics } from './metrics';
import { SearchCandidate, SearchOptions, searchL2 } from './search';

export interface RidgeModel {
  kind: 'ridge';
  features: string[];
  weights: number[];
  bias: number;
  l2: number;
}

/**
 * Minimises mean squared error / 2 + (l2 / 2)·‖w‖² with an unpenalised intercept: on columns centred
 * by their training means, w solves (ZᵀZ/n + l2·I) w = Zᵀ(y − ȳ)/n, and b = ȳ − Σ w_j·mean_j.
 */
export function fitRidgeColumns(columns: Float64Array[], y: Float64Array, l2: number): { weights: number[]; bias: number } {
  const d = columns.length;
  const n = y.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += y[i];
  mean /= n;
  const means = columns.map((col) => { let s = 0; for (let i = 0; i < n; i++) s += col[i]; return s / n; });
  const A: number[][] = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  const rhs: number[] = new Array<number>(d).fill(0);
  for (let a = 0; a < d; a++) {
    const colA = columns[a];
    for (let c = a; c < d; c++) {
      const colC = columns[c];
      let s = 0;
      for (let i = 0; i < n; i++) s += colA[i] * colC[i];
      A[a][c] = A[c][a] = s / n - means[a] * means[c];
    }
    A[a][a] += l2;
    let s = 0;
    for (let i = 0; i < n; i++) s += colA[i] * (y[i] - mean);
    rhs[a] = s / n;
  }
  const weights = d > 0 ? (math.lusolve(A, rhs) as number[][]).map((v) => v[0]) : [];
  return { weights, bias: mean - weights.reduce((s, w, j) => s + w * means[j], 0) };
}

/** Predicted values for preprocessed rows. */
export function predictRidge(model: RidgeModel, z: Matrix): Float64Array {
  const x = z;
  const out = new Float64Array(x.rows);
  for (let i = 0; i < x.rows; i++) {
    let t = model.bias;
    for (let j = 0; j < x.cols; j++) t += z.data[i * x.cols + j] * model.weights[j];
    out[i] = t;
  }
  return out;
}

export function trainRidge(train: Float64Array[], yTrain: Float64Array, validation: Matrix, yValidation: Float64Array, options: SearchOptions & { features: string[] }): { model: RidgeModel; search: SearchCandidate[] } {
  const z = train;
  const base = { kind: 'ridge' as const, features: options.features };
  const { model, search } = searchL2(options, (l2) => {
    const fit = fitRidgeColumns(z, yTrain, l2);
    const candidate: RidgeModel = { ...base, weights: fit.weights, bias: fit.bias, l2 };
    return { model: candidate, validationLoss: regressionMetrics(yValidation, predictRidge(candidate, validation)).rmse, iterations: 1 };
  });
  return { model, search };
}
