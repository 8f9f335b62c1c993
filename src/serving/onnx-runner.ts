/** Runs ONNX classifiers through onnxruntime-node. Used both by evaluation and by serving. */
import * as ort from 'onnxruntime-node';
import { OUTPUT_NAME, REGRESSION_OUTPUT } from '../ml/onnx-export';
import type { Feeds } from './feeds';

export type Session = ort.InferenceSession;

export function createSession(bytes: Uint8Array): Promise<Session> {
  return ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', intraOpNumThreads: 1, interOpNumThreads: 1 });
}

/** Class probabilities, row-major [rows, classes]. */
export async function runClassifier(session: Session, feeds: Feeds): Promise<{ probabilities: Float32Array; classes: number }> {
  const out = await session.run(feeds);
  const tensor = out[OUTPUT_NAME];
  return { probabilities: tensor.data as Float32Array, classes: Number(tensor.dims[1]) };
}

/** Predicted values of a regression model. */
export async function runRegressor(session: Session, feeds: Feeds): Promise<Float64Array> {
  const out = await session.run(feeds);
  return Float64Array.from(out[REGRESSION_OUTPUT].data as Float32Array);
}
