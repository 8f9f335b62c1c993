/**
 * MLflow's proxied artifact service (`/api/2.0/mlflow-artifacts/artifacts/...`), over the platform's
 * content-addressed artifact store: an upload is stored by its sha256 and its path indexed; a download
 * reads the bytes back by digest (verified). A path must name an existing run or logged model of the
 * experiment it starts with, so a run of one experiment cannot be written through another's path.
 * Uploads are limited by MLOPS_MAX_UPLOAD.
 */
import type { Request } from 'express';
import { Pool } from 'pg';
import { ArtifactStore } from '../../store/artifacts';
import * as store from '../../store/mlflow';
import { ArtifactLocation, locate, segmentsOfEncoded, segmentsOfText } from './artifact-paths';
import { fieldsOf, invalid, missing, MlflowError, text } from './protocol';
import type { MlflowRoutes } from './routes';

export const ARTIFACTS_API = '/api/2.0/mlflow-artifacts/artifacts';

export interface ArtifactDeps {
  pool: Pool;
  artifacts: ArtifactStore;
  maxUploadBytes: number;
}

/** The location a request's path names, and its owner, checked to exist in that experiment (and, for writes, to be active). */
async function ownedLocation(pool: Pool, segments: string[], o: { writing: boolean }): Promise<ArtifactLocation> {
  const location = locate(segments);
  const owner = 'runId' in location.owner ? await store.getRunInfo(pool, location.owner.runId) : await store.getLoggedModel(pool, location.owner.modelId);
  const what = 'runId' in location.owner ? `run ${location.owner.runId}` : `logged model ${location.owner.modelId}`;
  if (!owner || owner.experimentId !== location.experimentId) throw missing(`${what} does not exist in experiment ${location.experimentId}`);
  if (o.writing && owner.lifecycleStage !== 'active') throw invalid(`${what} is deleted; restore it before writing to it`);
  return location;
}

/** The path after the service's prefix, as it arrived (still percent-encoded). */
function rawPath(req: Request): string {
  return req.path.slice(ARTIFACTS_API.length);
}

/**
 * Reads a whole request body, refusing it with a 413 as soon as it passes `limit` bytes (declared or
 * sent); the rest is read into nothing, so the client hears the refusal rather than a reset connection.
 */
function readBody(req: Request, limit: number): Promise<Buffer> {
  const tooLarge = () => new MlflowError('RESOURCE_EXHAUSTED', `the artifact is larger than this server accepts (MLOPS_MAX_UPLOAD: ${limit} bytes)`);
  return new Promise((resolve, reject) => {
    if (Number(req.get('content-length') ?? 0) > limit) { req.resume(); reject(tooLarge()); return; }
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    let ended = false;
    req.on('data', (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > limit) { refused = true; chunks.length = 0; reject(tooLarge()); return; }
      chunks.push(chunk);
    });
    req.once('end', () => { ended = true; if (!refused) resolve(Buffer.concat(chunks, size)); });
    req.once('error', (err) => reject(new MlflowError('MALFORMED_REQUEST', `the upload was cut off: ${err.message}`)));
    // a client gone mid-body: nothing else would settle the promise
    req.once('close', () => { if (!ended) reject(new MlflowError('MALFORMED_REQUEST', 'the upload was cut off')); });
  });
}

export function artifactRoutes(routes: MlflowRoutes, deps: ArtifactDeps): void {
  const { pool, artifacts } = deps;

  routes.add('put', `${ARTIFACTS_API}/*path`, 'scientist', async ({ req, actor }) => {
    const location = await ownedLocation(pool, segmentsOfEncoded(rawPath(req)), { writing: true });
    if (!location.relative) throw invalid('an upload names a file under the artifact folder, not the folder itself');
    const bytes = await readBody(req, deps.maxUploadBytes);
    const digest = await artifacts.put(bytes);
    await store.recordArtifact(pool, { path: location.path, owner: location.owner, digest, byteSize: bytes.length, uploadedBy: actor });
    return {};
  });

  routes.add('get', `${ARTIFACTS_API}/*path`, 'viewer', async ({ req, res }) => {
    const location = await ownedLocation(pool, segmentsOfEncoded(rawPath(req)), { writing: false });
    const entry = await store.getArtifact(pool, location.path);
    if (!entry) throw missing(`no artifact at ${location.path}`);
    const bytes = await artifacts.get(entry.digest);
    // bytes anyone logged: a browser must save them, never render them on the API's origin
    res.set({ 'content-type': 'application/octet-stream', 'content-disposition': 'attachment', 'x-content-type-options': 'nosniff', 'content-length': String(bytes.length) });
    res.end(bytes);
  });

  routes.add('get', ARTIFACTS_API, 'viewer', async ({ req }) => {
    const path = text(fieldsOf(req), 'path');
    if (!path) throw invalid('list the artifacts of a run or logged model: path=<experiment>/<run id>/artifacts[/folder]');
    const location = await ownedLocation(pool, segmentsOfText(path.replace(/\/$/, '')), { writing: false });
    const entries = await store.listArtifacts(pool, location.owner, location.path);
    // the folder's direct children: files, and folders that hold files further down
    const children = new Map<string, { path: string; is_dir: boolean; file_size?: number }>();
    for (const entry of entries) {
      const rest = entry.path.slice(location.path.length + 1);
      const slash = rest.indexOf('/');
      const name = slash < 0 ? rest : rest.slice(0, slash);
      if (!children.has(name)) children.set(name, slash < 0 ? { path: name, is_dir: false, file_size: entry.byteSize } : { path: name, is_dir: true });
    }
    return { files: [...children.values()] };
  });

  routes.add('delete', `${ARTIFACTS_API}/*path`, 'scientist', async ({ req }) => {
    const location = await ownedLocation(pool, segmentsOfEncoded(rawPath(req)), { writing: true });
    if ((await store.deleteArtifacts(pool, location.owner, location.path)) === 0) throw missing(`no artifact at ${location.path}`);
    return {};
  });
}
