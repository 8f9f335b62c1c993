/**
 * Content-addressed artifact store on the local file system: bytes live at sha256/<aa>/<digest>.
 * Writes go to a temporary file and are renamed into place, so no half-written artifact is ever
 * visible; reads check the digest, so a corrupted file is an error rather than a wrong model.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Thrown when an artifact is absent or its bytes no longer match their digest. */
export class ArtifactError extends Error {}

export interface ArtifactStore {
  /** Stores bytes and returns their sha256 (hex). Storing the same bytes twice is a no-op. */
  put(bytes: Uint8Array): Promise<string>;
  /** Returns the bytes for a digest, verified. */
  get(digest: string): Promise<Buffer>;
  has(digest: string): Promise<boolean>;
}

export class LocalArtifactStore implements ArtifactStore {
  constructor(private readonly root: string) {}

  private pathOf(digest: string): string {
    if (!/^[0-9a-f]{64}$/.test(digest)) throw new ArtifactError(`not a sha256 digest: ${digest}`);
    return path.join(this.root, 'sha256', digest.slice(0, 2), digest);
  }

  async put(bytes: Uint8Array): Promise<string> {
    const digest = sha256Hex(bytes);
    const target = this.pathOf(digest);
    if (await this.has(digest)) return digest;
    await fs.mkdir(path.dirname(target), { recursive: true });
    const temp = `${target}.${randomBytes(6).toString('hex')}.tmp`;
    await fs.writeFile(temp, bytes);
    await fs.rename(temp, target);
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
}
