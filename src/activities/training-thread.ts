/**
 * Training runs in a worker thread: it is CPU-bound for seconds to hours, and on the main thread it
 * would starve the event loop, so heartbeats would not leave and workflow tasks would stall.
 * The thread gets the dataset's columns (their buffers moved, not copied) and the recipe, posts each
 * scored candidate, then the ONNX bytes.
 */
import path from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { FamilyParams, fitToOnnx, ModelKind } from '../ml/families';
import { PreparedData, prepareData } from '../ml/prepare';
import { createRng, shuffleInPlace } from '../ml/random';
import { FittedRecipe, RecipeSpec } from '../ml/recipe';
import { SearchCandidate, SearchOptions } from '../ml/search';
import { Task } from '../ml/task';
import type { Table } from '../ml/table';

export interface TrainingJob {
  /** The columns the fit reads (all of them when the recipe derives features). */
  table: Table;
  task: Task;
  kind: ModelKind;
  target: string;
  numeric: string[];
  categorical: string[];
  recipe?: RecipeSpec;
  positiveClass?: string;
  seed: number;
  l2Grid: number[];
  done: SearchCandidate[];
  /** Share of the training rows to fit on (a seeded subset), for the cheap early rungs of a search. */
  fraction?: number;
  /** Settings of the family (MLP: hidden sizes, epochs, ...; gbdt: rounds, leaves, ...). */
  modelParams?: FamilyParams;
}

export interface TrainingOutcome {
  onnx: Uint8Array;
  /** Class labels in output order; empty for regression. */
  classes: string[];
  recipe: FittedRecipe;
  l2: number;
  search: SearchCandidate[];
  rows: { train: number; validation: number; test: number };
}

type Message = { type: 'candidate'; all: SearchCandidate[] } | { type: 'iteration' } | { type: 'result'; outcome: TrainingOutcome };

/** Fits the job's model family on its split and encodes the winner as ONNX. */
export function runJob(job: TrainingJob, post: (m: Message) => void): void {
  const data = prepareData(job.table, job);
  let lastIterationPost = 0;
  const search: SearchOptions = {
    l2Grid: job.l2Grid,
    done: job.done,
    onCandidate: (_c, all) => post({ type: 'candidate', all }),
    onIteration: () => {
      const now = Date.now();
      if (now - lastIterationPost > 1000) { lastIterationPost = now; post({ type: 'iteration' }); }
    },
  };
  const { features, classes } = data;
  const { x, y } = job.fraction !== undefined && job.fraction < 1 ? subsample(data, job.fraction, job.seed) : data;
  const fitted = fitToOnnx(job.kind, { task: job.task, features, classes, x, y, seed: job.seed, search }, job.modelParams, data.recipe);
  post({
    type: 'result',
    outcome: { ...fitted, classes, recipe: data.recipe, rows: { train: data.split.train.length, validation: data.split.validation.length, test: data.split.test.length } },
  });
}

/** A seeded subset of the training rows (validation rows untouched), so trials score comparably. */
function subsample(data: PreparedData, fraction: number, seed: number): Pick<PreparedData, 'x' | 'y'> {
  const n = data.y.train.length;
  const keep = Math.max(2, Math.ceil(n * fraction));
  const order = Int32Array.from({ length: n }, (_, i) => i);
  shuffleInPlace(order, createRng(seed ^ 0x5eed));
  const rows = order.subarray(0, keep).sort();
  return {
    x: { ...data.x, train: data.x.train.map((col) => Float64Array.from(rows, (r) => col[r])) },
    y: { ...data.y, train: Float64Array.from(rows, (r) => data.y.train[r]) },
  };
}

/**
 * Trains in a new thread. `onProgress` gets every candidate list and periodic liveness ticks;
 * aborting the signal terminates the thread.
 */
export function trainInThread(job: TrainingJob, onProgress: (scored: SearchCandidate[] | undefined) => void, signal?: AbortSignal): Promise<TrainingOutcome> {
  return new Promise((resolve, reject) => {
    const file = path.join(__dirname, `training-thread${path.extname(__filename)}`);
    // From TypeScript sources (tests, dev), the thread needs tsx's loader registered in it too.
    // the columns move to the thread: the caller does not read them again, and a copy of 10M rows would double the memory
    const transferList = [...new Set(job.table.columns.map((c) => (c.kind === 'number' ? c.values.buffer : c.codes.buffer)))] as ArrayBuffer[];
    const thread = file.endsWith('.ts')
      ? new Worker(`require('tsx/cjs'); require(${JSON.stringify(file)});`, { eval: true, workerData: job, transferList })
      : new Worker(file, { workerData: job, transferList });
    const abort = () => { void thread.terminate(); reject(signal?.reason ?? new Error('training cancelled')); };
    signal?.addEventListener('abort', abort, { once: true });
    let settled = false;
    thread.on('message', (m: Message) => {
      if (m.type === 'candidate') onProgress(m.all);
      else if (m.type === 'iteration') onProgress(undefined);
      else { settled = true; resolve(m.outcome); void thread.terminate(); }
    });
    thread.on('error', (err) => { settled = true; reject(err); });
    thread.on('exit', (code) => {
      signal?.removeEventListener('abort', abort);
      if (!settled) reject(new Error(`the training thread exited with code ${code}`));
    });
  });
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  runJob(workerData as TrainingJob, (m) => port.postMessage(m));
}
