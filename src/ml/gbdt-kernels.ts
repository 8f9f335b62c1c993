/**
 * The row loops of gradient boosting, written so a helper thread can run them from their source text
 * (`Function.prototype.toString`): each is a plain function with no imports, closures or nested
 * functions, working only on the typed arrays it is given. `gbdt-threads.ts` runs them on every core
 * (`row-threads.ts`).
 */

/** Per feature and bin: gradient sum, hessian sum and row count, interleaved (one cache line per update). */
export const HISTOGRAM_STRIDE = 256 * 3;

/**
 * Fills `hist` (zeroed here) from the rows `order[from..to)`: bin codes row-major (`bins[row * d + f]`),
 * gradient and hessian interleaved (`gh[2 * row]`, `gh[2 * row + 1]`).
 */
export function histogramOfRows(bins: Uint8Array, d: number, gh: Float32Array, order: Int32Array, from: number, to: number, hist: Float64Array, offset: number): void {
  hist.fill(0, offset, offset + d * 768);
  // Row by row: consecutive updates go to different features' histograms, so they do not wait on
  // each other the way runs of equal bins within one feature would.
  for (let i = from; i < to; i++) {
    const r = order[i];
    const g = gh[2 * r];
    const h = gh[2 * r + 1];
    const base = r * d;
    for (let f = 0, off = offset; f < d; f++, off += 768) {
      const b = off + bins[base + f] * 3;
      hist[b] += g;
      hist[b + 1] += h;
      hist[b + 2]++;
    }
  }
}

/**
 * `histogramOfRows` for the rows [from, to) in their own order (a tree's root) and without counts,
 * which are the same for every root: 40% less work on the one histogram every tree builds in full.
 */
export function rootHistogramOfRows(bins: Uint8Array, d: number, gh: Float32Array, from: number, to: number, hist: Float64Array, offset: number): void {
  hist.fill(0, offset, offset + d * 768);
  for (let r = from; r < to; r++) {
    const g = gh[2 * r];
    const h = gh[2 * r + 1];
    const base = r * d;
    for (let f = 0, off = offset; f < d; f++, off += 768) {
      const b = off + bins[base + f] * 3;
      hist[b] += g;
      hist[b + 1] += h;
    }
  }
}

/**
 * Stable partition of `order[from..to)` on one feature's codes (`column[row]`): rows with code <= bin
 * stay in `order` from `from` on, the others go to `scratch` from `from` on. Returns how many went left.
 */
export function partitionRows(column: Uint8Array, bin: number, order: Int32Array, scratch: Int32Array, from: number, to: number): number {
  let l = from;
  let r = from;
  for (let i = from; i < to; i++) {
    const row = order[i];
    // branch-free: the left/right choice is random, so a branch would be mispredicted half the time
    const left = (column[row] - bin - 1) >>> 31;
    order[l] = row;
    scratch[r] = row;
    l += left;
    r += 1 - left;
  }
  return l - from;
}

/**
 * Gradient and hessian of each row in [from, to) from its raw score: `loss` 0 is binary log loss
 * (sigmoid), 1 is squared error.
 */
export function gradientsOfRows(loss: number, raw: Float64Array, y: Float64Array, gh: Float32Array, from: number, to: number): void {
  if (loss === 1) {
    for (let i = from; i < to; i++) { gh[2 * i] = raw[i] - y[i]; gh[2 * i + 1] = 1; }
    return;
  }
  for (let i = from; i < to; i++) {
    const p = 1 / (1 + Math.exp(-raw[i]));
    gh[2 * i] = p - y[i];
    gh[2 * i + 1] = Math.max(p * (1 - p), 1e-16);
  }
}

/** The typed arrays every thread of one fit shares (all on SharedArrayBuffers). */
export interface SharedRows {
  n: number;
  d: number;
  /** Bin codes row-major, for histograms. */
  bins: Uint8Array;
  /** The same codes column by column (`columns[f * n + row]`), for partitions. */
  columns: Uint8Array;
  gh: Float32Array;
  order: Int32Array;
  scratch: Int32Array;
  raw: Float64Array;
  y: Float64Array;
  /** One histogram per chunk. */
  hists: Float64Array;
  /** Rows each chunk sent left in the last partition. */
  lefts: Int32Array;
  /** The training values, and each feature's bin edges (256 slots each) and edge count. */
  values: Float64Array[];
  edges: Float32Array;
  edgeCounts: Int32Array;
}

/** A chunk of the binning pass: each value's bin as ONNX sees it (float32), column- and row-major. */
export function binChunk(s: SharedRows, args: Float64Array, from: number, to: number): void {
  const n = s.n, d = s.d;
  for (let f = 0; f < d; f++) {
    const values = s.values[f];
    const base = f * 256;
    const count = s.edgeCounts[f];
    for (let i = from; i < to; i++) {
      // the number of edges below the value
      const v = Math.fround(values[i]);
      let lo = 0, hi = count;
      while (lo < hi) { const m = (lo + hi) >> 1; if (v <= s.edges[base + m]) hi = m; else lo = m + 1; }
      s.columns[f * n + i] = lo;
      s.bins[i * d + f] = lo;
    }
  }
}

/** A chunk of a histogram pass: into the chunk's own histogram; args[0] 1 for a root (no counts). */
export function histogramChunk(s: SharedRows, args: Float64Array, from: number, to: number, chunk: number): void {
  if (args[0] === 1) rootHistogramOfRows(s.bins, s.d, s.gh, from, to, s.hists, chunk * s.d * 768);
  else histogramOfRows(s.bins, s.d, s.gh, s.order, from, to, s.hists, chunk * s.d * 768);
}

/** A chunk of a partition pass on feature args[0] at bin args[1]. */
export function partitionChunk(s: SharedRows, args: Float64Array, from: number, to: number, chunk: number): void {
  s.lefts[chunk] = partitionRows(s.columns.subarray(args[0] * s.n, (args[0] + 1) * s.n), args[1], s.order, s.scratch, from, to);
}

/** A chunk of a gradient pass with loss args[0]. */
export function gradientChunk(s: SharedRows, args: Float64Array, from: number, to: number): void {
  gradientsOfRows(args[0], s.raw, s.y, s.gh, from, to);
}
