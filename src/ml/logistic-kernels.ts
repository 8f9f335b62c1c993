/**
 * The passes over rows of logistic regression's Newton iterations, as chunk kernels for
 * `row-threads.ts`: plain functions with no imports or closures (helper threads run their source
 * text). Each chunk writes its own partial sums; the lead thread adds them in chunk order.
 */

/** The typed arrays every thread of one fit shares (all on SharedArrayBuffers). */
export interface LogisticRows {
  n: number;
  d: number;
  /** Standardised features, column by column. */
  columns: Float64Array[];
  y: Float64Array;
  /** Linear predictor of the current weights, of the step direction, and of a trial point. */
  t: Float64Array;
  direction: Float64Array;
  trial: Float64Array;
  /** Residuals p - y and Newton weights p(1 - p) at the current weights. */
  r: Float64Array;
  w: Float64Array;
  /** Coefficients (d weights, then the intercept) of the predictor being computed. */
  coef: Float64Array;
  /** The evenly strided rows the Hessian is estimated on (columns), and their stride. */
  sample: Float64Array[];
  stride: number;
  /** The Newton weights of the sampled rows, gathered by the Hessian pass. */
  sampleW: Float64Array;
  /** Per chunk: d + 2 partial sums (gradient, residual sum, loss), and (d + 1)² Hessian sums. */
  partials: Float64Array;
  hessians: Float64Array;
}

/** predictor[i] = coef[d] + Σ coef[j] x_j[i]; args[0] 0 writes `t`, 1 writes `direction`. */
export function predictorChunk(s: LogisticRows, args: Float64Array, from: number, to: number): void {
  const out = args[0] === 0 ? s.t : s.direction;
  out.fill(s.coef[s.d], from, to);
  for (let j = 0; j < s.d; j++) {
    const col = s.columns[j];
    const wj = s.coef[j];
    for (let i = from; i < to; i++) out[i] += wj * col[i];
  }
}

/**
 * Sum of log loss - y t over the chunk, for t = `t` - args[0]·`direction` (kept in `trial`), into the
 * chunk's partial slot d + 1.
 */
export function lossChunk(s: LogisticRows, args: Float64Array, from: number, to: number, chunk: number): void {
  const scale = args[0];
  const t = s.t, dir = s.direction, trial = s.trial, y = s.y;
  let loss = 0;
  for (let i = from; i < to; i++) {
    const ti = t[i] - scale * dir[i];
    trial[i] = ti;
    // log(1 + e^t) - y t, written to stay finite for large |t|
    loss += (ti > 0 ? ti + Math.log1p(Math.exp(-ti)) : Math.log1p(Math.exp(ti))) - y[i] * ti;
  }
  s.partials[chunk * (s.d + 2) + s.d + 1] = loss;
}

/** Residuals and Newton weights at `t`, and the chunk's gradient sums Σ r x_j and Σ r. */
export function gradientChunk(s: LogisticRows, args: Float64Array, from: number, to: number, chunk: number): void {
  const t = s.t, y = s.y, r = s.r, w = s.w;
  let sumR = 0;
  for (let i = from; i < to; i++) {
    const ti = t[i];
    const p = ti >= 0 ? 1 / (1 + Math.exp(-ti)) : Math.exp(ti) / (1 + Math.exp(ti));
    r[i] = p - y[i];
    w[i] = Math.max(p * (1 - p), 1e-12);
    sumR += r[i];
  }
  const base = chunk * (s.d + 2);
  for (let j = 0; j < s.d; j++) {
    const col = s.columns[j];
    // four accumulators let V8 overlap the multiply-adds
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    let i = from;
    for (; i + 3 < to; i += 4) {
      s0 += r[i] * col[i];
      s1 += r[i + 1] * col[i + 1];
      s2 += r[i + 2] * col[i + 2];
      s3 += r[i + 3] * col[i + 3];
    }
    for (; i < to; i++) s0 += r[i] * col[i];
    s.partials[base + j] = s0 + s1 + s2 + s3;
  }
  s.partials[base + s.d] = sumR;
}

/**
 * The chunk's Hessian sums over sample rows [from, to): Σ w x_a x_c (upper triangle), Σ w x_a and
 * Σ w, with w the Newton weight of the sampled row.
 */
export function hessianChunk(s: LogisticRows, args: Float64Array, from: number, to: number, chunk: number): void {
  const d = s.d, k = d + 1, stride = s.stride, weights = s.sampleW;
  for (let i = from; i < to; i++) weights[i] = s.w[i * stride];
  const base = chunk * k * k;
  const h = s.hessians;
  h.fill(0, base, base + k * k);
  for (let a = 0; a < d; a++) {
    const colA = s.sample[a];
    for (let c = a; c < d; c++) {
      const colC = s.sample[c];
      let s0 = 0, s1 = 0;
      let i = from;
      for (; i + 1 < to; i += 2) {
        s0 += weights[i] * colA[i] * colC[i];
        s1 += weights[i + 1] * colA[i + 1] * colC[i + 1];
      }
      for (; i < to; i++) s0 += weights[i] * colA[i] * colC[i];
      h[base + a * k + c] = s0 + s1;
    }
    let sum = 0;
    for (let i = from; i < to; i++) sum += weights[i] * colA[i];
    h[base + a * k + d] = sum;
  }
  let total = 0;
  for (let i = from; i < to; i++) total += weights[i];
  h[base + d * k + d] = total;
}
