/**
 * Runs a training loop's passes over rows on every core. Helper threads share the fit's arrays
 * (SharedArrayBuffers) and wait on a control block with `Atomics.wait`, so handing them a pass costs
 * microseconds, not a message round trip. Each pass is cut into chunks by its number of rows alone and
 * callers combine chunk results in chunk order, so a model is the same bit for bit on one core or
 * sixteen.
 *
 * A family of kernels (`gbdt-kernels.ts`, `logistic-kernels.ts`) is a list of plain functions with no
 * imports or closures; helpers run their source text (`Function.prototype.toString`), so they need no
 * module loader, start in milliseconds, and stay alive (unreferenced) for the next fit in this thread.
 */
import { MessageChannel, MessagePort, Worker } from 'node:worker_threads';

/** One chunk of a pass: rows [from, to) of chunk number `chunk`, with the pass's numeric arguments. */
export type ChunkKernel<S> = (s: S, args: Float64Array, from: number, to: number, chunk: number) => void;

/** Rows below which a pass runs on the calling thread alone: waking a helper costs more. */
const MIN_CHUNK_ROWS = 4096;
export const MAX_CHUNKS = 16;
const ARGS = 16;
/** How long the lead thread waits for helpers before calling one lost. */
const HELPER_TIMEOUT_MS = 10 * 60_000;

/** Slots of the control block. */
const SEQ = 0, OP = 1, FROM = 2, TO = 3, NEXT = 4, DONE = 5, CHUNKS = 6, PARTICIPANTS = 7, HELPED = 8, FAILED = 9, SLOTS = 10;
/** Bytes of a helper's error message (UTF-8) passed back to the lead thread. */
const ERROR_BYTES = 1024;
/** Operations before the kernels: attach a fit's arrays, drop them. */
const ATTACH = -1, DETACH = -2;

/** Chunks of a pass over `rows` rows: a function of the rows alone, for reproducible sums. */
export const chunksFor = (rows: number) => Math.max(1, Math.min(MAX_CHUNKS, Math.floor(rows / MIN_CHUNK_ROWS)));

/** The threads worth starting for passes over `rows` rows: a fit too small to cut into chunks needs no helper. */
export const threadsForRows = (rows: number, threads: number) => (chunksFor(rows) > 1 ? threads : 1);

/**
 * Claims chunks of the current pass until none is left; the lead thread and every helper run this at
 * once. Returns how many chunks this thread ran. Part of the helpers' source: no outside names.
 */
function claimChunks(ctrl: Int32Array, args: Float64Array, kernels: ChunkKernel<unknown>[], s: unknown): number {
  const op = ctrl[1], from = ctrl[2], to = ctrl[3], chunks = ctrl[6];
  const size = Math.ceil((to - from) / chunks);
  for (let ran = 0; ; ran++) {
    const c = Atomics.add(ctrl, 4, 1);
    if (c >= chunks) return ran;
    const a = from + c * size;
    kernels[op](s, args, a, Math.min(to, a + size), c);
  }
}

function helperSource(kernels: ChunkKernel<never>[], support: ((...args: never[]) => unknown)[]): string {
  return `
const { workerData, receiveMessageOnPort } = require('node:worker_threads');
${[...support, claimChunks].map((f) => f.toString()).join('\n')}
const kernels = [${kernels.map((k) => k.name).join(', ')}];
${kernels.map((k) => k.toString()).join('\n')}
const ctrl = new Int32Array(workerData.control);
const args = new Float64Array(workerData.args);
const errorText = new Uint8Array(workerData.error);
let seq = 0;
let shared = null;
for (;;) {
  // spin a little first: the next pass usually follows within microseconds
  for (let i = 0; i < 20000 && Atomics.load(ctrl, ${SEQ}) === seq; i++);
  Atomics.wait(ctrl, ${SEQ}, seq);
  seq = Atomics.load(ctrl, ${SEQ});
  const op = ctrl[${OP}];
  // helpers beyond the fit's thread count only answer
  if (workerData.index >= ctrl[${PARTICIPANTS}]) {}
  else if (op === ${ATTACH}) shared = receiveMessageOnPort(workerData.port).message;
  else if (op === ${DETACH}) shared = null;
  else {
    try {
      Atomics.add(ctrl, ${HELPED}, claimChunks(ctrl, args, kernels, shared));
    } catch (err) {
      // the pass is incomplete: say why, and the lead thread throws it
      if (Atomics.compareExchange(ctrl, ${FAILED}, 0, 1) === 0) errorText.fill(0).set(new TextEncoder().encode(String(err && err.stack || err)).subarray(0, ${ERROR_BYTES}));
    }
  }
  Atomics.add(ctrl, ${DONE}, 1);
  Atomics.notify(ctrl, ${DONE});
}
`;
}

/** A family of kernels and the helper threads of this thread that run them. */
export class KernelFamily<S> {
  private readonly control = new Int32Array(new SharedArrayBuffer(SLOTS * 4));
  private readonly errorText = new Uint8Array(new SharedArrayBuffer(ERROR_BYTES));
  readonly args = new Float64Array(new SharedArrayBuffer(ARGS * 8));
  private readonly helpers: { worker: Worker; port: MessagePort }[] = [];
  private source?: string;

  /** `kernels[op]` runs a chunk of pass `op`; `support` are the plain functions the kernels call. */
  constructor(readonly kernels: ChunkKernel<S>[], private readonly support: ((...args: never[]) => unknown)[]) {}

  /** Chunks the helpers have run, ever: how a test sees that they work. */
  chunksRunByHelpers(): number { return Atomics.load(this.control, HELPED); }

  private ensureHelpers(count: number): void {
    this.source ??= helperSource(this.kernels as ChunkKernel<never>[], this.support);
    while (this.helpers.length < count) {
      const { port1, port2 } = new MessageChannel();
      const workerData = { control: this.control.buffer, args: this.args.buffer, error: this.errorText.buffer, port: port2, index: this.helpers.length };
      const worker = new Worker(this.source, { eval: true, workerData, transferList: [port2] });
      worker.unref();
      port1.unref();
      this.helpers.push({ worker, port: port1 });
    }
  }

  /** Gives `active` helpers the fit's shared arrays. */
  attach(shared: S, active: number): void {
    this.ensureHelpers(active);
    for (const h of this.helpers.slice(0, active)) h.port.postMessage(shared);
    this.run(ATTACH, 0, 0, 0, active, shared);
  }

  detach(active: number, shared: S): void { this.run(DETACH, 0, 0, 0, active, shared); }

  /** Runs pass `op` over rows [from, to) in `chunks` chunks on this thread and `active` helpers. */
  run(op: number, from: number, to: number, chunks: number, active: number, shared: S): void {
    const c = this.control;
    const control = op < 0;
    // every helper of the family wakes (they share one control block); only `active` of them work
    const waking = active > 0 && (control || chunks > 1) ? this.helpers.length : 0;
    c[OP] = op; c[FROM] = from; c[TO] = to; c[CHUNKS] = chunks; c[NEXT] = 0; c[PARTICIPANTS] = active;
    Atomics.store(c, DONE, 0);
    if (waking > 0) { Atomics.add(c, SEQ, 1); Atomics.notify(c, SEQ); }
    let failure: Error | undefined;
    try {
      if (!control) claimChunks(c, this.args, this.kernels as ChunkKernel<unknown>[], shared);
    } catch (err) {
      failure = err as Error; // thrown once the helpers are done with the pass, so the next one starts clean
    }
    const deadline = Date.now() + HELPER_TIMEOUT_MS;
    // spin first: a helper that is still on its last chunk is usually done within microseconds
    for (let i = 0; i < 20000 && Atomics.load(c, DONE) < waking; i++);
    for (let done = Atomics.load(c, DONE); done < waking; done = Atomics.load(c, DONE)) {
      Atomics.wait(c, DONE, done, 1000);
      if (Date.now() > deadline) throw new Error('a training helper thread stopped answering');
    }
    if (Atomics.exchange(c, FAILED, 0) === 1 && failure === undefined) {
      const text = new TextDecoder().decode(this.errorText.slice()).replace(/\0+$/, '');
      throw new Error(`a helper thread failed: ${text}`);
    }
    if (failure !== undefined) throw failure;
  }
}

/** One fit's shared arrays and the threads working on them. */
export class RowThreads<S> {
  private readonly active: number;

  /** Works on `threads` threads: this one and `threads - 1` helpers (see `threadsForRows`). */
  constructor(private readonly family: KernelFamily<S>, readonly s: S, threads: number) {
    this.active = Math.max(0, Math.min(threads, MAX_CHUNKS) - 1);
    if (this.active > 0) family.attach(s, this.active);
  }

  /** Runs pass `op` over rows [from, to); `args` go to every chunk. Returns the number of chunks. */
  run(op: number, from: number, to: number, ...args: number[]): number {
    const chunks = chunksFor(to - from);
    this.family.args.set(args);
    this.family.run(op, from, to, chunks, this.active, this.s);
    return chunks;
  }

  /** Runs pass `op` as `chunks` chunks of one item each (item c is chunk c), whatever their sizes. */
  runItems(op: number, chunks: number, ...args: number[]): void {
    this.family.args.set(args);
    this.family.run(op, 0, chunks, chunks, this.active, this.s);
  }

  /** Lets the helpers drop this fit's arrays. */
  release(): void { if (this.active > 0) this.family.detach(this.active, this.s); }
}

/** A SharedArrayBuffer of at least `bytes` (never empty, so views on it are valid). */
export const sharedBytes = (bytes: number) => new SharedArrayBuffer(Math.max(8, bytes));

export const sharedFloats = (length: number) => new Float64Array(sharedBytes(8 * length));

/** A column on shared memory, where the helper threads can read it (copied only if it is not). */
export function onSharedMemory(column: Float64Array): Float64Array {
  if (column.buffer instanceof SharedArrayBuffer) return column;
  const copy = sharedFloats(column.length);
  copy.set(column);
  return copy;
}
