/**
 * Gradient boosting's passes over rows (histograms, partitions, gradients) on every core, through
 * `row-threads.ts`, with the per-chunk results combined in chunk order.
 */
import { GbdtWasm, HISTOGRAM_STRIDE, SharedRows, binChunk, gradientChunk, histogramChunk, partitionChunk, wasmOf } from './gbdt-kernels';
import { WASM } from './gbdt-kernels-wasm';
import { KernelFamily, MAX_CHUNKS, onSharedMemory, RowThreads, sharedBytes } from './row-threads';

const HISTOGRAM = 0, PARTITION = 1, GRADIENTS = 2, BIN = 3;
const family = new KernelFamily<SharedRows>([histogramChunk, partitionChunk, gradientChunk, binChunk], [wasmOf]);
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
    bins: n * d, columns: n * d, gh: 8 * n, order: 4 * n, scratch: 4 * n, raw: 8 * n * outputs, y: 8 * n,
    hists: MAX_CHUNKS * histogram, slots: slots * histogram, edges: 4 * 256 * d, edgeCounts: 4 * d, result: 8 * 6,
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
    raw: new Float64Array(buffer, at.raw, n * outputs),
    y: new Float64Array(buffer, at.y, n),
    hists: new Float64Array(buffer, at.hists, MAX_CHUNKS * d * HISTOGRAM_STRIDE),
    slots: new Float64Array(buffer, at.slots, slots * d * HISTOGRAM_STRIDE),
    edges: new Float32Array(buffer, at.edges, 256 * d),
    edgeCounts: new Int32Array(buffer, at.edgeCounts, d),
    result: new Float64Array(buffer, at.result, 6),
  };
}

/** Chunks the GBDT helper threads of this thread have run, ever. */
export const chunksRunByHelpers = () => family.chunksRunByHelpers();

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
  /** Row counts per feature and bin of all rows, in histogram layout: the same for every tree's root. */
  private rootCounts?: Float64Array;

  /**
   * `values` are the training columns, read by the helper threads too: a column not on shared memory
   * is copied there first (the recipe's columns already are). `outputs` raw scores per row; at most
   * `slots` histograms per tree (one per leaf).
   */
  constructor(n: number, values: Float64Array[], edges: Float32Array[], threads: number, outputs: number, slots: number) {
    const d = values.length;
    const { slots: slotArray, result, ...memory } = kernelMemory(n, d, outputs, slots);
    this.s = { n, d, ...memory, lefts: new Int32Array(sharedBytes(4 * MAX_CHUNKS)), values: values.map(onSharedMemory) };
    this.slots = slotArray;
    this.result = result;
    this.size = d * HISTOGRAM_STRIDE;
    edges.forEach((e, f) => { this.s.edges.set(e, f * 256); this.s.edgeCounts[f] = e.length; });
    this.threads = new RowThreads(family, this.s, n, threads);
    this.wasm = wasmOf(this.s);
  }

  /** Bins every training value by its feature's edges, on every thread. */
  bin(): void { this.threads.run(BIN, 0, this.s.n); }

  /** Starts a tree: its histograms take the slots again from the first. Returns the sums of all gradients and hessians. */
  newTree(): { g: number; h: number } {
    this.used = 0;
    this.wasm.sumGradients(this.s.gh.byteOffset, 0, this.s.n, this.result.byteOffset);
    return { g: this.result[0], h: this.result[1] };
  }

  /**
   * The best split of a leaf of `count` rows with gradient and hessian sums `g`, `h` from its
   * histogram (see `bestSplit` in the kernels), or undefined when no split gains.
   */
  bestSplit(hist: Float64Array, g: number, h: number, count: number, o: { minSamplesLeaf: number; minHessian: number; l2: number }) {
    const r = this.result;
    this.wasm.bestSplit(hist.byteOffset, this.s.d, this.s.edgeCounts.byteOffset, g, h, count, o.minSamplesLeaf, o.minHessian, o.l2, r.byteOffset);
    return r[0] === 0 ? undefined : { gain: r[0], feature: r[1], bin: r[2], left: { g: r[3], h: r[4], n: r[5] } };
  }

  /** The histogram of rows order[from..to), in a fresh slot: chunk histograms summed in chunk order. */
  histogram(from: number, to: number): Float64Array {
    if (this.used * this.size >= this.slots.length) throw new Error('a tree asked for more histograms than it has leaves');
    const out = this.slots.subarray(this.used * this.size, ++this.used * this.size);
    const whole = from === 0 && to === this.s.n;
    const root = whole && this.rootCounts !== undefined;
    const chunks = this.threads.run(HISTOGRAM, from, to, root ? 1 : 0, out.byteOffset);
    const bytes = 8 * this.size;
    for (let c = 1; c < chunks; c++) this.wasm.addInto(out.byteOffset, this.s.hists.byteOffset + c * bytes, this.size);
    if (root) for (let i = 2; i < this.size; i += 3) out[i] = this.rootCounts![i];
    else if (whole) this.rootCounts = out.slice();
    return out;
  }

  /** parent -= child: what a parent's histogram minus its smaller child's leaves is the larger child's. */
  subtract(parent: Float64Array, child: Float64Array): void { this.wasm.subtractFrom(parent.byteOffset, child.byteOffset, this.size); }

  /** Adds `value` to output `output` of the raw scores of the rows order[from..to). */
  addLeafValue(from: number, to: number, value: number, output: number, outputs: number): void {
    this.wasm.addLeafValue(this.s.raw.byteOffset, this.s.order.byteOffset, from, to, value, output, outputs);
  }

  /** Stable partition of order[from..to) on feature <= bin; returns the first right row's position. */
  partition(from: number, to: number, feature: number, bin: number): number {
    const chunks = this.threads.run(PARTITION, from, to, feature, bin);
    const { order, scratch, lefts } = this.s;
    const size = Math.ceil((to - from) / chunks);
    let at = from;
    for (let c = 0; c < chunks; c++) {
      const a = from + c * size;
      if (a !== at) order.copyWithin(at, a, a + lefts[c]);
      at += lefts[c];
    }
    const mid = at;
    for (let c = 0; c < chunks; c++) {
      const a = from + c * size;
      const rights = Math.min(to, a + size) - a - lefts[c];
      order.set(scratch.subarray(a, a + rights), at);
      at += rights;
    }
    return mid;
  }

  /** Gradients and hessians of every row from `raw` and `y` (loss 0: binary log loss, 1: squared error). */
  gradients(loss: 0 | 1): void { this.threads.run(GRADIENTS, 0, this.s.n, loss); }

  /** Lets the helpers drop this fit's arrays. */
  release(): void { this.threads.release(); }
}
