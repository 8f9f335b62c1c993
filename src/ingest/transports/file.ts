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

/** The real path of a file source, checked against the policy, to exist and to be a file. */
async function localFile(policy: SourcePolicy, uri: string): Promise<{ file: string; size: number; mtimeMs: number }> {
  const file = checkFile(policy, uri);
  let stat;
  try {
    stat = await fs.stat(file);
  } catch {
    throw new SourceError(`data file not found: ${file}`, false);
  }
  if (!stat.isFile()) throw new SourceError(`data path is not a file: ${file}`, false);
  return { file, size: stat.size, mtimeMs: stat.mtimeMs };
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
    const { file, size } = await localFile(policy, uri);
    return { ...fileBytes(file, { name: uri, size, onBytes: o.onBytes }), close: async () => undefined };
  },
  async watermark(uri, policy) {
    const { size, mtimeMs } = await localFile(policy, uri);
    return `file:${size}:${Math.trunc(mtimeMs)}`;
  },
};
