/**
 * Registering an MLflow model version: find its files from the source the client names, read what they
 * are, keep the version, and hand an ONNX one to the platform's import (the seam in onnx-import.ts). The
 * MLflow status stays the client's to wait on: PENDING_REGISTRATION while the hand-over runs, READY once
 * the files are registered (approval is the platform's business, shown in status_message and the
 * `mlops.` tags), FAILED_REGISTRATION when the import could not start.
 */
import { Pool } from 'pg';
import { DomainError } from '../../domain/errors';
import { ArtifactStore } from '../../store/artifacts';
import * as store from '../../store/mlflow';
import { recordAudit } from '../../store/registry';
import { locateUri, LOGGED_MODEL_ID, modelArtifactRoot, RUN_ID, runArtifactRoot, segmentsOfText } from './artifact-paths';
import { inspectModelFiles, ModelFiles } from './model-files';
import { ImportOnnxVersion } from './onnx-import';
import { invalid, missing } from './protocol';

export interface RegistrationDeps {
  pool: Pool;
  artifacts: ArtifactStore;
  importOnnxVersion: ImportOnnxVersion;
  log?: (line: string) => void;
}

export interface VersionRequest {
  name: string;
  source: string;
  runId: string;
  modelId: string;
  description: string;
  tags: store.Tags;
  actor: string;
}

/** Where a source's files are in the path index (null: elsewhere), and the run and logged model it came from. */
interface ResolvedSource {
  folder: string | null;
  runId: string | null;
  modelId: string | null;
}

async function loggedModelFolder(pool: Pool, modelId: string): Promise<{ folder: string; runId: string | null }> {
  const model = await store.getLoggedModel(pool, modelId);
  if (!model) throw missing(`logged model ${modelId} does not exist`);
  return { folder: modelArtifactRoot(model.experimentId, model.modelId), runId: model.sourceRunId };
}

/** A percent-encoded part of a URI, decoded; malformed encoding is the client's error. */
function decoded(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw invalid(`"${part}" is not valid percent-encoding`);
  }
}

/** The registered version a `models:/<name>/<version>`, `models:/<name>/latest` or `models:/<name>@<alias>` URI names. */
async function registeredVersionOf(pool: Pool, uri: string): Promise<store.ModelVersionRecord | undefined> {
  const byAlias = /^models:\/([^/@]+)@([^/]+)\/?$/.exec(uri);
  if (byAlias) return store.getVersionByAlias(pool, decoded(byAlias[1]), decoded(byAlias[2]));
  const byNumber = /^models:\/([^/]+)\/([^/]+)\/?$/.exec(uri);
  if (!byNumber) return undefined;
  const name = decoded(byNumber[1]);
  if (byNumber[2] === 'latest') return store.latestModelVersion(pool, name);
  const version = Number(byNumber[2]);
  return Number.isInteger(version) && version >= 1 && version <= 2 ** 31 - 1 ? store.getModelVersion(pool, name, version) : undefined;
}

/**
 * `models:/<model id>` (a logged model, what log_model registers), `models:/<name>/<version|latest>` or
 * `models:/<name>@<alias>` (another registered version's files), `runs:/<run id>/<path>`,
 * `mlflow-artifacts:/...`, or anything else (kept, with its files elsewhere).
 */
async function resolveSource(pool: Pool, r: VersionRequest): Promise<ResolvedSource> {
  if (r.source.startsWith('models:/')) {
    const id = /^models:\/(m-[0-9a-f]{32})\/?$/.exec(r.source)?.[1];
    if (id && LOGGED_MODEL_ID.test(id)) {
      if (r.modelId && r.modelId !== id) throw invalid(`source ${r.source} and model_id ${r.modelId} name different logged models`);
      const { folder, runId } = await loggedModelFolder(pool, id);
      return { folder, runId: r.runId || runId, modelId: id };
    }
    const from = await registeredVersionOf(pool, r.source);
    if (!from) throw missing(`source ${r.source} names no logged model or registered model version`);
    return { folder: from.storagePath, runId: r.runId || from.runId, modelId: r.modelId || from.modelId };
  }
  const runs = /^runs:\/([^/]+)\/(.+)$/.exec(r.source);
  if (runs) {
    if (!RUN_ID.test(runs[1])) throw missing(`run ${runs[1]} does not exist`);
    const run = await store.getRunInfo(pool, runs[1]);
    if (!run) throw missing(`run ${runs[1]} does not exist`);
    const folder = `${runArtifactRoot(run.experimentId, run.runId)}/${segmentsOfText(runs[2].replace(/\/$/, '')).join('/')}`;
    return { folder, runId: r.runId || run.runId, modelId: r.modelId || null };
  }
  const location = locateUri(r.source);
  if (location) {
    const owner = 'runId' in location.owner ? await store.getRunInfo(pool, location.owner.runId) : await store.getLoggedModel(pool, location.owner.modelId);
    if (!owner || owner.experimentId !== location.experimentId) throw missing(`source ${r.source} names no run or logged model of experiment ${location.experimentId}`);
    const runId = 'runId' in location.owner ? location.owner.runId : (owner as store.LoggedModel).sourceRunId;
    const modelId = 'modelId' in location.owner ? location.owner.modelId : null;
    return { folder: location.path, runId: r.runId || runId, modelId: r.modelId || modelId };
  }
  return { folder: null, runId: r.runId || null, modelId: r.modelId || null };
}

/** Registers a version of an existing registered model; an ONNX one is handed to the import, once. */
export async function registerVersion(deps: RegistrationDeps, r: VersionRequest): Promise<store.ModelVersionRecord> {
  const { pool } = deps;
  if (!(await store.getRegisteredModel(pool, r.name))) throw missing(`registered model "${r.name}" does not exist`);
  if (r.runId && (!RUN_ID.test(r.runId) || !(await store.getRunInfo(pool, r.runId)))) throw missing(`run ${r.runId} does not exist`);
  if (r.modelId && !(await store.getLoggedModel(pool, r.modelId))) throw missing(`logged model ${r.modelId} does not exist`);
  const source = await resolveSource(pool, r);
  const files: ModelFiles = source.folder
    ? await inspectModelFiles(pool, deps.artifacts, source.folder)
    : { kind: 'other', flavors: [], reason: `its files are at ${r.source.split(':')[0]}:..., outside the platform's artifact store` };

  const created = await store.createModelVersion(pool, {
    name: r.name, source: r.source, runId: source.runId, modelId: source.modelId, storagePath: source.folder, description: r.description, tags: r.tags,
    status: files.kind === 'onnx' ? 'PENDING_REGISTRATION' : 'READY',
    flavors: files.flavors,
    onnxDigest: files.kind === 'onnx' ? files.onnxDigest : null,
    platformState: files.kind === 'onnx' ? 'import_requested' : 'not_deployable',
    platformReason: files.kind === 'onnx' ? null : files.reason,
    createdBy: r.actor,
  });
  const subject = `mlflow:${r.name}@${created.version}`;
  if (files.kind !== 'onnx') {
    await recordAudit(pool, { actor: r.actor, action: 'mlflow.version_registered', subject, details: { source: r.source, flavors: files.flavors, deployable: false, reason: files.reason } });
    return created;
  }

  // the real import workflow is plugged in here by the composition root (src/stack/runtime.ts)
  let settled: store.ModelVersionRecord;
  try {
    const { workflowId } = await deps.importOnnxVersion({ model: r.name, onnxDigest: files.onnxDigest, mlflowRunId: source.runId ?? undefined, uploadedBy: r.actor });
    settled = await store.settleModelVersionImport(pool, r.name, created.version, { status: 'READY', state: 'import_requested', reason: null, workflowId });
  } catch (err) {
    // a refusal of the import's own is the client's to read; anything else stays in the server's log
    const reason = err instanceof DomainError ? err.message : 'internal error (see the server log)';
    deps.log?.(`mlflow: the ONNX import of ${subject} could not start: ${(err as Error)?.stack ?? String(err)}`);
    settled = await store.settleModelVersionImport(pool, r.name, created.version, { status: 'FAILED_REGISTRATION', state: 'import_failed', reason, workflowId: null });
  }
  await recordAudit(pool, {
    actor: r.actor, action: 'mlflow.version_registered', subject,
    details: { source: r.source, flavors: files.flavors, onnxDigest: files.onnxDigest, importWorkflowId: settled.platform.importWorkflowId, importError: settled.platform.state === 'import_failed' ? settled.platform.reason : null },
  });
  return settled;
}
