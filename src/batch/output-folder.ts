/**
 * A batch job's output folder. Parts are written into a staging folder beside the output
 * (`.<name>.<job id>.partial`), each to a temporary name and renamed into place, so a retried chunk
 * replaces its own part and never leaves half a file. When every part is there, the manifest
 * (`_manifest.json`: each part's rows and sha256) and an empty `_SUCCESS` are written, and the staging
 * folder is renamed to the output: the output appears complete or not at all. The output's digest is the
 * manifest's sha256 (it names every part's digest, so it covers every byte).
 */
import { createHash, randomBytes, webcrypto as crypto } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ParquetRows } from '../datasets/parquet-table';
import type { Table } from '../ml/table';
import { OutputFormat, writePart } from './part-files';

export const MANIFEST = '_manifest.json';
export const SUCCESS = '_SUCCESS';

export interface PartSummary { index: number; file: string; rows: number; sha256: string; bytes: number }

export interface Manifest {
  job: string;
  model: string;
  version: number;
  onnxDigest: string;
  datasetId: string;
  format: OutputFormat;
  rows: number;
  columns: string[];
  parts: Omit<PartSummary, 'index'>[];
}

/** The output exists and is not this job's: nothing is overwritten. */
export class OutputExists extends Error {}

export function stagingFolder(output: string, jobId: string): string {
  return path.join(path.dirname(output), `.${path.basename(output)}.${jobId}.partial`);
}

export const partFile = (index: number, format: OutputFormat) => `part-${String(index).padStart(5, '0')}.${format}`;

/** A file's sha256, hashed off this thread (WebCrypto's digest runs on the thread pool): a part is tens of megabytes. */
async function sha256File(file: string): Promise<{ sha256: string; bytes: number }> {
  const bytes = await fs.readFile(file);
  return { sha256: Buffer.from(await crypto.subtle.digest('SHA-256', bytes)).toString('hex'), bytes: bytes.length };
}

/** Writes (or rewrites) part `index` in the staging folder (`input`: see `writePart`). */
export async function writePartFile(staging: string, index: number, format: OutputFormat, table: Table, input?: ParquetRows): Promise<PartSummary> {
  await fs.mkdir(staging, { recursive: true });
  const file = partFile(index, format);
  const temp = path.join(staging, `${file}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writePart(table, temp, format, input);
    const { sha256, bytes } = await sha256File(temp);
    await fs.rename(temp, path.join(staging, file));
    return { index, file, rows: table.rowCount, sha256, bytes };
  } catch (err) {
    await fs.rm(temp, { force: true });
    throw err;
  }
}

/** The manifest of an output folder, or undefined when it has none. */
export async function readManifest(folder: string): Promise<Manifest | undefined> {
  try {
    return JSON.parse(await fs.readFile(path.join(folder, MANIFEST), 'utf8')) as Manifest;
  } catch {
    return undefined;
  }
}

/**
 * Publishes the staged parts as the output: checks each part against its summary, removes anything
 * else a killed attempt left, writes the manifest and `_SUCCESS`, and renames the folder into place.
 * Repeating it after it succeeded (a retry) answers the same digest.
 */
export async function publishOutput(staging: string, output: string, manifest: Manifest, onPart: (checked: number) => void = () => undefined): Promise<{ digest: string }> {
  const text = `${JSON.stringify(manifest, null, 2)}\n`;
  const digest = createHash('sha256').update(text).digest('hex');
  const existing = await readManifest(output);
  if (existing?.job === manifest.job) return { digest };
  if (await fs.stat(output).then(() => true, () => false)) throw new OutputExists(`the output ${output} exists already; batch jobs never overwrite: name a new output`);
  const keep = new Set(manifest.parts.map((p) => p.file));
  for (const name of await fs.readdir(staging)) if (!keep.has(name)) await fs.rm(path.join(staging, name), { force: true, recursive: true });
  for (const [i, part] of manifest.parts.entries()) {
    const seen = await sha256File(path.join(staging, part.file));
    if (seen.sha256 !== part.sha256) throw new Error(`part ${part.file} changed after it was written (sha256 ${seen.sha256}, expected ${part.sha256})`);
    onPart(i + 1);
  }
  await fs.writeFile(path.join(staging, MANIFEST), text);
  await fs.writeFile(path.join(staging, SUCCESS), '');
  await fs.rename(staging, output);
  return { digest };
}
