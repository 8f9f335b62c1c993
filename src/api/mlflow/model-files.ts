/**
 * What a registered MLflow model folder holds, read from its `MLmodel` file (YAML): its flavours, and for
 * the ONNX flavour the ONNX file it names (by the digest the path index gives it). The platform serves
 * ONNX only; anything else is kept with the reason it cannot be deployed.
 */
import { Pool } from 'pg';
import { parse } from 'yaml';
import { ArtifactStore } from '../../store/artifacts';
import { getArtifact } from '../../store/mlflow';
import { segmentsOfText } from './artifact-paths';
import { MlflowError } from './protocol';

/** An MLmodel file is a few kilobytes; past this it is not one. */
const MAX_MLMODEL_BYTES = 1024 * 1024;
/** What a flavour's name looks like (`onnx`, `python_function`, `sklearn`, ...). */
const FLAVOR_NAME = /^[\w.-]{1,100}$/;

/** Text from an uploaded file, fit to quote in a reason: no control characters (PostgreSQL text holds no NUL), not too long. */
function quoted(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what this replaces
  const clean = text.replace(/[\u0000-\u001f\u007f]/g, '?');
  return clean.length > 200 ? `${clean.slice(0, 200)}...` : clean;
}

export type ModelFiles =
  | { kind: 'onnx'; flavors: string[]; onnxPath: string; onnxDigest: string }
  | { kind: 'other'; flavors: string[]; reason: string };

function readFlavors(text: string): Record<string, unknown> {
  let doc: unknown;
  try {
    // few aliases: a YAML bomb of nested aliases would otherwise expand without bound
    doc = parse(text, { maxAliasCount: 20, uniqueKeys: true });
  } catch (err) {
    throw new Error(`the MLmodel file is not valid YAML: ${quoted((err as Error).message.split('\n')[0])}`);
  }
  const flavors = (doc as { flavors?: unknown } | null)?.flavors;
  if (!flavors || typeof flavors !== 'object' || Array.isArray(flavors)) throw new Error('the MLmodel file lists no flavors');
  return flavors as Record<string, unknown>;
}

/** Reads the model folder at `folder` (an mlflow_artifacts path) and says what the platform can do with it. */
export async function inspectModelFiles(pool: Pool, artifacts: ArtifactStore, folder: string): Promise<ModelFiles> {
  const mlmodel = await getArtifact(pool, `${folder}/MLmodel`);
  if (!mlmodel) return { kind: 'other', flavors: [], reason: `there is no MLmodel file in ${folder}` };
  if (mlmodel.byteSize > MAX_MLMODEL_BYTES) return { kind: 'other', flavors: [], reason: 'its MLmodel file is larger than 1 MB' };
  let flavors: Record<string, unknown>;
  try {
    flavors = readFlavors((await artifacts.get(mlmodel.digest)).toString('utf8'));
  } catch (err) {
    return { kind: 'other', flavors: [], reason: (err as Error).message };
  }
  const names = Object.keys(flavors).filter((name) => FLAVOR_NAME.test(name)).sort();
  const onnx = flavors.onnx as { data?: unknown } | undefined;
  if (!onnx) {
    return { kind: 'other', flavors: names, reason: `the platform serves ONNX models only; this one's flavors are ${names.join(', ') || 'none'} (log it with mlflow.onnx.log_model to deploy it here)` };
  }
  const data = typeof onnx.data === 'string' && onnx.data !== '' ? onnx.data : 'model.onnx';
  let onnxPath: string;
  try {
    onnxPath = `${folder}/${segmentsOfText(data).join('/')}`;
  } catch (err) {
    return { kind: 'other', flavors: names, reason: `the ONNX flavour names its file as "${quoted(data)}": ${err instanceof MlflowError ? quoted(err.message) : 'not a relative path'}` };
  }
  const file = await getArtifact(pool, onnxPath);
  if (!file) return { kind: 'other', flavors: names, reason: `the ONNX flavour names ${quoted(data)}, which was not uploaded with the model` };
  return { kind: 'onnx', flavors: names, onnxPath, onnxDigest: file.digest };
}
