/**
 * The row loops of gradient boosting, written so a helper thread can run them from their source text
 * (`Function.prototype.toString`): each is a plain function with no imports, closures or nested
 * functions, working only on the typed arrays it is given. `gbdt-threads.ts` runs them on every core.
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
}

/** Slots of the control block (an Int32Array on a SharedArrayBuffer). */
export const CONTROL = { seq: 0, op: 1, from: 2, to: 3, arg1: 4, arg2: 5, next: 6, done: 7, chunks: 8, participants: 9, helped: 10, length: 11 } as const;
export const OP = { attach: 1, histogram: 2, partition: 3, gradients: 4, detach: 5 } as const;

/**
 * Claims chunks of the current operation until none is left: the lead thread and every helper run
 * this at once. A chunk's result depends only on its rows, never on which thread ran it. Returns how
 * many chunks this thread ran.
 */
export function runChunks(ctrl: Int32Array, s: SharedRows): number {
  const op = ctrl[1], from = ctrl[2], to = ctrl[3], chunks = ctrl[8];
  const size = Math.ceil((to - from) / chunks);
  for (let ran = 0; ; ran++) {
    const c = Atomics.add(ctrl, 6, 1);
    if (c >= chunks) return ran;
    const a = from + c * size;
    const b = Math.min(to, a + size);
    if (op === 2 && ctrl[4] === 1) rootHistogramOfRows(s.bins, s.d, s.gh, a, b, s.hists, c * s.d * 768);
    else if (op === 2) histogramOfRows(s.bins, s.d, s.gh, s.order, a, b, s.hists, c * s.d * 768);
    else if (op === 3) s.lefts[c] = partitionRows(s.columns.subarray(ctrl[4] * s.n, (ctrl[4] + 1) * s.n), ctrl[5], s.order, s.scratch, a, b);
    else if (op === 4) gradientsOfRows(ctrl[4], s.raw, s.y, s.gh, a, b);
  }
}
