/**
 * The smoke test every version passes before it takes traffic (TFX's InfraValidator, built in): a few
 * rows of its own test split, sent as JSON instances exactly as clients send them, must come back with
 * the outputs evaluation saw. A file that does not load, takes other inputs, or answers differently
 * (corrupt, wrong opset, wrong input names) never serves.
 */
import { cellText, getColumn, Table } from '../ml/table';
import type { ArtifactStore } from '../store/artifacts';
import type { ModelSignature } from '../domain/model-version';
import { layoutOf } from './feeds';
import { instancesToFeeds } from './instances';
import { createSession, runClassifier, runRegressor, Session } from './onnx-runner';
import { isImported } from '../domain/model-version';
import { runImportedInstances } from './imported-outputs';

export interface SmokeSample {
  instances: Record<string, number | string | null>[];
  /** Per instance: class probabilities in signature order, or [value]. */
  outputs: number[][];
}

/** Rows used for the smoke test. */
export const SMOKE_ROWS = 20;
const TOLERANCE = 1e-4;

/** Outputs of a session for JSON instances, row by row. */
export async function runInstances(session: Session, signature: ModelSignature, instances: unknown[]): Promise<number[][]> {
  if (isImported(signature)) return runImportedInstances(session, signature, instances);
  const feeds = instancesToFeeds(instances, signature, instances.length).feeds;
  if (signature.task === 'regression') return Array.from(await runRegressor(session, feeds), (v) => [v]);
  const { probabilities, classes } = await runClassifier(session, feeds);
  return instances.map((_, i) => Array.from(probabilities.subarray(i * classes, (i + 1) * classes)));
}

/** Picks the first test rows as instances and records what the ONNX file answers for them. */
export async function buildSmokeSample(bytes: Uint8Array, signature: ModelSignature, table: Table, rows: ArrayLike<number>): Promise<SmokeSample> {
  const layout = layoutOf(signature);
  const picked = Array.from(rows).slice(0, SMOKE_ROWS);
  const instances = picked.map((r) => {
    const instance: Record<string, number | string | null> = {};
    for (const name of layout.numeric) {
      const column = getColumn(table, name)!;
      const v = column.kind === 'number' ? column.values[r] : Number(cellText(column, r));
      instance[name] = Number.isFinite(v) ? v : null;
    }
    for (const name of layout.categorical) instance[name] = cellText(getColumn(table, name)!, r);
    return instance;
  });
  return smokeSampleOf(bytes, signature, instances);
}

/** These instances and what the ONNX file answers for them. */
export async function smokeSampleOf(bytes: Uint8Array, signature: ModelSignature, instances: Record<string, number | string | null>[]): Promise<SmokeSample> {
  const session = await createSession(bytes);
  try {
    return { instances, outputs: await runInstances(session, signature, instances) };
  } finally {
    await session.release();
  }
}

/**
 * Opens a version's ONNX file and smoke-tests it: the session when it passes (the caller owns it), else
 * why not. Used by each serving replica before routing to a version, and by rollouts before they start.
 */
export async function openTested(artifacts: Pick<ArtifactStore, 'get'>, v: { onnxDigest: string; smokeDigest?: string | null; signature: ModelSignature }): Promise<{ session: Session; sample?: SmokeSample } | { problem: string }> {
  let session: Session;
  try {
    session = await createSession(await artifacts.get(v.onnxDigest));
  } catch (err) {
    return { problem: `its ONNX file does not load: ${(err as Error).message.split('\n')[0]}` };
  }
  let sample: SmokeSample | undefined;
  try {
    sample = v.smokeDigest ? JSON.parse((await artifacts.get(v.smokeDigest)).toString('utf8')) as SmokeSample : undefined;
  } catch (err) {
    await session.release();
    return { problem: `its smoke-test rows cannot be read: ${(err as Error).message}` };
  }
  const problem = await smokeProblem(session, v.signature, sample);
  if (problem) { await session.release(); return { problem }; }
  return { session, sample };
}

/** Why the session fails the smoke test, or undefined when it passes. */
export async function smokeProblem(session: Session, signature: ModelSignature, sample: SmokeSample | undefined): Promise<string | undefined> {
  if (!sample) return undefined;
  let outputs: number[][];
  try {
    outputs = await runInstances(session, signature, sample.instances);
  } catch (err) {
    return `it cannot answer its own test rows: ${(err as Error).message.split('\n')[0]}`;
  }
  for (let i = 0; i < sample.outputs.length; i++) {
    for (let k = 0; k < sample.outputs[i].length; k++) {
      const [got, want] = [outputs[i]?.[k], sample.outputs[i][k]];
      if (!(Math.abs(got - want) <= TOLERANCE * Math.max(1, Math.abs(want)))) return `row ${i} output ${k} is ${got}; evaluation saw ${want}`;
    }
  }
  return undefined;
}
