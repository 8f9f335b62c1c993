/**
 * Objects in S3-compatible storage, as `s3://bucket/key`: only in the buckets MLOPS_S3_SOURCE_BUCKETS
 * lists (never the artifact bucket, which holds the platform's own files), read with the MLOPS_S3_*
 * client settings. An object is downloaded to a temporary file as it streams (counted against the
 * format's limit), so its format reads it as a local file (DuckDB for CSV and Parquet).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { fileBytes } from '../byte-source';
import { SourceError } from '../source-error';
import { SourcePolicy, SourceRefused } from '../source-policy';
import { saveDownload, tooLarge } from './save-download';
import type { Transport } from './transport';

/** Bucket and key of an s3:// URI the policy allows; refused otherwise. */
function checked(uri: string, policy: SourcePolicy): { bucket: string; key: string; client: S3Client } {
  const match = /^s3:\/\/([^/?#]+)\/([^?#]+)$/i.exec(uri);
  if (!match) throw new SourceRefused(`${uri} is not an S3 object URI: write s3://<bucket>/<key>`, 'source');
  const [, bucket, key] = match;
  const s3 = policy.s3;
  if (!s3 || !s3.buckets.includes(bucket)) {
    throw new SourceRefused(`bucket "${bucket}" is not one data sources may read; an admin lists it in MLOPS_S3_SOURCE_BUCKETS`, 'MLOPS_S3_SOURCE_BUCKETS');
  }
  if (bucket === s3.artifactBucket) throw new SourceRefused(`bucket "${bucket}" holds the platform's artifacts and is never a data source`, 'MLOPS_S3_SOURCE_BUCKETS');
  const client = new S3Client({ region: s3.region, endpoint: s3.endpoint, forcePathStyle: !!s3.endpoint, credentials: s3.credentials });
  return { bucket, key: decodeURIComponent(key), client };
}

const statusOf = (err: unknown) => (err as S3ServiceException)?.$metadata?.httpStatusCode;

/** Why an S3 call failed, and whether a retry can help (throttling, 5xx and network errors can). */
function s3Error(uri: string, err: unknown): SourceError {
  const status = statusOf(err);
  if (status === 404) return new SourceError(`${uri} does not exist`, false);
  if (status === 403) return new SourceError(`${uri} may not be read with the platform's S3 credentials (403)`, false);
  return new SourceError(`could not read ${uri}: ${(err as Error).message}`, status === undefined || status >= 500 || status === 429);
}

export const s3Transport: Transport = {
  kind: 's3',
  handles: (uri) => /^s3:\/\//i.test(uri),
  async check(uri, policy) {
    checked(uri, policy).client.destroy();
    return uri;
  },
  async open(uri, policy, o) {
    const { bucket, key, client } = checked(uri, policy);
    const file = path.join(os.tmpdir(), `mlops-s3-download-${randomBytes(8).toString('hex')}`);
    const remove = () => fs.rm(file, { force: true });
    try {
      let object;
      try {
        object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      } catch (err) {
        throw s3Error(uri, err);
      }
      if (o.maxBytes !== undefined && (object.ContentLength ?? 0) > o.maxBytes) throw tooLarge(uri, o.maxBytes);
      const size = await saveDownload(object.Body as Readable, file, uri, o);
      return { ...fileBytes(file, { name: uri, size, onBytes: o.onBytes }), close: remove };
    } catch (err) {
      await remove();
      throw err;
    } finally {
      client.destroy();
    }
  },
  async watermark(uri, policy) {
    const { bucket, key, client } = checked(uri, policy);
    try {
      const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return `s3:${head.ETag ?? ''}:${head.ContentLength ?? ''}`;
    } catch (err) {
      throw s3Error(uri, err);
    } finally {
      client.destroy();
    }
  },
};
