/**
 * MLflow's proxied artifact service (`/api/2.0/mlflow-artifacts/artifacts/...`), over the platform's
 * content-addressed artifact store: an upload is stored by its sha256 and its path indexed; a download
 * reads the bytes back by digest (verified). A path must name an existing run or logged model of the
 * experiment it starts with, so a run of one experiment cannot be written through another's path.
 * Uploads are limited by MLOPS_MAX_UPLOAD.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
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
 * Saves a request body to a temporary file (never held in memory: artifacts may be as large as
 * MLOPS_MAX_UPLOAD), refusing it with a 413 as soon as it passes `limit` bytes (declared or sent); the
 * rest is read into nothing, so the client hears the refusal rather than a reset connection.
 */
function saveBody(req: Request, limit: number, file: string): Promise<number> {
  const tooLarge = () => new MlflowError('RESOURCE_EXHAUSTED', `the artifact is larger than this server accepts (MLOPS_MAX_UPLOAD: ${limit} bytes)`);
  return new Promise((resolve, reject) => {
    if (Number(req.get('content-length') ?? 0) > limit) { req.resume(); reject(tooLarge()); return; }
    const out = createWriteStream(file, { mode: 0o600 });
    let size = 0;
    let settled = false;
    const fail = (err: Error) => { if (settled) return; settled = true; req.unpipe(out); req.resume(); out.destroy(); reject(err); };
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) fail(tooLarge());
    });
    out.once('finish', () => { if (!settled) { settled = true; resolve(size); } });
    out.once('error', (err) => fail(new MlflowError('INTERNAL_ERROR', `the upload could not be kept: ${err.message}`)));
    req.once('error', (err) => fail(new MlflowError('MALFORMED_REQUEST', `the upload was cut off: ${err.message}`)));
    // a client gone mid-body: nothing else would settle the promise
    req.once('close', () => { if (!req.complete) fail(new MlflowError('MALFORMED_REQUEST', 'the upload was cut off')); });
    req.pipe(out);
  });
}

export function artifactRoutes(routes: MlflowRoutes, deps: ArtifactDeps): void {
  const { pool, artifacts } = deps;

  routes.add('put', `${ARTIFACTS_API}/*path`, 'scientist', async ({ req, actor }) => {
    const location = await ownedLocation(pool, segmentsOfEncoded(rawPath(req)), { writing: true });
    if (!location.relative) throw invalid('an upload names a file under the artifact folder, not the folder itself');
    const file = path.join(os.tmpdir(), `mlops-artifact-${randomBytes(8).toString('hex')}`);
    try {
      const size = await saveBody(req, deps.maxUploadBytes, file);
      const digest = await artifacts.putFile(file);
      await store.recordArtifact(pool, { path: location.path, owner: location.owner, digest, byteSize: size, uploadedBy: actor });
    } finally {
      await fs.rm(file, { force: true });
    }
    return {};
  });

  routes.add('get', `${ARTIFACTS_API}/*path`, 'viewer', async ({ req, res }) => {
    const location = await ownedLocation(pool, segmentsOfEncoded(rawPath(req)), { writing: false });
    const entry = await store.getArtifact(pool, location.path);
    if (!entry) throw missing(`no artifact at ${location.path}`);
    // streamed from the store's file (verified against its digest), never read whole into memory
    const file = await artifacts.getFile(entry.digest);
    // bytes anyone logged: a browser must save them, never render them on the API's origin
    res.set({ 'content-type': 'application/octet-stream', 'content-disposition': 'attachment', 'x-content-type-options': 'nosniff', 'content-length': String((await fs.stat(file)).size) });
    await pipeline(createReadStream(file), res);
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
