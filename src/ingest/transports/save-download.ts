/**
 * Writes a downloaded body to a local file as it streams (readable only by this user), counting its
 * bytes against the format's limit and reporting them: the one way http and s3 transports keep what
 * they fetch, so formats read it as a local file.
 */
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SourceError } from '../source-error';
import type { OpenOptions } from './transport';

/** The refusal of a resource larger than its format reads at once. */
export const tooLarge = (uri: string, maxBytes: number | undefined) => new SourceError(`${uri} is larger than ${maxBytes} bytes, the most its format reads at once`, false);

/** How often a download looks at the disk's free space. */
const SPACE_CHECK_BYTES = 8 * 1024 * 1024;

/** Free bytes on the disk holding `folder`, and what a download must leave of them. */
async function diskSpace(folder: string, keepFreeBytes: number | undefined): Promise<{ free: number; keep: number }> {
  const s = await fs.statfs(folder);
  return { free: s.bavail * s.bsize, keep: keepFreeBytes ?? Math.max(2 ** 30, 0.05 * s.blocks * s.bsize) };
}

/**
 * Saves the body to `file`; returns its size. A failed transfer may be retried, a too-large one not. A
 * source with no end (or far larger than the disk) stops while the disk still has room for everything
 * else the worker does: its free space is checked every few MiB.
 */
export async function saveDownload(body: Readable, file: string, uri: string, o: OpenOptions): Promise<number> {
  let size = 0;
  let checkedAt = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      size += chunk.length;
      if (o.maxBytes !== undefined && size > o.maxBytes) return done(tooLarge(uri, o.maxBytes));
      o.onBytes?.(size);
      if (size - checkedAt < SPACE_CHECK_BYTES) return done(null, chunk);
      checkedAt = size;
      diskSpace(path.dirname(file), o.keepFreeBytes).then(({ free, keep }) => {
        if (free - chunk.length < keep) done(new SourceError(`${uri} was still coming after ${size} bytes, and the worker's disk has ${free} bytes free: a download stops before the last ${keep} (it would fill the disk); read it from a file under MLOPS_DATA_ROOTS or from S3 instead`, false));
        else done(null, chunk);
      }, (err: Error) => done(err));
    },
  });
  try {
    await pipeline(body, counter, createWriteStream(file, { mode: 0o600 }));
  } catch (err) {
    if (err instanceof SourceError) throw err;
    throw new SourceError(`could not download ${uri}: ${(err as Error).message}`, true);
  }
  return size;
}
