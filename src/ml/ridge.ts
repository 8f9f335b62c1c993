/** Ridge linear regression on standardised features, solved in closed form with mathjs. */
import * as math from 'mathjs';
import { Matrix } from './features';
import { regressionMetrics } from './metrics';
import { Preprocessing, standardize, standardizeTraining } from './preprocess';
import { SearchCandidate, SearchOptions, searchL2 } from './search';

export interface RidgeModel extends Preprocessing {
  kind: 'ridge';
  features: string[];
  weights: number[];
  bias: number;
  l2: number;
}

/**
 * Minimises mean squared error / 2 + (l2 / 2)·‖w‖². The training columns are centred, so the intercept
 * is the mean target and w solves (ZᵀZ/n + l2·I) w = Zᵀ(y − ȳ)/n.
 */
export function fitRidgeColumns(columns: Float64Array[], y: Float64Array, l2: number): { weights: number[]; bias: number } {
  const d = columns.length;
  const n = y.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += y[i];
  mean /= n;
  const A: number[][] = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  const rhs: number[] = new Array<number>(d).fill(0);
  for (let a = 0; a < d; a++) {
    const colA = columns[a];
    for (let c = a; c < d; c++) {
      const colC = columns[c];
      let s = 0;
      for (let i = 0; i < n; i++) s += colA[i] * colC[i];
      A[a][c] = A[c][a] = s / n;
    }
    A[a][a] += l2;
    let s = 0;
    for (let i = 0; i < n; i++) s += colA[i] * (y[i] - mean);
    rhs[a] = s / n;
  }
  const weights = d > 0 ? (math.lusolve(A, rhs) as number[][]).map((v) => v[0]) : [];
  return { weights, bias: mean };
}

export function predictRidge(model: RidgeModel, x: Matrix): Float64Array {
  const z = standardize(x, model.imputeValues, model.center, model.scale);
  const out = new Float64Array(x.rows);
  for (let i = 0; i < x.rows; i++) {
    let t = model.bias;
    for (let j = 0; j < x.cols; j++) t += z.data[i * x.cols + j] * model.weights[j];
    out[i] = t;
  }
  return out;
}

export function trainRidge(train: Matrix, yTrain: Float64Array, validation: Matrix, yValidation: Float64Array, options: SearchOptions & { features: string[] }): { model: RidgeModel; search: SearchCandidate[] } {
  const { z, preprocessing } = standardizeTraining(train);
  const base = { kind: 'ridge' as const, features: options.features, ...preprocessing };
  const { model, search } = searchL2(options, (l2) => {
    const fit = fitRidgeColumns(z, yTrain, l2);
    const candidate: RidgeModel = { ...base, weights: fit.weights, bias: fit.bias, l2 };
    return { model: candidate, validationLoss: regressionMetrics(yValidation, predictRidge(candidate, validation)).rmse, iterations: 1 };
  });
  return { model, search };
}
