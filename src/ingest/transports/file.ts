/**
 * Files under MLOPS_DATA_ROOTS, as paths or file:// URLs. Every other scheme lands here too, and the
 * policy refuses it by name (source-policy.ts, filePathOf).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileBytes } from '../byte-source';
import { SourceError } from '../source-error';
import { checkFile, SourcePolicy } from '../source-policy';
import type { Transport } from './transport';

/** The real path of a file source, checked against the policy, to exist and to be a file (or a folder, where allowed). */
async function localFile(policy: SourcePolicy, uri: string, o: { folders?: boolean } = {}): Promise<{ file: string; size: number; mtimeMs: number; folder: boolean }> {
  const file = checkFile(policy, uri);
  let stat;
  try {
    stat = await fs.stat(file);
  } catch {
    throw new SourceError(`data file not found: ${file}`, false);
  }
  const folder = stat.isDirectory();
  if (folder && !o.folders) throw new SourceError(`data path is a folder: ${file}; a folder is read as Parquet files (format "parquet")`, false);
  if (!folder && !stat.isFile()) throw new SourceError(`data path is not a file: ${file}`, false);
  return { file, size: stat.size, mtimeMs: stat.mtimeMs, folder };
}

/** Size and newest modification time of the files below a folder: its watermark. */
async function folderState(folder: string): Promise<string> {
  const entries = await fs.readdir(folder, { recursive: true, withFileTypes: true });
  let size = 0;
  let newest = 0;
  for (const e of entries.filter((x) => x.isFile())) {
    const stat = await fs.stat(path.join(e.parentPath, e.name));
    size += stat.size;
    newest = Math.max(newest, stat.mtimeMs);
  }
  return `folder:${entries.length}:${size}:${Math.trunc(newest)}`;
}

export const fileTransport: Transport = {
  kind: 'file',
  handles: () => true,
  async check(uri, policy) {
    checkFile(policy, uri);
    // a relative path means the API's working directory, which the worker may not share
    return /^file:/i.test(uri) ? uri : path.resolve(uri);
  },
  async open(uri, policy, o) {
    const { file, size, folder } = await localFile(policy, uri, { folders: o.folders });
    if (folder) {
      return { name: uri, localPath: file, stream: () => { throw new SourceError(`${uri} is a folder; only its format's own reader takes it`, false); }, close: async () => undefined };
    }
    return { ...fileBytes(file, { name: uri, size, onBytes: o.onBytes }), close: async () => undefined };
  },
  async watermark(uri, policy) {
    const { file, size, mtimeMs, folder } = await localFile(policy, uri, { folders: true });
    return folder ? folderState(file) : `file:${size}:${Math.trunc(mtimeMs)}`;
  },
  async isFolder(uri, policy) {
    try {
      return (await fs.stat(checkFile(policy, uri))).isDirectory();
    } catch {
      return false;
    }
  },
};
