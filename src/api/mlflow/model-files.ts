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

export type ModelFiles =
  | { kind: 'onnx'; flavors: string[]; onnxPath: string; onnxDigest: string }
  | { kind: 'other'; flavors: string[]; reason: string };

function readFlavors(text: string): Record<string, unknown> {
  let doc: unknown;
  try {
    // few aliases: a YAML bomb of nested aliases would otherwise expand without bound
    doc = parse(text, { maxAliasCount: 20, uniqueKeys: true });
  } catch (err) {
    throw new Error(`the MLmodel file is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
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
  const names = Object.keys(flavors).sort();
  const onnx = flavors.onnx as { data?: unknown } | undefined;
  if (!onnx) {
    return { kind: 'other', flavors: names, reason: `the platform serves ONNX models only; this one's flavors are ${names.join(', ') || 'none'} (log it with mlflow.onnx.log_model to deploy it here)` };
  }
  const data = typeof onnx.data === 'string' && onnx.data !== '' ? onnx.data : 'model.onnx';
  let onnxPath: string;
  try {
    onnxPath = `${folder}/${segmentsOfText(data).join('/')}`;
  } catch (err) {
    return { kind: 'other', flavors: names, reason: `the ONNX flavour names its file as "${data}": ${err instanceof MlflowError ? err.message : 'not a relative path'}` };
  }
  const file = await getArtifact(pool, onnxPath);
  if (!file) return { kind: 'other', flavors: names, reason: `the ONNX flavour names ${data}, which was not uploaded with the model` };
  return { kind: 'onnx', flavors: names, onnxPath, onnxDigest: file.digest };
}
