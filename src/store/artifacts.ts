/**
 * Content-addressed artifact store on the local file system: bytes live at sha256/<aa>/<digest>.
 * Writes go to a temporary file and are renamed into place, so no half-written artifact is ever
 * visible; reads check the digest, so a corrupted file is an error rather than a wrong model.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The sha256 of a file, read as a stream (files here may be larger than a Buffer can hold). */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Thrown when an artifact is absent or its bytes no longer match their digest. */
export class ArtifactError extends Error {}

/**
 * Thrown when the artifact store's disk (or the user's quota on it) is full. Not an ArtifactError: the
 * write is worth retrying once space returns, and activities let Temporal retry it.
 */
export class ArtifactStoreFull extends Error {
  override name = 'ArtifactStoreFull';
}

/**
 * Writes a new file through a temporary name and renames it into place. A failed write removes its
 * temporary file, so a full disk is not left fuller, and a full disk is said in words.
 */
async function writeAtomically(root: string, target: string, write: (temp: string) => Promise<void>): Promise<void> {
  await fs.mkdir(path.dirname(target), { recursive: true });
  const temp = `${target}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await write(temp);
    await fs.rename(temp, target);
  } catch (err) {
    await fs.rm(temp, { force: true });
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') {
      throw new ArtifactStoreFull(`the artifact store at ${root} is out of space (${code}): free space or grow its volume; the step is retried`);
    }
    throw err;
  }
}

export interface ArtifactStore {
  /** Stores bytes and returns their sha256 (hex). Storing the same bytes twice is a no-op. */
  put(bytes: Uint8Array): Promise<string>;
  /** Returns the bytes for a digest, verified. */
  get(digest: string): Promise<Buffer>;
  has(digest: string): Promise<boolean>;
  /** Stores a file's bytes without reading them into memory whole (dataset versions); returns their sha256. The file is left in place. */
  putFile(file: string): Promise<string>;
  /** A local path holding the verified bytes of a digest, for readers that take files (DuckDB); never write to it. */
  getFile(digest: string): Promise<string>;
}

export class LocalArtifactStore implements ArtifactStore {
  /**
   * Files this process has hashed and found whole, with the identity they had then. A file is hashed
   * again only if that changed: any write, chmod or rename changes its ctime, which no process can set
   * back. Without it, a batch job's hundred chunk reads of a 1 GiB dataset version hashed it a hundred
   * times.
   */
  private readonly verified = new Map<string, string>();

  constructor(private readonly root: string) {}

  private pathOf(digest: string): string {
    if (!/^[0-9a-f]{64}$/.test(digest)) throw new ArtifactError(`not a sha256 digest: ${digest}`);
    return path.join(this.root, 'sha256', digest.slice(0, 2), digest);
  }

  async put(bytes: Uint8Array): Promise<string> {
    const digest = sha256Hex(bytes);
    const target = this.pathOf(digest);
    if (await this.has(digest)) return digest;
    await writeAtomically(this.root, target, (temp) => fs.writeFile(temp, bytes));
    return digest;
  }

  async get(digest: string): Promise<Buffer> {
    let bytes: Buffer;
    try {
      bytes = await fs.readFile(this.pathOf(digest));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ArtifactError(`artifact ${digest} not found`);
      throw err;
    }
    if (sha256Hex(bytes) !== digest) throw new ArtifactError(`artifact ${digest} is corrupted: its bytes hash differently`);
    return bytes;
  }

  async has(digest: string): Promise<boolean> {
    try {
      await fs.access(this.pathOf(digest));
      return true;
    } catch {
      return false;
    }
  }

  async putFile(file: string): Promise<string> {
    const digest = await sha256File(file);
    const target = this.pathOf(digest);
    if (await this.has(digest)) return digest;
    await writeAtomically(this.root, target, (temp) => fs.copyFile(file, temp));
    return digest;
  }

  async getFile(digest: string): Promise<string> {
    const file = this.pathOf(digest);
    let actual: string;
    let identity: string;
    try {
      const stat = await fs.stat(file, { bigint: true });
      identity = [stat.dev, stat.ino, stat.size, stat.mtimeNs, stat.ctimeNs].join(':');
      if (this.verified.get(digest) === identity) return file;
      actual = await sha256File(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ArtifactError(`artifact ${digest} not found`);
      throw err;
    }
    if (actual !== digest) {
      this.verified.delete(digest);
      throw new ArtifactError(`artifact ${digest} is corrupted: its bytes hash differently`);
    }
    this.verified.set(digest, identity);
    return file;
  }
}
