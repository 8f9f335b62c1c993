/**
 * Gradient boosting's passes over rows (histograms, partitions, gradients) on every core, through
 * `row-threads.ts`, with the per-chunk results combined in chunk order.
 */
import {
  SharedRows, binChunk, gradientChunk, gradientsOfRows, histogramChunk, histogramOfRows, partitionChunk, partitionRows, rootHistogramOfRows,
} from './gbdt-kernels';
import { KernelFamily, MAX_CHUNKS, onSharedMemory, RowThreads, sharedBytes } from './row-threads';

const HISTOGRAM = 0, PARTITION = 1, GRADIENTS = 2, BIN = 3;
const family = new KernelFamily<SharedRows>([histogramChunk, partitionChunk, gradientChunk, binChunk], [histogramOfRows, rootHistogramOfRows, partitionRows, gradientsOfRows]);

/** Chunks the GBDT helper threads of this thread have run, ever. */
export const chunksRunByHelpers = () => family.chunksRunByHelpers();

/** Shared arrays for a fit over n rows and d features, and the threads that work on them. */
export class RowWorkers {
  readonly s: SharedRows;
  private readonly threads: RowThreads<SharedRows>;
  /** Row counts per feature and bin of all rows, in histogram layout: the same for every tree's root. */
  private rootCounts?: Float64Array;

  /**
   * `values` are the training columns, read by the helper threads too: a column not on shared memory
   * is copied there first (the recipe's columns already are).
   */
  constructor(n: number, values: Float64Array[], edges: Float32Array[], threads: number) {
    const d = values.length;
    this.s = {
      n, d,
      bins: new Uint8Array(sharedBytes(n * d)),
      columns: new Uint8Array(sharedBytes(n * d)),
      gh: new Float32Array(sharedBytes(8 * n)),
      order: new Int32Array(sharedBytes(4 * n)),
      scratch: new Int32Array(sharedBytes(4 * n)),
      raw: new Float64Array(sharedBytes(8 * n)),
      y: new Float64Array(sharedBytes(8 * n)),
      hists: new Float64Array(sharedBytes(8 * MAX_CHUNKS * d * 768)),
      lefts: new Int32Array(sharedBytes(4 * MAX_CHUNKS)),
      edges: new Float32Array(sharedBytes(4 * 256 * d)),
      edgeCounts: new Int32Array(sharedBytes(4 * d)),
      values: values.map(onSharedMemory),
    };
    edges.forEach((e, f) => { this.s.edges.set(e, f * 256); this.s.edgeCounts[f] = e.length; });
    this.threads = new RowThreads(family, this.s, n, threads);
  }

  /** Bins every training value by its feature's edges, on every thread. */
  bin(): void { this.threads.run(BIN, 0, this.s.n); }

  /** The histogram of rows order[from..to): chunk histograms summed in chunk order. */
  histogram(from: number, to: number): Float64Array {
    const whole = from === 0 && to === this.s.n;
    const root = whole && this.rootCounts !== undefined;
    const chunks = this.threads.run(HISTOGRAM, from, to, root ? 1 : 0);
    const size = this.s.d * 768;
    const out = this.s.hists.slice(0, size);
    for (let c = 1; c < chunks; c++) {
      const off = c * size;
      for (let i = 0; i < size; i++) out[i] += this.s.hists[off + i];
    }
    if (root) for (let i = 2; i < size; i += 3) out[i] = this.rootCounts![i];
    else if (whole) this.rootCounts = out.slice();
    return out;
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
