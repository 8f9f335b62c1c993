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
  histogram(bins: number, d: number, gh: number, order: number, from: number, to: number, hist: number): void;
  rootHistogram(bins: number, d: number, gh: number, from: number, to: number, hist: number): void;
  partition(column: number, bin: number, order: number, scratch: number, from: number, to: number): number;
  gradients(loss: number, raw: number, y: number, gh: number, from: number, to: number): void;
  addLeafValue(raw: number, order: number, from: number, to: number, value: number, output: number, outputs: number): void;
  addInto(a: number, b: number, count: number): void;
  subtractFrom(a: number, b: number, count: number): void;
  bestSplit(hist: number, d: number, edgeCounts: number, g: number, h: number, count: number, minSamplesLeaf: number, minHessian: number, l2: number, out: number): void;
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
  order: Int32Array;
  scratch: Int32Array;
  /** Raw scores, row-major by output. */
  raw: Float64Array;
  y: Float64Array;
  /** One histogram per chunk (the first chunk's goes straight to its destination). */
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

/**
 * A chunk of a histogram pass: the first chunk into the destination at byte args[1], the others into
 * their own histograms; args[0] 1 for a root (no counts).
 */
export function histogramChunk(s: SharedRows, args: Float64Array, from: number, to: number, chunk: number): void {
  const hist = chunk === 0 ? args[1] : s.hists.byteOffset + chunk * s.d * 768 * 8;
  if (args[0] === 1) wasmOf(s).rootHistogram(s.bins.byteOffset, s.d, s.gh.byteOffset, from, to, hist);
  else wasmOf(s).histogram(s.bins.byteOffset, s.d, s.gh.byteOffset, s.order.byteOffset, from, to, hist);
}

/** A chunk of a partition pass on feature args[0] at bin args[1]. */
export function partitionChunk(s: SharedRows, args: Float64Array, from: number, to: number, chunk: number): void {
  s.lefts[chunk] = wasmOf(s).partition(s.columns.byteOffset + args[0] * s.n, args[1], s.order.byteOffset, s.scratch.byteOffset, from, to);
}

/** A chunk of a gradient pass with loss args[0]. */
export function gradientChunk(s: SharedRows, args: Float64Array, from: number, to: number): void {
  wasmOf(s).gradients(args[0], s.raw.byteOffset, s.y.byteOffset, s.gh.byteOffset, from, to);
}
