/**
 * Routes that bring data in without handing anyone the server's disk or network:
 *   POST /v1/datasets           a scientist uploads a file in any registered format (streamed to a
 *                               temporary file, at most MLOPS_MAX_UPLOAD) and gets a dataset version id
 *                               to train on;
 *   PUT|GET|DELETE /v1/connections[/:name]
 *                               an admin registers PostgreSQL connections by name; their URLs are
 *                               sealed at rest and never returned, and one that reaches the
 *                               platform's own database is refused.
 */
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Request } from 'express';
import { Pool } from 'pg';
import { z } from 'zod';
import { ApiError } from '../errors';
import { checkConnection, PostgresSourceError } from '../ingest/postgres-source';
import { fileBytes } from '../ingest/byte-source';
import { DataFormat, findFormat, FORMAT_NAMES, FORMATS, formatOfMediaType, unknownFormat } from '../ingest/formats';
import { DataFormatError } from '../ml/table';
import { ArtifactStore } from '../store/artifacts';
import { CONNECTION_NAME, deleteConnection, getConnection, listConnections, putConnection, SecretsKeys } from '../store/connections';
import { storeDatasetTable } from '../store/datasets';
import * as registry from '../store/registry';
import { actorOf, SecuredRoutes } from './access';
import { namedParam, route } from './http';
import { parseBody } from './pipeline-requests';

export const connectionRequestSchema = z.strictObject({
  url: z.string().max(4096).regex(/^postgres(ql)?:\/\//i, 'a PostgreSQL URL: postgres://user:password@host:5432/database'),
});

/** The content types uploads are recognised by, with their formats, as a refusal lists them. */
const KNOWN_TYPES = FORMATS.flatMap((f) => (f.mediaTypes.length ? [`${f.mediaTypes[0]} (${f.name})`] : [])).join(', ');

/** The upload's format: `?format=`, else its content type. */
function uploadFormat(req: Request): DataFormat {
  const asked = req.query.format;
  if (asked !== undefined) {
    const named = findFormat(asked);
    if (named) return named;
    throw new ApiError('invalid_request', unknownFormat(asked));
  }
  const type = req.get('content-type') ?? '';
  const format = formatOfMediaType(type);
  if (format) return format;
  throw new ApiError('invalid_request', `send the data as ${KNOWN_TYPES}, or say ?format=${FORMAT_NAMES.join('|')}; got content type "${type.split(';')[0].trim() || 'none'}"`);
}

/**
 * Streams the request body to `file`, refusing it with a 413 as soon as it passes `limit` bytes. The
 * request is never destroyed: the rest of an oversized body is read into nothing, so the client hears
 * the 413 instead of a reset connection.
 */
async function receive(req: Request, file: string, limit: number): Promise<number> {
  // express.json() has read a JSON body already: the upload's bytes are gone
  if (req.readableEnded) throw new ApiError('invalid_request', 'an upload is the file\'s own bytes, not a JSON request: send a JSON document with ?format=json and a content type such as application/octet-stream');
  const declared = Number(req.get('content-length') ?? 0);
  const tooLarge = () => new ApiError('payload_too_large', `the upload is larger than MLOPS_MAX_UPLOAD (${limit} bytes)`);
  if (declared > limit) { req.resume(); throw tooLarge(); }
  let received = 0;
  const out = createWriteStream(file, { mode: 0o600 });
  await new Promise<void>((resolve, reject) => {
    const fail = (err: Error) => {
      req.unpipe(out);
      req.resume();
      out.destroy();
      reject(err);
    };
    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > limit) fail(tooLarge());
    });
    req.once('aborted', () => fail(new ApiError('invalid_request', 'the upload was cut off')));
    req.once('error', (err) => fail(new ApiError('invalid_request', `the upload was cut off: ${err.message}`)));
    out.once('error', (err) => fail(err));
    out.once('finish', () => resolve());
    req.pipe(out);
  });
  return received;
}

export function dataRoutes(routes: SecuredRoutes, deps: { pool: Pool; artifacts: ArtifactStore; secrets: SecretsKeys; maxUploadBytes: number }): void {
  const { pool, artifacts, secrets } = deps;

  routes.post('/v1/datasets', 'scientist', route(async (req, res) => {
    const format = uploadFormat(req);
    const name = typeof req.query.name === 'string' && /^[\w. -]{1,200}$/.test(req.query.name) ? req.query.name : 'upload';
    const file = path.join(os.tmpdir(), `mlops-upload-${randomBytes(8).toString('hex')}`);
    try {
      const size = await receive(req, file, deps.maxUploadBytes);
      if (size === 0) throw new ApiError('invalid_request', 'the upload is empty');
      let table;
      try {
        table = await format.parse(fileBytes(file, { name: `the uploaded ${format.name} file`, size }));
      } catch (err) {
        if (err instanceof DataFormatError) throw new ApiError('invalid_request', err.message);
        throw err;
      }
      const actor = actorOf(res);
      const stored = await storeDatasetTable(pool, artifacts, table, { sourceUri: `upload:${name}`, sourceKind: 'upload' });
      await registry.recordAudit(pool, { actor, action: 'dataset.uploaded', subject: `dataset:${stored.datasetId}`, details: { name, format: format.name, bytes: size, rows: stored.rowCount } });
      res.status(201).location(`/v1/datasets/${stored.datasetId}`).json({ id: stored.datasetId, rowCount: stored.rowCount, columnCount: stored.columnCount, byteSize: stored.byteSize, format: format.name });
    } finally {
      await fs.rm(file, { force: true });
    }
  }));

  const connectionName = (req: Request) => namedParam(req, 'connection', CONNECTION_NAME);
  routes.put('/v1/connections/:name', 'admin', route(async (req, res) => {
    const name = connectionName(req);
    const body = parseBody(connectionRequestSchema, req.body);
    try {
      new URL(body.url);
    } catch {
      throw new ApiError('invalid_request', 'url is not a valid URL');
    }
    try {
      await checkConnection(body.url);
    } catch (err) {
      if (err instanceof PostgresSourceError) throw new ApiError(err.platform ? 'forbidden' : 'invalid_request', err.message);
      throw err;
    }
    const actor = actorOf(res);
    const saved = await putConnection(pool, secrets, { name, url: body.url, createdBy: actor });
    await registry.recordAudit(pool, { actor, action: 'connection.saved', subject: `connection:${name}`, details: { display: saved.display } });
    res.json(saved);
  }));
  routes.get('/v1/connections', 'admin', route(async (_req, res) => {
    res.json({ connections: await listConnections(pool) });
  }));
  routes.get('/v1/connections/:name', 'admin', route(async (req, res) => {
    const connection = await getConnection(pool, connectionName(req));
    if (!connection) throw new ApiError('not_found', `no connection is named "${req.params.name}"`);
    res.json(connection);
  }));
  routes.delete('/v1/connections/:name', 'admin', route(async (req, res) => {
    const name = connectionName(req);
    if (!(await deleteConnection(pool, name))) throw new ApiError('not_found', `no connection is named "${name}"`);
    await registry.recordAudit(pool, { actor: actorOf(res), action: 'connection.removed', subject: `connection:${name}`, details: {} });
    res.status(204).end();
  }));
}
