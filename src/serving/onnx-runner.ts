/**
 * Runs ONNX models through onnxruntime-node. Used by evaluation, the smoke test and serving.
 *
 * A session is onnxruntime-node's native session, used directly. The package's public InferenceSession
 * wraps the same synchronous native run in a setImmediate and a promise, so every ONNX run waited one
 * more event-loop turn. Without that turn, bench/serving_tail.ts measured a replica's median peak
 * 12–20% higher (bench/RESULTS.md, before and after). `onnxruntime-node/dist/binding` is typed but is not
 * the package's main entry, so the package is pinned to an exact version in package.json, and
 * test/onnx-runner.test.ts checks this path against the public one.
 */
import { Tensor } from 'onnxruntime-node';
import { Binding, binding, initOrt } from 'onnxruntime-node/dist/binding';
import { OUTPUT_NAME, REGRESSION_OUTPUT } from '../ml/onnx-export';
import type { Feeds } from './feeds';

/** Options every session is opened with: one thread each, since requests, not operators, are the parallel work. */
export const SESSION_OPTIONS = { graphOptimizationLevel: 'all', intraOpNumThreads: 1, interOpNumThreads: 1 } as const;

/** One output of a run: its values, shape and element type. */
export interface RawOutput { data: Tensor['data']; dims: readonly number[]; type: Tensor['type'] }

export class Session {
  private readonly native = new binding.InferenceSession();
  /** Every output, asked for by name (null: onnxruntime allocates it). */
  private readonly fetches: Record<string, null> = {};
  private readonly inputNames: string[];
  private released = false;

  /** `threads`: onnxruntime's threads within one run (1 unless the caller's work is one long stream of runs). */
  constructor(bytes: Uint8Array, threads = 1) {
    initOrt();
    this.native.loadModel(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength, { ...SESSION_OPTIONS, intraOpNumThreads: threads });
    for (const output of this.native.outputMetadata) this.fetches[output.name] = null;
    this.inputNames = this.native.inputMetadata.map((input) => input.name);
  }

  /** The graph's inputs as onnxruntime reads them (name, tensor or not, element type, shape with -1 where free). */
  get inputMetadata(): readonly Binding.ValueMetadata[] {
    return this.native.inputMetadata;
  }

  /** The graph's outputs, likewise: how an imported graph's answer is found. */
  get outputMetadata(): readonly Binding.ValueMetadata[] {
    return this.native.outputMetadata;
  }

  /** Runs now, on this thread, and answers before the caller's turn of the event loop ends. */
  run(feeds: Feeds): Record<string, RawOutput> {
    if (this.released) throw new Error('the ONNX session was released');
    // a file whose inputs are not the signature's says so by name, not with onnxruntime's internal error
    for (const name of this.inputNames) if (feeds[name] === undefined) throw new Error(`input '${name}' is missing in 'feeds'`);
    return this.native.run(feeds, this.fetches, {}) as unknown as Record<string, RawOutput>;
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    this.native.dispose();
  }
}

/** Opens a session on an ONNX file's bytes; a file onnxruntime cannot load is refused here. */
export async function createSession(bytes: Uint8Array, threads = 1): Promise<Session> {
  return new Session(bytes, threads);
}

/** Class probabilities, row-major [rows, classes]. */
export async function runClassifier(session: Session, feeds: Feeds): Promise<{ probabilities: Float32Array; classes: number }> {
  const tensor = session.run(feeds)[OUTPUT_NAME];
  return { probabilities: tensor.data as Float32Array, classes: Number(tensor.dims[1]) };
}

/** Predicted values of a regression model. */
export async function runRegressor(session: Session, feeds: Feeds): Promise<Float64Array> {
  return Float64Array.from(session.run(feeds)[REGRESSION_OUTPUT].data as Float32Array);
}
