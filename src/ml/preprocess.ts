/** Preprocessing learned on training rows: mean imputation and standardisation, on typed arrays. */
import { Matrix } from './features';

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

export interface Standardization {
  /** Replaces a missing value: the column mean. */
  impute: Float64Array;
  /** z = (x - center) / scale, with center the mean and scale the population standard deviation. */
  center: Float64Array;
  scale: Float64Array;
}

/**
 * Learns mean imputation and standardisation from training rows in two passes. Imputed cells sit at the
 * mean, so they add nothing to the spread; a constant column gets scale 1 so it stays finite.
 */
export function fitStandardization(x: Matrix): Standardization {
  const means = columnMeans(x);
  const squares = new Float64Array(x.cols);
  for (let i = 0; i < x.rows; i++) {
    const row = i * x.cols;
    for (let j = 0; j < x.cols; j++) {
      const v = x.data[row + j];
      if (!Number.isNaN(v)) { const dv = v - means[j]; squares[j] += dv * dv; }
    }
  }
  const scale = squares.map((sq) => { const sd = x.rows > 0 ? Math.sqrt(sq / x.rows) : 0; return sd > 1e-12 ? sd : 1; });
  return { impute: means, center: means, scale };
}

/** Imputes and standardises raw rows straight into column-major arrays, the layout fitting wants. */
export function standardizeColumns(x: Matrix, s: Standardization): Float64Array[] {
  const columns = Array.from({ length: x.cols }, () => new Float64Array(x.rows));
  for (let i = 0; i < x.rows; i++) {
    const row = i * x.cols;
    for (let j = 0; j < x.cols; j++) {
      const v = x.data[row + j];
      columns[j][i] = ((Number.isNaN(v) ? s.impute[j] : v) - s.center[j]) / s.scale[j];
    }
  }
  return columns;
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


/** The preprocessing a model stores and its ONNX graph applies: impute, then standardise. */
export interface Preprocessing {
  imputeValues: number[];
  center: number[];
  scale: number[];
}

/** Learns preprocessing on training rows and returns them standardised, column-major, for fitting. */
export function standardizeTraining(train: Matrix): { z: Float64Array[]; preprocessing: Preprocessing } {
  const s = fitStandardization(train);
  return { z: standardizeColumns(train, s), preprocessing: { imputeValues: [...s.impute], center: [...s.center], scale: [...s.scale] } };
}
