/** Runs ONNX classifiers through onnxruntime-node. Used both by evaluation and by serving. */
import * as ort from 'onnxruntime-node';
import { Matrix } from '../ml/features';
import { INPUT_NAME, OUTPUT_NAME, REGRESSION_OUTPUT } from '../ml/onnx-export';

export type Session = ort.InferenceSession;

export function createSession(bytes: Uint8Array): Promise<Session> {
  return ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', intraOpNumThreads: 1, interOpNumThreads: 1 });
}

/** Class probabilities, row-major [rows, classes]. */
export async function runClassifier(session: Session, x: { rows: number; cols: number; data: Float32Array }): Promise<{ probabilities: Float32Array; classes: number }> {
  const input = new ort.Tensor('float32', x.data, [x.rows, x.cols]);
  const out = await session.run({ [INPUT_NAME]: input });
  const tensor = out[OUTPUT_NAME];
  return { probabilities: tensor.data as Float32Array, classes: Number(tensor.dims[1]) };
}

/** Positive-class probability for each row of a float64 matrix (binary models). */
export async function positiveProbabilities(session: Session, x: Matrix): Promise<Float64Array> {
  const { probabilities, classes } = await runClassifier(session, { rows: x.rows, cols: x.cols, data: Float32Array.from(x.data) });
  const out = new Float64Array(x.rows);
  for (let i = 0; i < x.rows; i++) out[i] = probabilities[i * classes + classes - 1];
  return out;
}

/** Predicted values of a regression model for each row of a float64 matrix. */
export async function runRegressor(session: Session, x: Matrix): Promise<Float64Array> {
  const out = await session.run({ [INPUT_NAME]: new ort.Tensor('float32', Float32Array.from(x.data), [x.rows, x.cols]) });
  return Float64Array.from(out[REGRESSION_OUTPUT].data as Float32Array);
}
