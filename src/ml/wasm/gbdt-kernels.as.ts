// AssemblyScript: gradient boosting's row loops, compiled to WebAssembly by `npm run build:kernels`
// (tools/wasm) into src/ml/gbdt-kernels-wasm.ts. The JavaScript versions of these loops ran at about 3 ns a
// histogram update, bounds checks and all; these run at about 1.4 ns (bench/RESULTS.md, "GBDT kernels").
//
// Every argument is a byte address in the fit's shared memory (`kernelMemory` in gbdt-kernels.ts lays it out) or a
// count. Histograms hold, per feature, 256 bins of three float64s: gradient sum, hessian sum, rows.
// Float sums run in the same order as the JavaScript loops they replace, so a model is the same bit
// for bit.

/** Bytes of one feature's histogram: 256 bins of (gradient, hessian, count) float64s. */
const FEATURE_BYTES: usize = 256 * 3 * 8;

/**
 * Fills features [f0, f1) of the histogram at `hist` (zeroed here) from the rows order[from..to): bin
 * codes row-major (bins[row * d + f]), gradient and hessian float32s interleaved (gh[2 * row],
 * gh[2 * row + 1]). Threads share a histogram by taking feature ranges: each feature's sums run over
 * the rows in order, whoever computes them. Row by row, so consecutive updates go to different
 * features' histograms and do not wait on each other the way runs of equal bins within one feature would.
 */
export function histogram(bins: usize, d: i32, gh: usize, order: usize, from: i32, to: i32, hist: usize, f0: i32, f1: i32): void {
  const first = hist + <usize>f0 * FEATURE_BYTES;
  memory.fill(first, 0, <usize>(f1 - f0) * FEATURE_BYTES);
  for (let i = from; i < to; i++) {
    const row = <usize>load<i32>(order + (<usize>i << 2));
    const g = <f64>load<f32>(gh + (row << 3));
    const h = <f64>load<f32>(gh + (row << 3), 4);
    const base = bins + row * <usize>d;
    let at = first;
    for (let f = <usize>f0; f < <usize>f1; f++) {
      const p = at + <usize>load<u8>(base + f) * 24;
      store<f64>(p, load<f64>(p) + g);
      store<f64>(p, load<f64>(p, 8) + h, 8);
      store<f64>(p, load<f64>(p, 16) + 1.0, 16);
      at += FEATURE_BYTES;
    }
  }
}

/**
 * `histogram` of the rows [from, to) in their own order (a tree's root), without counts, which are
 * the same for every root: 40% less work on the one histogram every tree builds in full.
 */
export function rootHistogram(bins: usize, d: i32, gh: usize, from: i32, to: i32, hist: usize, f0: i32, f1: i32): void {
  const first = hist + <usize>f0 * FEATURE_BYTES;
  memory.fill(first, 0, <usize>(f1 - f0) * FEATURE_BYTES);
  for (let row = <usize>from; row < <usize>to; row++) {
    const g = <f64>load<f32>(gh + (row << 3));
    const h = <f64>load<f32>(gh + (row << 3), 4);
    const base = bins + row * <usize>d;
    let at = first;
    for (let f = <usize>f0; f < <usize>f1; f++) {
      const p = at + <usize>load<u8>(base + f) * 24;
      store<f64>(p, load<f64>(p) + g);
      store<f64>(p, load<f64>(p, 8) + h, 8);
      at += FEATURE_BYTES;
    }
  }
}

/**
 * Stable partition of the rows src[from..to) on one feature's codes (column[row]): rows with code <=
 * bin go to `lefts` from `from` on, the others to `rights` from `from` on (`lefts` may be `src`).
 * Returns how many went left.
 */
export function partition(column: usize, bin: i32, src: usize, lefts: usize, rights: usize, from: i32, to: i32): i32 {
  let l = lefts + (<usize>from << 2);
  let r = rights + (<usize>from << 2);
  const end = src + (<usize>to << 2);
  for (let i = src + (<usize>from << 2); i < end; i += 4) {
    const row = load<i32>(i);
    // branch-free: the left/right choice is random, so a branch would be mispredicted half the time
    const left = <usize>(<i32>load<u8>(column + <usize>row) <= bin);
    store<i32>(l, row);
    store<i32>(r, row);
    l += left << 2;
    r += (1 - left) << 2;
  }
  return <i32>((l - lefts) >> 2) - from;
}

/**
 * Gradient and hessian (float32) of each row in [from, to) from its raw score: `loss` 0 is binary log
 * loss (sigmoid), 1 is squared error.
 */
export function gradients(loss: i32, raw: usize, y: usize, gh: usize, from: i32, to: i32): void {
  for (let i = <usize>from; i < <usize>to; i++) {
    const score = load<f64>(raw + (i << 3));
    const target = load<f64>(y + (i << 3));
    if (loss === 1) {
      store<f32>(gh + (i << 3), <f32>(score - target));
      store<f32>(gh + (i << 3), 1, 4);
    } else {
      const p = 1 / (1 + Math.exp(-score));
      store<f32>(gh + (i << 3), <f32>(p - target));
      store<f32>(gh + (i << 3), <f32>Math.max(p * (1 - p), 1e-16), 4);
    }
  }
}

/** Adds a leaf's value to the raw scores of its rows order[from..to) (stride `outputs`, offset `output`). */
export function addLeafValue(raw: usize, order: usize, from: i32, to: i32, value: f64, output: i32, outputs: i32): void {
  for (let i = <usize>from; i < <usize>to; i++) {
    const p = raw + ((<usize>load<i32>(order + (i << 2)) * <usize>outputs + <usize>output) << 3);
    store<f64>(p, load<f64>(p) + value);
  }
}

/** a[i] += b[i] for an even `count` of float64s, two at a time: chunk histograms into their sum. */
export function addInto(a: usize, b: usize, count: i32): void {
  for (let i: usize = 0; i < (<usize>count << 3); i += 16) v128.store(a + i, f64x2.add(v128.load(a + i), v128.load(b + i)));
}

/** The row counts of `bins` histogram bins (every third float64 from the third) from `src` to `dst`: a root's counts are every root's. */
export function copyCounts(dst: usize, src: usize, bins: i32): void {
  for (let i: usize = 16; i < <usize>bins * 24; i += 24) store<f64>(dst + i, load<f64>(src + i));
}

/** a[i] -= b[i] for an even `count` of float64s: a parent's histogram minus its smaller child's is the larger child's. */
export function subtractFrom(a: usize, b: usize, count: i32): void {
  for (let i: usize = 0; i < (<usize>count << 3); i += 16) v128.store(a + i, f64x2.sub(v128.load(a + i), v128.load(b + i)));
}

/** A side's share of the split objective: G² / (H + l2). */
// @ts-ignore: decorator
@inline function score(g: f64, h: f64, l2: f64): f64 { return (g * g) / (h + l2); }

/**
 * The best split of a leaf from features [f0, f1) of its histogram: over each feature (`edgeCounts[f]`
 * bins in use) and bin, the left side's rows, hessian and the gain in G² / (H + l2), keeping the first largest gain
 * above 1e-12. Writes gain, feature, bin and the left side's gradient, hessian and rows to `out`
 * (six float64s); a gain of 0 means no split.
 */
export function bestSplit(hist: usize, f0: i32, f1: i32, edgeCounts: usize, g: f64, h: f64, count: f64, minSamplesLeaf: f64, minHessian: f64, l2: f64, out: usize): void {
  const parent = score(g, h, l2);
  let bestGain: f64 = 0, bestFeature = -1, bestBin = -1, bestG: f64 = 0, bestH: f64 = 0, bestN: f64 = 0;
  for (let f = f0; f < f1; f++) {
    const bins = load<i32>(edgeCounts + (<usize>f << 2));
    let p = hist + <usize>f * FEATURE_BYTES;
    let gl: f64 = 0, hl: f64 = 0, nl: f64 = 0;
    for (let b = 0; b < bins; b++, p += 24) {
      gl += load<f64>(p);
      hl += load<f64>(p, 8);
      nl += load<f64>(p, 16);
      if (nl < minSamplesLeaf) continue;
      if (count - nl < minSamplesLeaf) break;
      const hr = h - hl;
      if (hl < minHessian || hr < minHessian) continue;
      const gain = score(gl, hl, l2) + score(g - gl, hr, l2) - parent;
      if (gain > 1e-12 && (bestFeature < 0 || gain > bestGain)) {
        bestGain = gain; bestFeature = f; bestBin = b; bestG = gl; bestH = hl; bestN = nl;
      }
    }
  }
  store<f64>(out, bestFeature < 0 ? 0 : bestGain);
  store<f64>(out, <f64>bestFeature, 8);
  store<f64>(out, <f64>bestBin, 16);
  store<f64>(out, bestG, 24);
  store<f64>(out, bestH, 32);
  store<f64>(out, bestN, 40);
}

/** Sums of the gradients and hessians of rows [from, to) into out[0], out[1], in row order. */
export function sumGradients(gh: usize, from: i32, to: i32, out: usize): void {
  let g: f64 = 0, h: f64 = 0;
  for (let i = <usize>from; i < <usize>to; i++) {
    g += <f64>load<f32>(gh + (i << 3));
    h += <f64>load<f32>(gh + (i << 3), 4);
  }
  store<f64>(out, g);
  store<f64>(out, h, 8);
}
