/**
 * The row loops of gradient boosting, written so a helper thread can run them from their source text
 * (`Function.prototype.toString`): each is a plain function with no imports, closures or nested
 * functions, working only on what it is given. `gbdt-threads.ts` runs them on every core
 * (`row-threads.ts`). The hottest loops (histograms, partitions) are compiled WebAssembly
 * (`wasm/gbdt-kernels.as.ts`), which these call.
 */

/** Per feature and bin: gradient sum, hessian sum and row count, interleaved (one cache line per update). */
export const HISTOGRAM_STRIDE = 256 * 3;

/** The exports of `wasm/gbdt-kernels.as.ts`; addresses are byte offsets in the fit's memory. */
export interface GbdtWasm {
  histogram(bins: number, d: number, gh: number, order: number, from: number, to: number, hist: number, f0: number, f1: number): void;
  rootHistogram(bins: number, d: number, gh: number, from: number, to: number, hist: number, f0: number, f1: number): void;
  copyCounts(dst: number, src: number, bins: number): void;
  partition(column: number, bin: number, src: number, lefts: number, rights: number, from: number, to: number): number;
  gradients(loss: number, raw: number, y: number, gh: number, from: number, to: number): void;
  addLeafValue(raw: number, order: number, from: number, to: number, value: number, output: number, outputs: number): void;
  addInto(a: number, b: number, count: number): void;
  subtractFrom(a: number, b: number, count: number): void;
  bestSplit(hist: number, f0: number, f1: number, edgeCounts: number, g: number, h: number, count: number, minSamplesLeaf: number, minHessian: number, l2: number, out: number): void;
  sumGradients(gh: number, from: number, to: number, out: number): void;
}

/**
 * This thread's instance of the compiled kernels on the fit's memory, made once per fit and thread
 * (a helper receives the fit's module and memory, never an instance: instances do not cross threads).
 */
export function wasmOf(s: SharedRows): GbdtWasm {
  const cache: WeakMap<SharedRows, GbdtWasm> = ((globalThis as { gbdtWasm?: WeakMap<SharedRows, GbdtWasm> }).gbdtWasm ??= new WeakMap());
  let kernels = cache.get(s);
  if (kernels === undefined) {
    kernels = new WebAssembly.Instance(s.module, { env: { memory: s.memory } }).exports as unknown as GbdtWasm;
    cache.set(s, kernels);
  }
  return kernels;
}

/**
 * What every thread of one fit shares: the compiled kernels and their memory, and typed arrays (all
 * shared). Every array the compiled kernels read or write is a view on that memory (`kernelMemory` in
 * gbdt-threads.ts lays them out); `lefts` and `values` are SharedArrayBuffers of their own.
 */
export interface SharedRows {
  n: number;
  d: number;
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** Bin codes row-major, for histograms. */
  bins: Uint8Array;
  /** The same codes column by column (`columns[f * n + row]`), for partitions. */
  columns: Uint8Array;
  gh: Float32Array;
  /** The training rows, grouped by leaf: leaf rows are a range of it. */
  order: Int32Array;
  /** Where a partition puts rows before they go back into `order`: lefts in `scratch`, rights in `spare`. */
  scratch: Int32Array;
  spare: Int32Array;
  /** Raw scores, row-major by output. */
  raw: Float64Array;
  y: Float64Array;
  /** The row counts of every tree's root, in histogram layout. */
  rootCounts: Float64Array;
  /** One histogram per row chunk of a large node's histogram pass (the first chunk's goes straight to its destination). */
  hists: Float64Array;
  /** Each split item's answers: two leaves' best splits, six float64s each (see `bestSplit`). */
  splits: Float64Array;
  /** Rows each item sent left in the last partition. */
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

/**
 * A chunk of a large node's histogram pass, by rows, every feature: the first chunk into the
 * destination at byte args[1], the others into their own histograms; args[0] 1 for a root (no counts).
 */
export function histogramChunk(s: SharedRows, args: Float64Array, from: number, to: number, chunk: number): void {
  const hist = chunk === 0 ? args[1] : s.hists.byteOffset + chunk * s.d * 6144;
  if (args[0] === 1) wasmOf(s).rootHistogram(s.bins.byteOffset, s.d, s.gh.byteOffset, from, to, hist, 0, s.d);
  else wasmOf(s).histogram(s.bins.byteOffset, s.d, s.gh.byteOffset, s.order.byteOffset, from, to, hist, 0, s.d);
}

/**
 * Item `item` of `args[4]` of a split pass: for its range of features, the histogram at byte args[2]
 * of rows order[args[0]..args[1]) (args[14] 1: a root, its counts copied from `rootCounts`; 2: built
 * already, by `histogramChunk`), taken from the parent's at byte args[3] when there is one (args[3] >= 0:
 * the parent's becomes the sibling's),
 * then the best split of the leaf (gradient, hessian, rows in args[5..7]; rows < 0: none sought) and of
 * the sibling (args[8..10]) into `splits`. args[11..13]: rows and hessian per leaf at least, l2.
 * (6144: the bytes of one feature's histogram, 256 bins of three float64s.)
 */
export function splitItem(s: SharedRows, args: Float64Array, _from: number, _to: number, item: number): void {
  const w = wasmOf(s);
  const d = s.d, items = args[4];
  const f0 = Math.floor((item * d) / items), f1 = Math.floor(((item + 1) * d) / items);
  const hist = args[2], parent = args[3];
  if (args[14] === 1) {
    w.rootHistogram(s.bins.byteOffset, d, s.gh.byteOffset, args[0], args[1], hist, f0, f1);
    w.copyCounts(hist + f0 * 6144, s.rootCounts.byteOffset + f0 * 6144, (f1 - f0) * 256);
  } else if (args[14] === 0) w.histogram(s.bins.byteOffset, d, s.gh.byteOffset, s.order.byteOffset, args[0], args[1], hist, f0, f1);
  if (parent >= 0) w.subtractFrom(parent + f0 * 6144, hist + f0 * 6144, (f1 - f0) * 768);
  const out = s.splits.byteOffset + item * 96;
  if (args[7] >= 0) w.bestSplit(hist, f0, f1, s.edgeCounts.byteOffset, args[5], args[6], args[7], args[11], args[12], args[13], out);
  else s.splits[item * 12] = 0;
  if (args[10] >= 0) w.bestSplit(parent, f0, f1, s.edgeCounts.byteOffset, args[8], args[9], args[10], args[11], args[12], args[13], out + 48);
  else s.splits[item * 12 + 6] = 0;
}

/**
 * Item `item` of `args[4]` of a partition pass over order[args[0]..args[1]) on feature args[2] at bin
 * args[3]: its share of the rows, lefts into `scratch` and rights into `spare` at the same positions.
 */
export function partitionItem(s: SharedRows, args: Float64Array, _from: number, _to: number, item: number): void {
  const from = args[0], to = args[1];
  const size = Math.ceil((to - from) / args[4]);
  const a = from + item * size;
  s.lefts[item] = wasmOf(s).partition(s.columns.byteOffset + args[2] * s.n, args[3], s.order.byteOffset, s.scratch.byteOffset, s.spare.byteOffset, a, Math.min(to, a + size));
}

/** Item `item` of the pass after `partitionItem`: its lefts and rights back into `order`, where they go. */
export function placeItem(s: SharedRows, args: Float64Array, _from: number, _to: number, item: number): void {
  const from = args[0], to = args[1], items = args[4];
  const size = Math.ceil((to - from) / items);
  const a = from + item * size;
  let before = 0, lefts = 0;
  for (let c = 0; c < items; c++) { if (c < item) before += s.lefts[c]; lefts += s.lefts[c]; }
  const mine = s.lefts[item];
  s.order.set(s.scratch.subarray(a, a + mine), from + before);
  s.order.set(s.spare.subarray(a, Math.min(to, a + size) - mine), from + lefts + (a - from - before));
}

/** A chunk of a gradient pass with loss args[0]. */
export function gradientChunk(s: SharedRows, args: Float64Array, from: number, to: number): void {
  wasmOf(s).gradients(args[0], s.raw.byteOffset, s.y.byteOffset, s.gh.byteOffset, from, to);
}
