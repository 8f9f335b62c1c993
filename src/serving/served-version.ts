/**
 * One model version ready to answer: its ONNX session (smoke-tested), how a request's rows are checked
 * and run, and how its outputs become the predict answer. The platform's ModelServer holds these per
 * routed version; a bundle server (src/bundle/) holds one. Both answer through the same code here, so a
 * version answers the same rows with the same predictions wherever it runs.
 */
import { v7 as timeOrderedId } from 'uuid';
import type { ModelSignature } from '../domain/model-version';
import { isImported } from '../domain/model-version';
import type { ArtifactStore } from '../store/artifacts';
import type { Feeds } from './feeds';
import { checkImportedInstances, importedFeeds } from './imported-feeds';
import { runImported } from './imported-outputs';
import { checkInstances } from './instances';
import { MicroBatcher, MicroBatchOptions, Outputs } from './micro-batcher';
import { runClassifier, runRegressor, Session } from './onnx-runner';
import { openTested, SmokeSample } from './smoke';

export interface ServedVersion {
  name: string;
  version: number;
  digest: string;
  signature: ModelSignature;
  session: Session;
  /** Runs this version's requests, joining concurrent ones into one inference. */
  batcher: MicroBatcher;
  /** Checks a request's rows against the signature (a 400 when they do not fit) and returns how to run them. */
  prepare(instances: unknown): { rows: number; run(): Promise<Outputs> };
  smoke?: SmokeSample;
}

/** A classifier's answer (label and class probabilities) or a regressor's (value), with its id for feedback. */
export type Prediction = { id: string; label: string; probabilities: Record<string, number> } | { id: string; value: number };

/** One inference: a classifier's class probabilities, or a regressor's values. */
async function run(signature: ModelSignature, session: Session, feeds: Feeds): Promise<Outputs> {
  if (signature.task === 'regression') return { values: await runRegressor(session, feeds), width: 1 };
  const { probabilities, classes } = await runClassifier(session, feeds);
  return { values: probabilities, width: classes };
}

export interface ServeOptions {
  maxBatch: number;
  microBatch: MicroBatchOptions;
  /** Told the rows of every ONNX run (metrics). */
  onRun?: (served: ServedVersion, rows: number) => void;
}

/**
 * Opens a version's ONNX file from `artifacts` and smoke-tests it (src/serving/smoke.ts): the version
 * ready to answer (the caller owns its session), or why it cannot serve.
 */
export async function openServedVersion(
  artifacts: Pick<ArtifactStore, 'get'>,
  v: { modelName: string; version: number; onnxDigest: string; smokeDigest?: string | null; signature: ModelSignature },
  o: ServeOptions,
): Promise<ServedVersion | { problem: string }> {
  const opened = await openTested(artifacts, v);
  if ('problem' in opened) return opened;
  const { maxBatch } = o;
  const signature = v.signature;
  const served: ServedVersion = {
    name: v.modelName, version: v.version, digest: v.onnxDigest, signature, session: opened.session, smoke: opened.sample,
    batcher: new MicroBatcher((feeds) => run(signature, opened.session, feeds), o.microBatch, (rows) => o.onRun?.(served, rows)),
    prepare: isImported(signature)
      // a model trained elsewhere: its own inputs and outputs (src/serving/imported-*.ts), one inference per request
      ? (instances) => {
        const data = checkImportedInstances(instances, { inputs: signature.inputs, unused: signature.unused }, maxBatch);
        return { rows: data.rows, run: async () => runImported(opened.session, signature, importedFeeds(signature.inputs, data), data.rows) };
      }
      : (instances) => {
        const inputs = checkInstances(instances, signature, maxBatch);
        return { rows: inputs.rows, run: () => served.batcher.run(inputs) };
      },
  };
  return served;
}

/** The answer rows of one run: labels with class probabilities, or values; each with a fresh id. */
export function formatPredictions(signature: ModelSignature, outputs: Float32Array | Float64Array, width: number, rows: number): Prediction[] {
  const predictions: Prediction[] = [];
  if (signature.task === 'regression') {
    for (let i = 0; i < rows; i++) predictions.push({ id: timeOrderedId(), value: outputs[i] });
    return predictions;
  }
  const labels = signature.classes;
  for (let i = 0; i < rows; i++) {
    const probs: Record<string, number> = {};
    let best = 0;
    for (let k = 0; k < width; k++) {
      probs[labels[k]] = outputs[i * width + k];
      if (outputs[i * width + k] >= outputs[i * width + best]) best = k; // ties go to the later class, as in evaluation
    }
    predictions.push({ id: timeOrderedId(), label: labels[best], probabilities: probs });
  }
  return predictions;
}
