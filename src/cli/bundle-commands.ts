/**
 * Model bundles from the command line: `mlops package <model>@<version> --out DIR` (through the API:
 * the version's record, then its ONNX file and smoke-test rows, each checked against the registry's
 * digest) and `mlops serve --bundle DIR` (no API, no database: src/bundle/bundle-server.ts).
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Config, ConfigError } from '../config';
import type { ModelVersion } from '../domain/model-version';
import { startBundleServer } from '../bundle/bundle-server';
import { bundleDockerfile, defaultPlatformImage } from '../bundle/dockerfile';
import { BUNDLE_FILES, readBundle, sha256Hex, writeBundle } from '../bundle/manifest';
import { ApiClient } from './api-client';

const enc = encodeURIComponent;
const PACKAGE_USAGE = 'package needs <model>@<version> --out <folder> [--image <platform image>]';

/** The version's record as GET /v1/models/:name/versions/:version answers it: the registry's, with lineage. */
type VersionRecord = ModelVersion & { lineage?: { dataset?: unknown; run?: { id: string } }; history?: unknown[] };

export async function packageVersion(rest: string[], api: ApiClient, log: (line: string) => void, o: { releaseVersion: string }): Promise<void> {
  const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { out: { type: 'string' }, image: { type: 'string' } } });
  const spec = /^([^@\s]+)@(\d+)$/.exec(positionals[0] ?? '');
  if (!spec || !values.out || positionals.length > 1) throw new ConfigError(PACKAGE_USAGE);
  const [, model, number] = spec;
  const base = `/v1/models/${enc(model)}/versions/${number}`;
  const version = await api.get<VersionRecord>(base);
  const download = async (file: string, expected: string): Promise<Buffer> => {
    const { bytes } = await api.download(`${base}/bundle/${file}`);
    const digest = sha256Hex(bytes);
    if (digest !== expected) throw new Error(`${file} of ${model}@${number} arrived with sha256 ${digest}, but the registry has ${expected}; nothing was written`);
    return bytes;
  };
  const onnx = await download(BUNDLE_FILES.onnx, version.onnxDigest);
  const smokeSet = version.artifacts.smokeSet ? await download(BUNDLE_FILES.smokeSet, version.artifacts.smokeSet) : undefined;
  const out = path.resolve(values.out);
  const manifest = writeBundle(out, {
    model: { name: version.modelName, version: version.version, task: version.signature.task ?? 'binary', onnxSha256: version.onnxDigest },
    files: { onnx, signature: Buffer.from(`${JSON.stringify(version.signature, null, 2)}\n`), ...(smokeSet ? { smokeSet } : {}) },
    lineage: {
      status: version.status, createdAt: version.createdAt, runId: version.runId, datasetId: version.datasetId,
      ...(version.lineage?.dataset ? { dataset: version.lineage.dataset } : {}),
      codeVersion: version.codeVersion, metrics: version.metrics, params: version.params,
      recipe: version.recipe, trigger: version.trigger, history: version.history ?? [],
    },
    platformImage: values.image ?? defaultPlatformImage(o.releaseVersion),
    packagedAt: new Date(),
    dockerfile: bundleDockerfile,
  });
  readBundle(out); // what was written reads back as a valid bundle
  log(`packaged ${model}@${number} into ${out}`);
  for (const f of manifest.files) log(`  ${f.path.padEnd(16)} sha256 ${f.sha256}  ${f.bytes} bytes`);
  log(`  manifest.json    lineage and the digests above\n  Dockerfile       FROM ${manifest.platformImage}`);
  log(`serve it: mlops serve --bundle ${values.out} --port 8080   (or: docker build -t ${model}:${number} ${values.out})`);
}

export async function serveBundle(rest: string[], config: Config, log: (line: string) => void, untilStopped: () => Promise<string>): Promise<void> {
  const { values } = parseArgs({ args: rest, options: { bundle: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' } } });
  if (!values.bundle) throw new ConfigError('serve needs --bundle <folder> (written by mlops package) [--port 8080] [--host 127.0.0.1]');
  const port = values.port === undefined ? 8080 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`--port takes a port number from 0 to 65535, got "${values.port}"`);
  const server = await startBundleServer(values.bundle, {
    host: values.host ?? '127.0.0.1', port, maxBatch: config.api.maxBatch, maxBody: config.api.maxBody, microBatch: config.api.microBatch, log,
  });
  const { name, version, onnxSha256 } = server.model;
  log(`serving ${name}@${version} (ONNX sha256 ${onnxSha256}) from ${path.resolve(values.bundle)}`);
  log(`listening on ${server.url}: POST ${server.url}/v1/models/${name}/predict`);
  const signal = await untilStopped();
  log(`${signal}: stopping`);
  await server.stop();
}
