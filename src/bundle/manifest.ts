/**
 * Model bundles: one version of one model in a folder that serves without the platform (`mlops package`
 * writes it, `mlops serve --bundle` serves it). The folder holds fixed file names only — the ONNX file,
 * its signature, its smoke-test rows — and `manifest.json`, which pins each by sha256 and records the
 * version's lineage. Reading a bundle checks every pinned file before anything is loaded, so a file
 * changed after packaging (or a manifest naming other files) is refused, never served.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ModelSignature } from '../domain/model-version';
import { MODEL_NAME } from '../domain/model-version';
import type { SmokeSample } from '../serving/smoke';

export const BUNDLE_FORMAT = 'mlops-bundle/1';
export const MANIFEST_FILE = 'manifest.json';

/** The files a bundle may hold, by role: no other name is ever read, so a manifest cannot point outside the folder. */
export const BUNDLE_FILES = { onnx: 'model.onnx', signature: 'signature.json', smokeSet: 'smoke-set.json' } as const;
export type BundleRole = keyof typeof BUNDLE_FILES;
const REQUIRED: readonly BundleRole[] = ['onnx', 'signature'];

export interface BundleFileEntry { path: string; sha256: string; bytes: number }

export interface BundleManifest {
  format: typeof BUNDLE_FORMAT;
  model: { name: string; version: number; task: string; onnxSha256: string };
  /** Every file of the bundle but the manifest, pinned by content. */
  files: BundleFileEntry[];
  /** Where the version came from: governance status, dataset, run, code, metrics (as the registry had them). */
  lineage: Record<string, unknown>;
  /** The platform image the Dockerfile starts from, and when the bundle was written. */
  platformImage: string;
  packagedAt: string;
}

/** The bundle cannot be served as it is: the message says which file or field, and what is wrong. */
export class BundleError extends Error {
  override name = 'BundleError';
}

export const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** A bundle read and checked: its manifest and the bytes of each file, every digest matching. */
export interface VerifiedBundle {
  dir: string;
  manifest: BundleManifest;
  onnx: Buffer;
  signature: ModelSignature;
  smokeSet?: SmokeSample;
}

/**
 * Reads the bundle in `dir` and checks it: the manifest's shape, that it lists only the bundle's own
 * file names (each once, the ONNX file and signature at least), that every file's bytes hash to what
 * the manifest pins, and that the ONNX file is the version's own (its digest as registered).
 * Throws BundleError naming the first problem.
 */
export function readBundle(dir: string): VerifiedBundle {
  const root = path.resolve(dir);
  if (!fs.existsSync(root) || !fs.statSync(root).isDirectory()) throw new BundleError(`${dir} is not a folder: give the folder \`mlops package --out\` wrote`);
  const manifest = parseManifest(readFile(root, MANIFEST_FILE, 'the manifest'));
  const byPath = new Map(manifest.files.map((f) => [f.path, f]));
  const bytesOf = (role: BundleRole): Buffer | undefined => {
    const entry = byPath.get(BUNDLE_FILES[role]);
    if (!entry) return undefined;
    const bytes = readFile(root, entry.path, `${entry.path}, listed in the manifest,`);
    const digest = sha256Hex(bytes);
    if (digest !== entry.sha256 || bytes.length !== entry.bytes) {
      throw new BundleError(`${entry.path} does not match the manifest: its sha256 is ${digest} (${bytes.length} bytes), the manifest pins ${entry.sha256} (${entry.bytes} bytes); the bundle was changed after it was packaged`);
    }
    return bytes;
  };
  const onnx = bytesOf('onnx')!;
  if (manifest.files.find((f) => f.path === BUNDLE_FILES.onnx)!.sha256 !== manifest.model.onnxSha256) {
    throw new BundleError(`the manifest's ${BUNDLE_FILES.onnx} is not the registered file of ${manifest.model.name}@${manifest.model.version} (model.onnxSha256 is ${manifest.model.onnxSha256})`);
  }
  const signature = parseJson<ModelSignature>(bytesOf('signature')!, BUNDLE_FILES.signature);
  if (!signature || typeof signature !== 'object' || !Array.isArray(signature.features) || !Array.isArray(signature.classes) || typeof signature.output !== 'string') {
    throw new BundleError(`${BUNDLE_FILES.signature} is not a model signature (features, classes and output)`);
  }
  const smokeBytes = bytesOf('smokeSet');
  const smokeSet = smokeBytes ? parseJson<SmokeSample>(smokeBytes, BUNDLE_FILES.smokeSet) : undefined;
  if (smokeSet && (!Array.isArray(smokeSet.instances) || !Array.isArray(smokeSet.outputs))) throw new BundleError(`${BUNDLE_FILES.smokeSet} holds no instances and outputs`);
  return { dir: root, manifest, onnx, signature, ...(smokeSet ? { smokeSet } : {}) };
}

/** Reads a file of the bundle, refusing anything but a regular file inside it (a symlink out of the folder included). */
function readFile(root: string, name: string, what: string): Buffer {
  const file = path.join(root, name);
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(file);
  } catch {
    throw new BundleError(`${what} is missing: no ${name} in ${root}`);
  }
  if (!stat.isFile()) throw new BundleError(`${what} is not a regular file (${name} is a ${stat.isSymbolicLink() ? 'symbolic link' : 'folder or device'}); a bundle holds plain files only`);
  return fs.readFileSync(file);
}

function parseJson<T>(bytes: Buffer, name: string): T {
  try {
    return JSON.parse(bytes.toString('utf8')) as T;
  } catch (err) {
    throw new BundleError(`${name} is not valid JSON: ${(err as Error).message}`);
  }
}

const HEX64 = /^[0-9a-f]{64}$/;

/** Checks the manifest's shape; throws BundleError naming the field. */
export function parseManifest(bytes: Buffer): BundleManifest {
  const m = parseJson<Partial<BundleManifest>>(bytes, MANIFEST_FILE);
  const fail = (what: string): never => { throw new BundleError(`${MANIFEST_FILE}: ${what}`); };
  if (!m || typeof m !== 'object' || Array.isArray(m)) fail('expected a JSON object');
  if (m.format !== BUNDLE_FORMAT) fail(`format must be "${BUNDLE_FORMAT}" (got ${JSON.stringify(m.format)}); this mlops reads no other bundle format`);
  const model = m.model;
  if (!model || typeof model.name !== 'string' || !MODEL_NAME.test(model.name)) fail('model.name must be a model name');
  if (!Number.isInteger(model!.version) || model!.version < 1) fail('model.version must be a whole number from 1');
  if (typeof model!.onnxSha256 !== 'string' || !HEX64.test(model!.onnxSha256)) fail('model.onnxSha256 must be a sha256 in hex');
  if (!Array.isArray(m.files)) fail('files must be a list');
  const allowed = new Set<string>(Object.values(BUNDLE_FILES));
  const seen = new Set<string>();
  for (const f of m.files!) {
    if (!f || typeof f.path !== 'string') fail('every file needs a path');
    if (!allowed.has(f.path)) fail(`lists "${String(f.path).slice(0, 100)}", which is not a bundle file (only ${[...allowed].join(', ')})`);
    if (seen.has(f.path)) fail(`lists ${f.path} twice`);
    seen.add(f.path);
    if (typeof f.sha256 !== 'string' || !HEX64.test(f.sha256)) fail(`${f.path}: sha256 must be 64 hex digits`);
    if (!Number.isInteger(f.bytes) || f.bytes < 0) fail(`${f.path}: bytes must be a whole number`);
  }
  for (const role of REQUIRED) if (!seen.has(BUNDLE_FILES[role])) fail(`lists no ${BUNDLE_FILES[role]}; a bundle needs it`);
  return m as BundleManifest;
}

/**
 * Writes a bundle into `dir` (created; it must not exist or be empty, so nothing is mixed in or
 * overwritten): the files, the manifest pinning them, and the Dockerfile built by `dockerfile`.
 */
export function writeBundle(dir: string, o: {
  model: { name: string; version: number; task: string; onnxSha256: string };
  files: Partial<Record<BundleRole, Buffer>>;
  lineage: Record<string, unknown>;
  platformImage: string;
  packagedAt: Date;
  dockerfile: (manifest: BundleManifest) => string;
}): BundleManifest {
  if (fs.existsSync(dir) && (!fs.statSync(dir).isDirectory() || fs.readdirSync(dir).length > 0)) {
    throw new BundleError(`${dir} exists and is not an empty folder; give a new folder to --out`);
  }
  for (const role of REQUIRED) if (!o.files[role]) throw new BundleError(`a bundle needs ${BUNDLE_FILES[role]}`);
  if (sha256Hex(o.files.onnx!) !== o.model.onnxSha256) throw new BundleError(`the ONNX file received is not the registered one of ${o.model.name}@${o.model.version}`);
  fs.mkdirSync(dir, { recursive: true });
  const files: BundleFileEntry[] = [];
  for (const role of Object.keys(BUNDLE_FILES) as BundleRole[]) {
    const bytes = o.files[role];
    if (!bytes) continue;
    fs.writeFileSync(path.join(dir, BUNDLE_FILES[role]), bytes);
    files.push({ path: BUNDLE_FILES[role], sha256: sha256Hex(bytes), bytes: bytes.length });
  }
  const manifest: BundleManifest = {
    format: BUNDLE_FORMAT, model: o.model, files, lineage: o.lineage, platformImage: o.platformImage, packagedAt: o.packagedAt.toISOString(),
  };
  fs.writeFileSync(path.join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  fs.writeFileSync(path.join(dir, 'Dockerfile'), o.dockerfile(manifest));
  return manifest;
}
