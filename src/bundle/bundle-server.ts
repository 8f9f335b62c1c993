/**
 * `mlops serve --bundle DIR`: one model version from a bundle, served over HTTP with nothing else
 * running — no PostgreSQL, no Temporal, no artifact store, no writes. The bundle is checked against its
 * manifest first (src/bundle/manifest.ts), then the version is opened and smoke-tested by the same code
 * the platform's replicas use (src/serving/served-version.ts), and predict answers through the same
 * request checks and answer format (api/predict-fast-path.ts's predictAnswer), so the same rows get the
 * same predictions here as from the platform.
 *
 * What it leaves out, because there is no store behind it: the prediction log (so no feedback, drift or
 * review queue), serving statistics and rollouts. Answers still carry prediction ids, for the same shape.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { NextFunction, Request, Response } from 'express';
import { ApiError } from '../errors';
import { errorAnswer, holdsNul, NUL_REFUSED, toApiError } from '../api/http-errors';
import { plainJsonBody } from '../api/json-body';
import { predictAnswer, writeJson } from '../api/predict-fast-path';
import type { MicroBatchOptions } from '../serving/micro-batcher';
import { formatPredictions, openServedVersion, Prediction, ServedVersion } from '../serving/served-version';
import { BUNDLE_FILES, BundleError, readBundle, VerifiedBundle } from './manifest';

export interface BundleServerOptions {
  host: string;
  /** 0: any free port (the answer's `url` says which). */
  port: number;
  /** MLOPS_MAX_BATCH, MLOPS_MAX_BODY and the micro-batching settings, as on the platform. */
  maxBatch: number;
  maxBody: string;
  microBatch: MicroBatchOptions;
  log?: (line: string) => void;
}

export interface BundleServer {
  url: string;
  model: { name: string; version: number; onnxSha256: string };
  stop(): Promise<void>;
}

/** The bundle's one version, answering predict as ModelServer does for a version it routes to. */
class BundleModel {
  constructor(private readonly served: ServedVersion, private readonly log?: (line: string) => void) {}

  async predict(name: string, instances: unknown): Promise<{ predictions: Prediction[]; model: { name: string; version: number } }> {
    const v = this.served;
    if (name !== v.name) throw new ApiError('not_found', `model "${name}" has no deployed version here: this bundle serves "${v.name}"`);
    const prepared = v.prepare(instances);
    let outputs: Float32Array | Float64Array;
    let width: number;
    try {
      ({ values: outputs, width } = await prepared.run());
    } catch (err) {
      this.log?.(`inference failed on ${v.name}@${v.version}: ${(err as Error).message}`);
      throw new ApiError('internal', `model "${name}" version ${v.version} failed to answer`);
    }
    return { predictions: formatPredictions(v.signature, outputs, width, prepared.rows), model: { name, version: v.version } };
  }
}

/** Opens the bundle's version from the verified bytes: digests map to the files the manifest pinned. */
async function openBundle(bundle: VerifiedBundle, o: BundleServerOptions): Promise<ServedVersion> {
  const { manifest } = bundle;
  const smokeEntry = manifest.files.find((f) => f.path === BUNDLE_FILES.smokeSet);
  const byDigest = new Map<string, Buffer>([[manifest.model.onnxSha256, bundle.onnx]]);
  if (smokeEntry && bundle.smokeSet) byDigest.set(smokeEntry.sha256, Buffer.from(JSON.stringify(bundle.smokeSet)));
  const artifacts = {
    async get(digest: string): Promise<Buffer> {
      const bytes = byDigest.get(digest);
      if (!bytes) throw new BundleError(`the bundle holds no file with sha256 ${digest}`);
      return bytes;
    },
  };
  const opened = await openServedVersion(artifacts, {
    modelName: manifest.model.name, version: manifest.model.version, onnxDigest: manifest.model.onnxSha256,
    smokeDigest: smokeEntry?.sha256 ?? null, signature: bundle.signature,
  }, { maxBatch: o.maxBatch, microBatch: o.microBatch });
  if ('problem' in opened) throw new BundleError(`${manifest.model.name}@${manifest.model.version} cannot serve: ${opened.problem}`);
  return opened;
}

/** Checks and opens the bundle in `dir`, then listens; throws BundleError when the bundle cannot be served. */
export async function startBundleServer(dir: string, o: BundleServerOptions): Promise<BundleServer> {
  const bundle = readBundle(dir);
  const served = await openBundle(bundle, o);
  const model = new BundleModel(served, o.log);
  const { name, version, onnxSha256 } = bundle.manifest.model;

  const app = express();
  app.disable('x-powered-by');
  app.use(plainJsonBody(o.maxBody));
  app.use(express.json({ limit: o.maxBody, strict: true, type: ['application/json', 'application/*+json'] }));
  // refused here as on the platform, so both answer the same requests alike
  app.use((req, _res, next) => next(/%00/.test(req.url) || holdsNul(req.body) ? new ApiError('invalid_request', NUL_REFUSED) : undefined));
  app.get('/healthz', (_req, res) => { res.json({ status: 'ok' }); });
  app.get('/readyz', (_req, res) => { res.json({ status: 'ready', model: { name, version, onnxSha256 } }); });
  // what is served, and where it came from
  app.get('/v1/bundle', (_req, res) => { res.json(bundle.manifest); });
  app.post('/v1/models/:name/predict', (req: Request, res: Response, next: NextFunction) => {
    predictAnswer(model, String(req.params.name), req.body, undefined).then((text) => writeJson(res, 200, text), next);
  });
  app.use((req, _res, next) => next(new ApiError('not_found', `no route for ${req.method} ${req.path}: a bundle serves POST /v1/models/${name}/predict, GET /v1/bundle, /healthz and /readyz`)));
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const e = toApiError(err);
    if (e.code === 'internal') o.log?.(`internal error on ${req.method} ${req.path}: ${(err as Error)?.stack ?? String(err)}`);
    const { status, body } = errorAnswer(e);
    res.status(status).json(body);
  });

  const server = http.createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => { server.off('error', reject); resolve(); });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    model: { name, version, onnxSha256 },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await served.session.release().catch(() => undefined);
    },
  };
}
