/**
 * What a transport hands a format: the bytes of one resource (a file, a download, an upload, one page
 * of an API), readable from the start as often as the format needs, and the two ways formats read them:
 * as strict UTF-8 text in chunks, or whole up to a limit.
 */
import { createReadStream } from 'node:fs';
import { TextDecoder } from 'node:util';
import { DataFormatError } from '../ml/table';

export interface ByteSource {
  /** What errors call it: the path or URL as the request gave it, or "the uploaded ... file". */
  readonly name: string;
  /** Its length in bytes, when known before reading. */
  readonly size?: number;
  /**
   * A local file or folder holding it, checked against the policy, when there is one: formats may hand it
   * to DuckDB's readers (all cores, no copy) instead of streaming. A folder is only ever a source of Parquet files.
   */
  readonly localPath?: string;
  /** The bytes from the start; each call reads them again (CSV re-reads a column that turned to text). */
  stream(): AsyncIterable<Uint8Array>;
  /**
   * Paged APIs only: the page after this one, by the transport's own link (an HTTP Link header) or else
   * `linked`, a link the format found in this page; undefined after the last page.
   */
  next?(linked: string | undefined): Promise<ByteSource | undefined>;
}

/** Bytes read from a file per chunk while streaming. */
const CHUNK_BYTES = 1 << 20;

/** A local file's bytes; `onBytes` hears how many have been read so far. */
export function fileBytes(file: string, o: { name: string; size: number; onBytes?: (bytes: number) => void }): ByteSource {
  return {
    name: o.name,
    size: o.size,
    localPath: file,
    async *stream() {
      let read = 0;
      for await (const chunk of createReadStream(file, { highWaterMark: CHUNK_BYTES }) as AsyncIterable<Buffer>) {
        read += chunk.length;
        yield chunk;
        o.onBytes?.(read);
      }
    },
  };
}

const notUtf8 = (name: string) => new DataFormatError(`${name} is not valid UTF-8 text; save it as UTF-8 (e.g. iconv -f latin1 -t utf-8)`);

/** The source's text in chunks, decoded strictly: bytes in another encoding are an error, never replaced characters. */
export async function* utf8Text(source: ByteSource): AsyncIterable<string> {
  // one decoder across chunks: a multi-byte character may span two of them
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const decode = (chunk?: Uint8Array) => {
    try {
      return chunk ? decoder.decode(chunk, { stream: true }) : decoder.decode();
    } catch {
      throw notUtf8(source.name);
    }
  };
  for await (const chunk of source.stream()) yield decode(chunk);
  yield decode();
}

/**
 * The whole source in memory, for formats that need all of it at once; refused beyond `limit` bytes.
 * The bytes fill an ArrayBuffer of their own (never a slice of a shared pool), which readers may take whole.
 */
export async function readWhole(source: ByteSource, limit: number): Promise<Uint8Array> {
  const tooLarge = (size: number | string) => new DataFormatError(`${source.name} is ${size} bytes; its format is read whole, at most ${limit} bytes`);
  if (source.size !== undefined && source.size > limit) throw tooLarge(source.size);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of source.stream()) {
    size += chunk.length;
    if (size > limit) throw tooLarge(`more than ${limit}`);
    chunks.push(chunk);
  }
  const whole = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    whole.set(chunk, offset);
    offset += chunk.length;
  }
  return whole;
}

/** The whole source as strictly decoded UTF-8 text, at most `limit` bytes. */
export async function readWholeText(source: ByteSource, limit: number): Promise<string> {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(await readWhole(source, limit));
  } catch (err) {
    if (err instanceof DataFormatError) throw err;
    throw notUtf8(source.name);
  }
}
