/**
 * Training runs in a worker thread: it is CPU-bound for seconds to hours, and on the main thread it
 * would starve the event loop, so heartbeats would not leave and workflow tasks would stall.
 * The thread gets the dataset bytes and the recipe, posts each scored candidate, then the ONNX bytes.
 */
import path from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { parseCsv } from '../ml/csv';
import { SearchCandidate, trainLogistic } from '../ml/logistic';
import { exportLogisticToOnnx } from '../ml/onnx-export';
import { prepareBinaryData } from '../ml/prepare';

export interface TrainingJob {
  csv: Uint8Array;
  target: string;
  features: string[];
  positiveClass?: string;
  seed: number;
  l2Grid: number[];
  done: SearchCandidate[];
}

export interface TrainingOutcome {
  onnx: Uint8Array;
  classes: [string, string];
  l2: number;
  search: SearchCandidate[];
  rows: { train: number; validation: number; test: number };
}

type Message = { type: 'candidate'; all: SearchCandidate[] } | { type: 'iteration' } | { type: 'result'; outcome: TrainingOutcome };

function runJob(job: TrainingJob, post: (m: Message) => void): void {
  const table = parseCsv(Buffer.from(job.csv).toString('utf8'));
  const data = prepareBinaryData(table, job);
  let lastIterationPost = 0;
  const result = trainLogistic(data.x.train, data.y.train, data.x.validation, data.y.validation, {
    features: data.features,
    classes: data.classes,
    l2Grid: job.l2Grid,
    done: job.done,
    onCandidate: (_c, all) => post({ type: 'candidate', all }),
    onIteration: () => {
      const now = Date.now();
      if (now - lastIterationPost > 1000) { lastIterationPost = now; post({ type: 'iteration' }); }
    },
  });
  post({
    type: 'result',
    outcome: {
      onnx: exportLogisticToOnnx(result.model),
      classes: data.classes,
      l2: result.model.l2,
      search: result.search,
      rows: { train: data.split.train.length, validation: data.split.validation.length, test: data.split.test.length },
    },
  });
}

/**
 * Trains in a new thread. `onProgress` gets every candidate list and periodic liveness ticks;
 * aborting the signal terminates the thread.
 */
export function trainInThread(job: TrainingJob, onProgress: (scored: SearchCandidate[] | undefined) => void, signal?: AbortSignal): Promise<TrainingOutcome> {
  return new Promise((resolve, reject) => {
    const file = path.join(__dirname, `training-thread${path.extname(__filename)}`);
    // From TypeScript sources (tests, dev), the thread needs tsx's loader registered in it too.
    const thread = file.endsWith('.ts')
      ? new Worker(`require('tsx/cjs'); require(${JSON.stringify(file)});`, { eval: true, workerData: job })
      : new Worker(file, { workerData: job });
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
