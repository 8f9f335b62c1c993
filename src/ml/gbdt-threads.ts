/**
 * Gradient boosting's passes over rows (histograms and split search, partitions, gradients) on every
 * core, through `row-threads.ts`: the split search and small leaves' histograms shared out by feature,
 * large leaves' histograms and the other passes by row.
 */
import { GbdtWasm, HISTOGRAM_STRIDE, SharedRows, binChunk, gradientChunk, histogramChunk, partitionItem, placeItem, splitItem, wasmOf } from './gbdt-kernels';
import { WASM } from './gbdt-kernels-wasm';
import { KernelFamily, MAX_CHUNKS, onSharedMemory, RowThreads, sharedBytes, threadsForRows } from './row-threads';

const SPLIT = 0, PARTITION = 1, GRADIENTS = 2, BIN = 3, PLACE = 4, HISTOGRAM = 5;
const family = new KernelFamily<SharedRows>([splitItem, partitionItem, gradientChunk, binChunk, placeItem, histogramChunk], [wasmOf]);
/**
 * Bin codes (rows x features bytes) from which a leaf's histogram is built by row chunks rather than
 * by feature: past the caches, threads that each read every row are bound by memory. A 20-round fit of
 * 2M x 30 took 10.9 s all by feature, 9.0 s all by row, 8.5 s with this limit (1 MiB: 8.9 s, 64 KiB:
 * 8.7 s); bench/gbdt.ts (160k x 10) is as fast as all by feature.
 */
const ROW_CHUNKED_BYTES = 256 << 10;
/** Rows below which a partition runs on one thread: waking a helper costs more. */
const MIN_PARTITION_ROWS = 4096;
/** Compiled once per process; each fit instantiates it on its own memory. */
let compiled: WebAssembly.Module | undefined;
const PAGE = 65_536;
/** A 32-bit WebAssembly memory's most pages: 4 GiB. */
const MAX_PAGES = 65_536;

/**
 * The fit's WebAssembly memory, with the arrays the compiled kernels work on laid out in it after
 * the first page (each 8-byte aligned) as views: `slots` histograms for a tree's leaves besides the chunks' own.
 */
export function kernelMemory(n: number, d: number, outputs: number, slots: number) {
  const histogram = 8 * d * HISTOGRAM_STRIDE;
  const sizes = {
    bins: n * d, columns: n * d, gh: 8 * n, order: 4 * n, scratch: 4 * n, spare: 4 * n, raw: 8 * n * outputs, y: 8 * n,
    rootCounts: histogram, hists: MAX_CHUNKS * histogram, slots: slots * histogram, edges: 4 * 256 * d, edgeCounts: 4 * d, splits: 8 * 12 * MAX_CHUNKS, result: 8 * 2,
  };
  const at: Record<string, number> = {};
  // the first page holds the module's own data (Math.exp's table); tools/wasm/build.mjs checks it fits
  let end = PAGE;
  for (const [name, bytes] of Object.entries(sizes)) { at[name] = end; end += Math.ceil(Math.max(8, bytes) / 8) * 8; }
  const pages = Math.ceil(end / PAGE);
  if (pages > MAX_PAGES) {
    throw new RangeError(`gradient-boosted trees on ${n} rows x ${d} features need ${(end / 2 ** 30).toFixed(1)} GiB of working memory; the most is 4 GiB: train on a sample, or on fewer features`);
  }
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  const buffer = memory.buffer;
  compiled ??= new WebAssembly.Module(WASM);
  return {
    module: compiled, memory,
    bins: new Uint8Array(buffer, at.bins, n * d),
    columns: new Uint8Array(buffer, at.columns, n * d),
    gh: new Float32Array(buffer, at.gh, 2 * n),
    order: new Int32Array(buffer, at.order, n),
    scratch: new Int32Array(buffer, at.scratch, n),
    spare: new Int32Array(buffer, at.spare, n),
    raw: new Float64Array(buffer, at.raw, n * outputs),
    y: new Float64Array(buffer, at.y, n),
    rootCounts: new Float64Array(buffer, at.rootCounts, d * HISTOGRAM_STRIDE),
    hists: new Float64Array(buffer, at.hists, MAX_CHUNKS * d * HISTOGRAM_STRIDE),
    slots: new Float64Array(buffer, at.slots, slots * d * HISTOGRAM_STRIDE),
    edges: new Float32Array(buffer, at.edges, 256 * d),
    edgeCounts: new Int32Array(buffer, at.edgeCounts, d),
    splits: new Float64Array(buffer, at.splits, 12 * MAX_CHUNKS),
    result: new Float64Array(buffer, at.result, 2),
  };
}

/** Chunks the GBDT helper threads of this thread have run, ever. */
export const chunksRunByHelpers = () => family.chunksRunByHelpers();

/** A leaf's sums: gradient, hessian, rows. */
export interface LeafSums { g: number; h: number; n: number }
export interface SplitRules { minSamplesLeaf: number; minHessian: number; l2: number }
/** A leaf's best split: its gain, the feature and bin (rows with bin <= `bin` go left) and the left side's sums. */
export interface Split { gain: number; feature: number; bin: number; left: LeafSums }

/**
 * Shared arrays for a fit over n rows and d features, and the threads that work on them. Histograms
 * live in `slots` slots of the shared memory, handed out anew for each tree.
 */
export class RowWorkers {
  readonly s: SharedRows;
  private readonly threads: RowThreads<SharedRows>;
  private readonly wasm: GbdtWasm;
  /** Float64s in one histogram. */
  private readonly size: number;
  private readonly slots: Float64Array;
  private used = 0;
  /** Where the compiled kernels leave a result of several numbers. */
  private readonly result: Float64Array;
  /** Whether `rootCounts` holds the root's row counts yet (after the first tree's root). */
  private rootCounted = false;
  /** Items a split pass is cut into: one per thread, at most one per feature. */
  private readonly splitItems: number;

  /**
   * `values` are the training columns, read by the helper threads too: a column not on shared memory
   * is copied there first (the recipe's columns already are). `outputs` raw scores per row; at most
   * `slots` histograms per tree (one per leaf).
   */
  constructor(n: number, values: Float64Array[], edges: Float32Array[], private readonly threadCount: number, outputs: number, slots: number) {
    const d = values.length;
    const { slots: slotArray, result, ...memory } = kernelMemory(n, d, outputs, slots);
    this.s = { n, d, ...memory, lefts: new Int32Array(sharedBytes(4 * MAX_CHUNKS)), values: values.map(onSharedMemory) };
    this.slots = slotArray;
    this.result = result;
    this.size = d * HISTOGRAM_STRIDE;
    edges.forEach((e, f) => { this.s.edges.set(e, f * 256); this.s.edgeCounts[f] = e.length; });
    this.threads = new RowThreads(family, this.s, threadsForRows(n, threadCount));
    this.wasm = wasmOf(this.s);
    this.splitItems = Math.max(1, Math.min(d, threadCount, MAX_CHUNKS));
  }

  /** Bins every training value by its feature's edges, on every thread. */
  bin(): void { this.threads.run(BIN, 0, this.s.n); }

  /** Starts a tree: its histograms take the slots again from the first. Returns the sums of all gradients and hessians. */
  newTree(): { g: number; h: number } {
    this.used = 0;
    this.wasm.sumGradients(this.s.gh.byteOffset, 0, this.s.n, this.result.byteOffset);
    return { g: this.result[0], h: this.result[1] };
  }

  private newHistogram(): Float64Array {
    if (this.used * this.size >= this.slots.length) throw new Error('a tree asked for more histograms than it has leaves');
    return this.slots.subarray(this.used * this.size, ++this.used * this.size);
  }

  /** The root's histogram (all rows, order[i] = i) and its best split, if any. */
  rootSplit(root: LeafSums, rules: SplitRules): { histogram: Float64Array; split?: Split } {
    const histogram = this.newHistogram();
    const [split] = this.splitPass(0, this.s.n, histogram, undefined, this.rootCounted, root, undefined, rules);
    if (!this.rootCounted) { this.s.rootCounts.set(histogram); this.rootCounted = true; }
    return { histogram, split };
  }

  /**
   * After a split: the histogram of the smaller child (rows order[from..to)) in a fresh slot, the
   * parent's turned into the larger child's (parent minus smaller), and both children's best splits.
   */
  childSplits(from: number, to: number, parent: Float64Array, small: LeafSums, large: LeafSums, rules: SplitRules): { histogram: Float64Array; small?: Split; large?: Split } {
    const histogram = this.newHistogram();
    const [smallSplit, largeSplit] = this.splitPass(from, to, histogram, parent, false, small, large, rules);
    return { histogram, small: smallSplit, large: largeSplit };
  }

  /**
   * One split pass (`splitItem`), its items' best splits combined in feature order: the first largest
   * gain wins. A large leaf's histogram is built before it by row chunks (`histogramChunk`), added up in chunk order.
   */
  private splitPass(from: number, to: number, hist: Float64Array, parent: Float64Array | undefined, rootOfKnownCounts: boolean, a: LeafSums, b: LeafSums | undefined, rules: SplitRules): [Split?, Split?] {
    const { minSamplesLeaf, minHessian, l2 } = rules;
    // a leaf with fewer than twice the fewest rows per leaf cannot split
    const seek = (leaf: LeafSums | undefined) => (leaf && leaf.n >= 2 * minSamplesLeaf ? leaf.n : -1);
    const items = this.splitItems;
    // 0: build the histogram (counts included), 1: a root's, counts copied from `rootCounts`, 2: built already
    let mode = rootOfKnownCounts ? 1 : 0;
    if ((to - from) * this.s.d >= ROW_CHUNKED_BYTES) {
      const chunks = this.threads.run(HISTOGRAM, from, to, mode, hist.byteOffset);
      for (let c = 1; c < chunks; c++) this.wasm.addInto(hist.byteOffset, this.s.hists.byteOffset + c * 8 * this.size, this.size);
      if (rootOfKnownCounts) this.wasm.copyCounts(hist.byteOffset, this.s.rootCounts.byteOffset, this.s.d * 256);
      mode = 2;
    }
    this.threads.runItems(SPLIT, items, from, to, hist.byteOffset, parent ? parent.byteOffset : -1, items, a.g, a.h, seek(a), b?.g ?? 0, b?.h ?? 0, seek(b), minSamplesLeaf, minHessian, l2, mode);
    const best = (k: number): Split | undefined => {
      const r = this.s.splits;
      let pick = -1;
      for (let item = 0; item < items; item++) if (r[item * 12 + k * 6] > 0 && (pick < 0 || r[item * 12 + k * 6] > r[pick * 12 + k * 6])) pick = item;
      if (pick < 0) return undefined;
      const at = pick * 12 + k * 6;
      return { gain: r[at], feature: r[at + 1], bin: r[at + 2], left: { g: r[at + 3], h: r[at + 4], n: r[at + 5] } };
    };
    return [best(0), b ? best(1) : undefined];
  }

  /** Adds `value` to output `output` of the raw scores of the rows order[from..to). */
  addLeafValue(from: number, to: number, value: number, output: number, outputs: number): void {
    this.wasm.addLeafValue(this.s.raw.byteOffset, this.s.order.byteOffset, from, to, value, output, outputs);
  }

  /**
   * Stable partition of order[from..to) on feature <= bin; returns the first right row's position.
   * Large ranges in two passes on every thread (each share's lefts and rights aside, then each back
   * where it goes), small ones in place on this thread.
   */
  partition(from: number, to: number, feature: number, bin: number): number {
    const { order, scratch } = this.s;
    const items = Math.max(1, Math.min(this.threadCount, MAX_CHUNKS, Math.floor((to - from) / MIN_PARTITION_ROWS)));
    if (items === 1) {
      const lefts = this.wasm.partition(this.s.columns.byteOffset + feature * this.s.n, bin, order.byteOffset, order.byteOffset, scratch.byteOffset, from, to);
      order.set(scratch.subarray(from, to - lefts), from + lefts);
      return from + lefts;
    }
    this.threads.runItems(PARTITION, items, from, to, feature, bin, items);
    this.threads.runItems(PLACE, items, from, to, feature, bin, items);
    let lefts = 0;
    for (let c = 0; c < items; c++) lefts += this.s.lefts[c];
    return from + lefts;
  }

  /** Gradients and hessians of every row from `raw` and `y` (loss 0: binary log loss, 1: squared error). */
  gradients(loss: 0 | 1): void { this.threads.run(GRADIENTS, 0, this.s.n, loss); }

  /** Lets the helpers drop this fit's arrays. */
  release(): void { this.threads.release(); }
}
