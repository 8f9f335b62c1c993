/**
 * Runs gradient boosting's row loops on every core: helper threads share the fit's arrays
 * (SharedArrayBuffers) and wait on a control block with `Atomics.wait`, so handing them an operation
 * costs microseconds, not a message round trip. Each operation is cut into chunks by the number of
 * rows alone, and chunk results are combined in chunk order, so a model is the same bit for bit on
 * one core or sixteen.
 *
 * The helpers run the kernels' own source text (`gbdt-kernels.ts`), so they need no module loader,
 * start in milliseconds and stay alive (unreferenced) for the next fit in this thread.
 */
import os from 'node:os';
import { MessageChannel, MessagePort, Worker } from 'node:worker_threads';
import { CONTROL, OP, SharedRows, gradientsOfRows, histogramOfRows, partitionRows, rootHistogramOfRows, runChunks } from './gbdt-kernels';

/** Rows below which an operation runs on the calling thread alone: waking a helper costs more. */
const MIN_CHUNK_ROWS = 16_384;
const MAX_CHUNKS = 16;
/** How long the lead thread waits for helpers before calling one lost. */
const HELPER_TIMEOUT_MS = 10 * 60_000;

const helperSource = `
const { workerData, receiveMessageOnPort } = require('node:worker_threads');
${[histogramOfRows, rootHistogramOfRows, partitionRows, gradientsOfRows, runChunks].map((f) => f.toString()).join('\n')}
const ctrl = new Int32Array(workerData.control);
let seq = 0;
let shared = null;
for (;;) {
  // spin a little first: the next operation usually follows within microseconds
  for (let i = 0; i < 20000 && Atomics.load(ctrl, ${CONTROL.seq}) === seq; i++);
  Atomics.wait(ctrl, ${CONTROL.seq}, seq);
  seq = Atomics.load(ctrl, ${CONTROL.seq});
  const op = ctrl[${CONTROL.op}];
  // helpers beyond the fit's thread count only answer
  if (workerData.index >= ctrl[${CONTROL.participants}]) {}
  else if (op === ${OP.attach}) shared = receiveMessageOnPort(workerData.port).message;
  else if (op === ${OP.detach}) shared = null;
  else Atomics.add(ctrl, ${CONTROL.helped}, runChunks(ctrl, shared));
  Atomics.add(ctrl, ${CONTROL.done}, 1);
  Atomics.notify(ctrl, ${CONTROL.done});
}
`;

interface Helper { worker: Worker; port: MessagePort }

/** The helpers of this thread, made on first use. */
const control = new Int32Array(new SharedArrayBuffer(CONTROL.length * 4));
const helpers: Helper[] = [];

function ensureHelpers(count: number): void {
  while (helpers.length < count) {
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(helperSource, { eval: true, workerData: { control: control.buffer, port: port2, index: helpers.length }, transferList: [port2] });
    worker.unref();
    port1.unref();
    helpers.push({ worker, port: port1 });
  }
}

/** Chunks the helper threads of this thread have run, ever: how a test sees that they work. */
export const chunksRunByHelpers = () => Atomics.load(control, CONTROL.helped);

/** Chunks of an operation over `rows` rows: a function of the rows alone, for reproducible sums. */
export const chunksFor = (rows: number) => Math.max(1, Math.min(MAX_CHUNKS, Math.floor(rows / MIN_CHUNK_ROWS)));

const shared = (bytes: number) => new SharedArrayBuffer(Math.max(8, bytes));

/** Shared arrays for a fit over n rows and d features, and the threads that work on them. */
export class RowWorkers {
  readonly s: SharedRows;
  private readonly active: number;

  constructor(n: number, d: number, threads = os.availableParallelism()) {
    this.s = {
      n, d,
      bins: new Uint8Array(shared(n * d)),
      columns: new Uint8Array(shared(n * d)),
      gh: new Float32Array(shared(8 * n)),
      order: new Int32Array(shared(4 * n)),
      scratch: new Int32Array(shared(4 * n)),
      raw: new Float64Array(shared(8 * n)),
      y: new Float64Array(shared(8 * n)),
      hists: new Float64Array(shared(8 * MAX_CHUNKS * d * 768)),
      lefts: new Int32Array(shared(4 * MAX_CHUNKS)),
    };
    this.active = Math.max(0, Math.min(threads, MAX_CHUNKS) - 1);
    // a fit too small to cut into chunks never needs a helper
    if (chunksFor(n) > 1 && this.active > 0) {
      ensureHelpers(this.active);
      for (const h of helpers.slice(0, this.active)) h.port.postMessage(this.s);
      this.run(OP.attach, 0, 0, 0, 0, 0);
    }
  }

  private helpersFor(chunks: number): number { return chunks > 1 ? this.active : 0; }

  /** Runs one operation over rows [from, to) in `chunks` chunks, on this thread and the helpers. */
  private run(op: number, from: number, to: number, arg1: number, arg2: number, chunks: number): void {
    // every helper of the thread wakes (they share one control block); only `active` of them work
    const waking = (op === OP.attach || op === OP.detach ? this.active : this.helpersFor(chunks)) > 0 ? helpers.length : 0;
    control[CONTROL.participants] = this.active;
    control[CONTROL.op] = op;
    control[CONTROL.from] = from;
    control[CONTROL.to] = to;
    control[CONTROL.arg1] = arg1;
    control[CONTROL.arg2] = arg2;
    control[CONTROL.chunks] = chunks;
    control[CONTROL.next] = 0;
    Atomics.store(control, CONTROL.done, 0);
    if (waking > 0) { Atomics.add(control, CONTROL.seq, 1); Atomics.notify(control, CONTROL.seq); }
    if (op !== OP.attach && op !== OP.detach) runChunks(control, this.s);
    const deadline = Date.now() + HELPER_TIMEOUT_MS;
    for (let done = Atomics.load(control, CONTROL.done); done < waking; done = Atomics.load(control, CONTROL.done)) {
      Atomics.wait(control, CONTROL.done, done, 1000);
      if (Date.now() > deadline) throw new Error('a gradient-boosting helper thread stopped answering');
    }
  }

  /** Row counts per feature and bin of all rows, in histogram layout: the same for every tree's root. */
  private rootCounts?: Float64Array;

  /** The histogram of rows order[from..to): chunk histograms summed in chunk order. */
  histogram(from: number, to: number): Float64Array {
    const root = from === 0 && to === this.s.n && this.rootCounts !== undefined;
    const chunks = chunksFor(to - from);
    this.run(OP.histogram, from, to, root ? 1 : 0, 0, chunks);
    const size = this.s.d * 768;
    const out = this.s.hists.slice(0, size);
    for (let c = 1; c < chunks; c++) {
      const off = c * size;
      for (let i = 0; i < size; i++) out[i] += this.s.hists[off + i];
    }
    if (root) for (let i = 2; i < size; i += 3) out[i] = this.rootCounts![i];
    else if (from === 0 && to === this.s.n) this.rootCounts = out.slice();
    return out;
  }

  /** Stable partition of order[from..to) on feature <= bin; returns the first right row's position. */
  partition(from: number, to: number, feature: number, bin: number): number {
    const chunks = chunksFor(to - from);
    this.run(OP.partition, from, to, feature, bin, chunks);
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
  gradients(loss: 0 | 1): void {
    this.run(OP.gradients, 0, this.s.n, loss, 0, chunksFor(this.s.n));
  }

  /** Lets the helpers drop this fit's arrays. */
  release(): void {
    if (chunksFor(this.s.n) > 1 && this.active > 0) this.run(OP.detach, 0, 0, 0, 0, 0);
  }
}
