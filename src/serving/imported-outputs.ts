/**
 * Reads what an imported graph answers into the platform's terms: class probabilities row-major in the
 * signature's class order (what evaluation, the smoke test and serving's statistics take, as they take
 * our own graphs' `probabilities`), the label the graph itself predicts when it has a label output, or
 * the predicted value of a regression.
 */
import type { ImportedSignature } from '../domain/model-version';
import type { Feeds } from './feeds';
import { checkImportedInstances, importedFeeds } from './imported-feeds';
import type { RawOutput, Session } from './onnx-runner';

/** One run's answer: row-major `values`, `width` per row (classes, or 1 for a value). */
export interface ImportedAnswer {
  values: Float32Array | Float64Array;
  width: number;
  /** The graph's own label per row, when it has a label output. */
  labels?: string[];
}

/** A row's answer as predict returns it (without the prediction id serving adds). */
export type ImportedPrediction = { label: string; probabilities: Record<string, number> } | { value: number };

function output(raw: Record<string, RawOutput>, name: string): RawOutput {
  const found = raw[name];
  if (!found) throw new Error(`the model gave no output "${name}"`);
  return found;
}

/** Labels of a label tensor as text: strings as they are, integers in decimal. */
export function labelsOf(tensor: RawOutput): string[] {
  const data = tensor.data as ArrayLike<unknown>;
  return Array.from(data, (v) => String(v));
}

/** Reads a run's outputs as the signature says. Throws when they are not the shape it recorded. */
export function readImportedOutputs(signature: ImportedSignature, raw: Record<string, RawOutput>, rows: number): ImportedAnswer {
  const reading = signature.outputs;
  if (reading.kind === 'regressor') {
    const tensor = output(raw, reading.value);
    if (tensor.data.length !== rows) throw new Error(`output "${reading.value}" has ${tensor.data.length} values for ${rows} rows`);
    return { values: Float64Array.from(tensor.data as Float32Array | Float64Array), width: 1 };
  }
  const tensor = output(raw, reading.probabilities);
  const width = signature.classes.length;
  if (tensor.data.length !== rows * width) throw new Error(`output "${reading.probabilities}" has ${tensor.data.length} values for ${rows} rows of ${width} classes`);
  const answer: ImportedAnswer = { values: tensor.data as Float32Array | Float64Array, width };
  if (reading.label) answer.labels = labelsOf(output(raw, reading.label));
  return answer;
}

/** Runs the feeds of `rows` rows and reads the answer. */
export function runImported(session: Session, signature: ImportedSignature, feeds: Feeds, rows: number): ImportedAnswer {
  return readImportedOutputs(signature, session.run(feeds), rows);
}

/**
 * Per row: the label (the graph's own when it has a label output, else the most probable class, ties
 * to the later class as in evaluation) with every class's probability, or the value.
 */
export function importedPredictions(signature: ImportedSignature, answer: ImportedAnswer): ImportedPrediction[] {
  const { values, width } = answer;
  const rows = values.length / width;
  if (signature.outputs.kind === 'regressor') return Array.from(values, (value) => ({ value }));
  const classes = signature.classes;
  const predictions: ImportedPrediction[] = [];
  for (let i = 0; i < rows; i++) {
    const probabilities: Record<string, number> = {};
    let best = 0;
    for (let k = 0; k < width; k++) {
      probabilities[classes[k]] = values[i * width + k];
      if (values[i * width + k] >= values[i * width + best]) best = k;
    }
    predictions.push({ label: answer.labels?.[i] ?? classes[best], probabilities });
  }
  return predictions;
}

/**
 * Outputs for JSON instances, row by row, in the smoke test's terms (class probabilities in signature
 * order, or [value]): what smoke.ts's runInstances answers for our own graphs.
 */
export function runImportedInstances(session: Session, signature: ImportedSignature, instances: unknown[]): number[][] {
  const data = checkImportedInstances(instances, signature, instances.length);
  const { values, width } = runImported(session, signature, importedFeeds(signature.inputs, data), data.rows);
  return Array.from({ length: data.rows }, (_, i) => Array.from(values.subarray(i * width, (i + 1) * width)));
}
