/**
 * Runs concurrent predict requests for one model version as one inference. An ONNX run has a fixed cost
 * (about 15 µs here, run on the request thread: src/serving/onnx-runner.ts) that dwarfs a
 * linear model's per-row cost, so requests that arrive together share it: the first request opens a
 * batch, every request that arrives before it closes joins it, and the outputs are split back per request.
 *
 * The batch closes after `windowMs`, or with 0 (the default) at the end of the current event-loop turn:
 * then a request waits for nothing but the requests whose bytes were read in the same turn, so an idle
 * server answers as fast as without batching. A batch also closes when it holds `maxRows` rows.
 */
import { Feeds, feedsFor } from './feeds';
import type { Inputs } from './instances';

/** What a run returns: row-major outputs, `width` values per row. */
export interface Outputs { values: Float32Array | Float64Array; width: number }

interface Pending { inputs: Inputs; resolve(outputs: Outputs): void; reject(err: unknown): void }

export interface MicroBatchOptions {
  /** How long a batch stays open for more requests; 0: until the end of the current event-loop turn. */
  windowMs: number;
  /** Most rows in one run; 1 turns batching off. */
  maxRows: number;
}

export class MicroBatcher {
  private pending: Pending[] = [];
  private rows = 0;
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;

  constructor(private readonly runFeeds: (feeds: Feeds, rows: number) => Promise<Outputs>, private readonly o: MicroBatchOptions, private readonly onRun?: (rows: number) => void) {}

  run(inputs: Inputs): Promise<Outputs> {
    // a request as large as a batch runs alone; so does every request with batching off
    if (inputs.rows >= this.o.maxRows) return this.runAlone(inputs);
    if (this.rows + inputs.rows > this.o.maxRows) this.close();
    return new Promise<Outputs>((resolve, reject) => {
      this.pending.push({ inputs, resolve, reject });
      this.rows += inputs.rows;
      this.timer ??= this.o.windowMs > 0 ? setTimeout(() => this.close(), this.o.windowMs) : setImmediate(() => this.close());
    });
  }

  private runAlone(inputs: Inputs): Promise<Outputs> {
    return this.start(() => feedsFor(inputs.layout, inputs.rows, inputs.numeric, inputs.categorical), inputs.rows);
  }

  /** Makes the tensors and runs them; a tensor that cannot be made fails the promise, never the timer that called. */
  private start(feeds: () => Feeds, rows: number): Promise<Outputs> {
    let made: Feeds;
    try {
      made = feeds();
    } catch (err) {
      return Promise.reject(err);
    }
    this.onRun?.(rows);
    return this.runFeeds(made, rows);
  }

  /** Runs the open batch now. */
  private close(): void {
    if (this.timer !== undefined) {
      if (this.o.windowMs > 0) clearTimeout(this.timer as NodeJS.Timeout); else clearImmediate(this.timer as NodeJS.Immediate);
      this.timer = undefined;
    }
    const batch = this.pending;
    const rows = this.rows;
    this.pending = [];
    this.rows = 0;
    if (batch.length === 0) return;
    if (batch.length === 1) {
      this.runAlone(batch[0].inputs).then(batch[0].resolve, batch[0].reject);
      return;
    }
    this.start(() => joined(batch.map((p) => p.inputs), rows), rows).then(
      ({ values, width }) => {
        let row = 0;
        for (const p of batch) {
          p.resolve({ values: values.subarray(row * width, (row + p.inputs.rows) * width), width });
          row += p.inputs.rows;
        }
      },
      (err) => { for (const p of batch) p.reject(err); },
    );
  }
}

/** One set of input tensors holding every request's rows, in order. */
function joined(parts: Inputs[], rows: number): Feeds {
  const { layout } = parts[0];
  const numeric = new Float32Array(rows * layout.numeric.length);
  const categorical = layout.categorical.map(() => new Array<string>(rows));
  let row = 0;
  for (const part of parts) {
    numeric.set(part.numeric, row * layout.numeric.length);
    part.categorical.forEach((values, j) => { for (let i = 0; i < part.rows; i++) categorical[j][row + i] = values[i]; });
    row += part.rows;
  }
  return feedsFor(layout, rows, numeric, categorical);
}
