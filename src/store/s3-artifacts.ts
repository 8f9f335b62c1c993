/**
 * Content-addressed artifacts in S3-compatible object storage (AWS S3, MinIO, Ceph, R2...), for
 * deployments where workers and API replicas run on different machines. Objects live at
 * <prefix>sha256/<aa>/<digest>. An S3 PUT is atomic (the object appears whole or not at all), and
 * `If-None-Match: *` makes the first writer win, so concurrent writers of the same bytes cannot race;
 * the SHA-256 checksum is sent with the upload so the store rejects bytes damaged in transit, and reads
 * check the digest again.
 */
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { createReadStream, createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { ArtifactError, ArtifactStore, sha256File, sha256Hex } from './artifacts';

export interface S3Options {
  bucket: string;
  /** Key prefix, e.g. "mlops/"; empty by default. */
  prefix?: string;
  /** Endpoint of an S3-compatible service; absent for AWS itself. */
  endpoint?: string;
  region: string;
  /** Static credentials; absent to use the SDK's default chain (environment, profile, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Path-style URLs (bucket in the path), which most S3-compatible servers need. */
  forcePathStyle?: boolean;
  /** Where getFile keeps downloaded objects, verified, for readers that take files; a temporary folder by default. */
  cacheDir?: string;
}

const status = (err: unknown) => (err as S3ServiceException)?.$metadata?.httpStatusCode;

export class S3ArtifactStore implements ArtifactStore {
  private readonly client: S3Client;

  constructor(private readonly o: S3Options) {
    this.client = new S3Client({ region: o.region, endpoint: o.endpoint, forcePathStyle: o.forcePathStyle ?? !!o.endpoint, credentials: o.credentials });
  }

  private keyOf(digest: string): string {
    if (!/^[0-9a-f]{64}$/.test(digest)) throw new ArtifactError(`not a sha256 digest: ${digest}`);
    return `${this.o.prefix ?? ''}sha256/${digest.slice(0, 2)}/${digest}`;
  }

  async put(bytes: Uint8Array): Promise<string> {
    const digest = sha256Hex(bytes);
    if (await this.has(digest)) return digest;
    try {
      await this.client.send(new PutObjectCommand({
        Bucket: this.o.bucket, Key: this.keyOf(digest), Body: bytes, IfNoneMatch: '*',
        ChecksumSHA256: Buffer.from(digest, 'hex').toString('base64'), ContentType: 'application/octet-stream',
      }));
    } catch (err) {
      // 412: someone stored the same bytes first, which is the same result
      if (status(err) !== 412) throw err;
    }
    return digest;
  }

  async get(digest: string): Promise<Buffer> {
    let bytes: Buffer;
    try {
      const object = await this.client.send(new GetObjectCommand({ Bucket: this.o.bucket, Key: this.keyOf(digest) }));
      bytes = Buffer.from(await object.Body!.transformToByteArray());
    } catch (err) {
      if (status(err) === 404) throw new ArtifactError(`artifact ${digest} not found in s3://${this.o.bucket}/${this.o.prefix ?? ''}`);
      throw err;
    }
    if (sha256Hex(bytes) !== digest) throw new ArtifactError(`artifact ${digest} is corrupted: its bytes hash differently`);
    return bytes;
  }

  async has(digest: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.o.bucket, Key: this.keyOf(digest) }));
      return true;
    } catch (err) {
      if (status(err) === 404) return false;
      throw err;
    }
  }

  async putFile(file: string): Promise<string> {
    const digest = await sha256File(file);
    if (await this.has(digest)) return digest;
    const { size } = await fs.stat(file);
    try {
      // one PUT takes up to 5 GB, far more than a dataset version of 10M rows x 30 columns in Parquet
      await this.client.send(new PutObjectCommand({
        Bucket: this.o.bucket, Key: this.keyOf(digest), Body: createReadStream(file), ContentLength: size, IfNoneMatch: '*',
        ChecksumSHA256: Buffer.from(digest, 'hex').toString('base64'), ContentType: 'application/octet-stream',
      }));
    } catch (err) {
      if (status(err) !== 412) throw err;
    }
    return digest;
  }

  async getFile(digest: string): Promise<string> {
    const dir = this.o.cacheDir ?? path.join(os.tmpdir(), 'mlops-s3-artifacts');
    const file = path.join(dir, this.keyOf(digest).replace(/\//g, '_'));
    // a cached copy was verified when it was written, and it is renamed into place only then
    if (await fs.access(file).then(() => true, () => false)) return file;
    await fs.mkdir(dir, { recursive: true });
    const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      const object = await this.client.send(new GetObjectCommand({ Bucket: this.o.bucket, Key: this.keyOf(digest) }));
      await pipeline(object.Body as Readable, createWriteStream(temp));
      if ((await sha256File(temp)) !== digest) throw new ArtifactError(`artifact ${digest} is corrupted: its bytes hash differently`);
      await fs.rename(temp, file);
    } catch (err) {
      await fs.rm(temp, { force: true });
      if (status(err) === 404) throw new ArtifactError(`artifact ${digest} not found in s3://${this.o.bucket}/${this.o.prefix ?? ''}`);
      throw err;
    }
    return file;
  }

  close(): void {
    this.client.destroy();
  }
}
