/**
 * Writes a downloaded body to a local file as it streams (readable only by this user), counting its
 * bytes against the format's limit and reporting them: the one way http and s3 transports keep what
 * they fetch, so formats read it as a local file.
 */
import { createWriteStream } from 'node:fs';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SourceError } from '../source-error';
import type { OpenOptions } from './transport';

/** The refusal of a resource larger than its format reads at once. */
export const tooLarge = (uri: string, maxBytes: number | undefined) => new SourceError(`${uri} is larger than ${maxBytes} bytes, the most its format reads at once`, false);

/** Saves the body to `file`; returns its size. A failed transfer may be retried, a too-large one not. */
export async function saveDownload(body: Readable, file: string, uri: string, o: OpenOptions): Promise<number> {
  let size = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      size += chunk.length;
      if (o.maxBytes !== undefined && size > o.maxBytes) return done(tooLarge(uri, o.maxBytes));
      o.onBytes?.(size);
      done(null, chunk);
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
