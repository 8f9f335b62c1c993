/**
 * Composes the processes: the infrastructure (Temporal dev server, embedded Postgres) unless
 * configured to use existing ones, the stores, the worker and the API. `mlops up` runs all of them;
 * `mlops worker` and `mlops api` run one each against the configured (or default local) services.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { Client } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { Pool } from 'pg';
import { collectDefaultMetrics } from 'prom-client';
import { createApp, routeTable } from '../api/app';
import { createAlerter } from '../alerts/channels';
import { createSlackClient } from '../alerts/slack-alerts';
import { withPredictFastPath } from '../api/predict-fast-path';
import { PipelineService } from '../usecases/pipelines';
import { BatchService } from '../usecases/batch-scoring';
import { RegistryService } from '../usecases/registry-operations';
import { MonitoringService } from '../usecases/monitoring';
import type { ImportOnnxVersion } from '../api/mlflow/onnx-import';
import { importMlflowVersions } from '../usecases/mlflow-import';
import { AccessControl, RouteSpec } from '../api/access';
import { registerMonitoringMetrics } from '../serving/monitoring-metrics';
import { RolloutService } from '../usecases/rollouts';
import { adminKeyFile, Config, workflowUiUrl } from '../config';
import { ModelServer } from '../serving/model-server';
import { S3ArtifactStore } from '../store/s3-artifacts';
import { ArtifactStore, LocalArtifactStore } from '../store/artifacts';
import { createPool } from '../store/db';
import { migrate } from '../store/migrations';
import { connectClient, ensureSearchAttributes, TemporalTarget } from '../temporal';
import { SourceContext } from '../ingest/sources';
import { sourcePolicy } from '../ingest/source-policy';
import { connectionUrl, SecretsKeys } from '../store/connections';
import { createCustomTrainingWorker, createWorker } from '../worker';
import { embeddedDatabaseUrl, startEmbeddedPostgres } from './embedded-postgres';
import { findTemporalCli } from './temporal-cli';
import { startDevServer } from './temporal-dev-server';
import { createRepositories } from '../store/repositories';
import { withRequestSpans } from '../telemetry/http-spans';
import { inferenceSpans } from '../telemetry/inference-spans';
import { clientTracing } from '../telemetry/temporal-tracing';
import type { Tracing } from '../telemetry/tracing';
import { closeLogger, createLogger, forService, Logger, SERVICES } from '../logging/logger';
import { withRequestLog } from '../logging/http-request-log';

export type Log = (line: string) => void;

export interface Endpoints {
  temporalAddress: string;
  temporalUiUrl: string;
  databaseUrl: string;
}

export interface Infrastructure extends Endpoints {
  stop(): Promise<void>;
}

/** Where a standalone worker or API looks when nothing is configured: the services `mlops up` starts. */
export function defaultEndpoints(config: Config): Endpoints {
  return {
    temporalAddress: config.temporal.address ?? `127.0.0.1:${config.temporal.devServerPort}`,
    temporalUiUrl: config.temporal.uiUrl ?? `http://localhost:${config.temporal.devServerUiPort}`,
    databaseUrl: config.database.url ?? embeddedDatabaseUrl(embeddedDataDir(config), config.database.embeddedPort),
  };
}

/** The frontend this process talks to, with the configured TLS and API key (none for the dev server we start). */
export function temporalTarget(config: Config, endpoints: Endpoints): TemporalTarget {
  return { address: endpoints.temporalAddress, tls: config.temporal.tls, apiKey: config.temporal.apiKey };
}

/** Where the embedded PostgreSQL keeps its cluster. */
function embeddedDataDir(config: Config): string {
  return path.join(config.dataDir, 'pgdata');
}

/**
 * Starts what is not configured to exist already: the Temporal dev server and the embedded store, side
 * by side (a fresh PostgreSQL cluster takes a few seconds of initdb, as the dev server does to start).
 */
export async function startInfrastructure(config: Config, log: Log): Promise<Infrastructure> {
  const endpoints = defaultEndpoints(config);
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => { for (const s of stops.reverse()) await s().catch(() => undefined); };
  const temporal = async () => {
    if (config.temporal.address) return;
    const cliPath = await findTemporalCli({ cliPath: config.temporal.cliPath, toolsDir: path.join(config.dataDir, 'tools'), log });
    const server = await startDevServer({
      cliPath,
      dataDir: path.join(config.dataDir, 'temporal'),
      port: config.temporal.devServerPort,
      uiPort: config.temporal.devServerUiPort,
      namespace: config.temporal.namespace,
    });
    stops.push(() => server.stop());
    endpoints.temporalAddress = server.address;
    endpoints.temporalUiUrl = config.temporal.uiUrl ?? server.uiUrl ?? endpoints.temporalUiUrl;
  };
  const store = async () => {
    if (config.database.url) return;
    const pg = await startEmbeddedPostgres({ dataDir: embeddedDataDir(config), port: config.database.embeddedPort, log });
    stops.push(() => pg.stop());
    endpoints.databaseUrl = pg.url;
  };
  // both settle before a failure is reported, so whichever did start is stopped again
  const failed = (await Promise.allSettled([temporal(), store()])).find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await stop();
    throw failed.reason;
  }
  return { ...endpoints, stop };
}

export interface Stores {
  pool: Pool;
  artifacts: ArtifactStore;
  /** Where data may be read from, and the URLs behind connection names (unsealed with `secrets`). */
  sources: SourceContext;
  /** The key that seals connection credentials, and the keys that open older ones. */
  secrets: SecretsKeys;
}

/** Connects to the metadata store, applies migrations, and opens the artifact store. */
export async function openStores(config: Config, databaseUrl: string): Promise<Stores> {
  const pool = createPool(databaseUrl);
  try {
    await migrate(pool);
  } catch (err) {
    await pool.end();
    throw new Error(`cannot prepare the metadata store at ${redactUrl(databaseUrl)}: ${(err as Error).message}`);
  }
  const artifacts = config.artifacts.kind === 's3'
    ? new S3ArtifactStore({ ...config.artifacts })
    : new LocalArtifactStore(path.join(config.dataDir, 'artifacts'));
  const secrets = ensureSecretsKeys(config);
  const policy = sourcePolicy({ dataRoots: config.sources.dataRoots, dataDir: config.dataDir, urlAllow: config.sources.urlAllow, s3: config.sources.s3 });
  return { pool, artifacts, secrets, sources: { policy, connectionUrl: (name) => connectionUrl(pool, secrets, name) } };
}

/**
 * The key that seals connection credentials: MLOPS_ENCRYPTION_KEY when set (as it must be when the API
 * and the workers run on different machines), else one generated into the data dir at first start,
 * readable by this user only.
 */
export function ensureSecretsKeys(config: Config): SecretsKeys {
  const { encryption, decryptionKeys } = config.privacy;
  if (encryption) return { keyId: encryption.keyId, key: encryption.key, decryptionKeys };
  const file = path.join(config.dataDir, 'secrets-key');
  fs.mkdirSync(config.dataDir, { recursive: true });
  try {
    fs.writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  } catch {
    // it exists already (written by an earlier start or by another process)
  }
  const key = Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64');
  if (key.length !== 32) throw new Error(`${file} does not hold a 32-byte key in base64; remove it only if no connection was registered with it`);
  return { keyId: LOCAL_SECRETS_KEY_ID, key, decryptionKeys: { ...decryptionKeys, [LOCAL_SECRETS_KEY_ID]: key } };
}

/** The id of the generated secrets key in the data dir. */
const LOCAL_SECRETS_KEY_ID = 'local';

function redactUrl(url: string): string {
  try { const u = new URL(url); if (u.password) u.password = '***'; return u.toString(); } catch { return url; }
}

/**
 * The commit the code runs from, recorded on every model version; `+dirty` when tracked files differ
 * from it (the step cache does not trust such a version).
 */
export function codeVersion(config: Config): string | undefined {
  if (config.codeVersion) return config.codeVersion;
  const git = (...args: string[]) => execFileSync('git', args, { cwd: path.resolve(__dirname, '..', '..'), stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  try {
    const commit = git('rev-parse', 'HEAD');
    if (!commit) return undefined;
    return git('status', '--porcelain', '--untracked-files=no') ? `${commit}+dirty` : commit;
  } catch {
    return undefined;
  }
}

/**
 * The worker, and, when `customTraining` (MLOPS_CUSTOM_TRAINING=on, or `mlops up`), a second one that
 * polls the registered trainers' queue: only processes that opt in run user code. Stopping the first
 * stops both.
 */
export async function startWorker(config: Config, endpoints: Endpoints, stores: Stores, o: { customTraining?: boolean; tracing?: Tracing; log?: Log } = {}): Promise<{ worker: Worker; done: Promise<void> }> {
  // also the activities' client (monitoring looks at workflows and creates schedules): closed when the worker stops
  const client = await connectClient(temporalTarget(config, endpoints), config.temporal.namespace, clientTracing(o.tracing));
  await ensureSearchAttributes(client);
  // one Slack client for the worker (alerts and approval requests), one Alerter over the configured channels
  const slack = config.slack.botToken ? createSlackClient(config.slack.botToken, config.slack.apiUrl, 10_000) : undefined;
  const worker = await createWorker({
    client,
    temporal: temporalTarget(config, endpoints),
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    pool: stores.pool,
    artifacts: stores.artifacts,
    sources: stores.sources,
    codeVersion: codeVersion(config),
    alerter: createAlerter(stores.pool, config.alerts, { slack, ...(o.log ? { log: o.log } : {}) }),
    ...(slack ? { slack: { client: slack, approvalChannel: config.slack.approvalChannel } } : {}),
    uiUrl: (id) => workflowUiUrl({ ...config, temporal: { ...config.temporal, uiUrl: endpoints.temporalUiUrl } }, id),
    monitorEvery: config.monitor.every,
    privacy: config.privacy,
    apiUrl: config.api.url,
    tracing: o.tracing,
  });
  // the workers' own connections are closed too: Temporal's runtime stops when the last one is, and with
  // its core's logs forwarded to ours (src/logging/temporal-logger.ts) it would otherwise keep the process alive
  const closeAll = (...workers: Worker[]) => Promise.all([client.connection.close(), ...workers.map((w) => w.connection?.close())]).then(() => undefined);
  if (!(o.customTraining ?? config.customTraining)) return { worker, done: worker.run().finally(() => closeAll(worker)) };
  const trainers = await createCustomTrainingWorker({ temporal: temporalTarget(config, endpoints), namespace: config.temporal.namespace, repos: createRepositories(stores.pool), artifacts: stores.artifacts, tracing: o.tracing });
  const stopTrainers = () => { if (trainers.getState() === 'RUNNING') trainers.shutdown(); };
  const done = Promise.all([
    worker.run().finally(stopTrainers),
    trainers.run(),
  ]).then(() => undefined).finally(() => closeAll(worker, trainers));
  return { worker, done };
}

/**
 * The admin key: MLOPS_ADMIN_KEY, else the one in the data dir's `admin-key` file, created (readable by
 * this user only) at first start, so a fresh machine needs no manual step and the CLI finds it.
 */
export function ensureAdminKey(config: Config): string {
  if (config.api.adminKey) return config.api.adminKey;
  const file = adminKeyFile(config);
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const key = `mlk_admin_${randomBytes(32).toString('base64url')}`;
    try {
      fs.writeFileSync(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
      return key;
    } catch {
      return fs.readFileSync(file, 'utf8').trim(); // another process wrote it first
    }
  }
}

export interface RunningApi {
  url: string;
  client: Client;
  /** Writes buffered prediction logs and serving statistics now (tests; they are written every second anyway). */
  flush(): Promise<void>;
  /** Reloads routing from the registry now (tests; it otherwise follows notifications within a second, and polls). */
  refresh(): Promise<void>;
  /** Every route with the access it needs. */
  routes: RouteSpec[];
  stop(): Promise<void>;
}

export interface ApiOptions {
  /** Wraps the import of ONNX versions registered through /mlflow (tests watch or refuse requests with it). */
  importOnnxVersion?: (real: ImportOnnxVersion) => ImportOnnxVersion;
  /** OpenTelemetry tracing (src/telemetry/tracing.ts): a span per request, inference spans in predict, traces into workflows. */
  tracing?: Tracing;
  /** The process's logger (the CLI's); unset: the API opens its own from config.logging and closes it at stop. */
  logger?: Logger;
}

export async function startApi(config: Config, endpoints: Endpoints, stores: Stores, log: Log, o: ApiOptions = {}): Promise<RunningApi> {
  const client = await connectClient(temporalTarget(config, endpoints), config.temporal.namespace, clientTracing(o.tracing));
  const useSearchAttributes = await ensureSearchAttributes(client);
  const uiConfig = { ...config, temporal: { ...config.temporal, uiUrl: endpoints.temporalUiUrl } };
  const uiUrl = (id: string) => workflowUiUrl(uiConfig, id);
  const models = new ModelServer(stores.pool, stores.artifacts, { maxBatch: config.api.maxBatch, microBatch: config.api.microBatch, keepPreviousMs: config.api.keepPreviousMs, pollIntervalMs: config.api.routingPollMs, logSample: config.retention.predictionSample, retention: config.retention, review: config.review, privacy: config.privacy, replica: `${os.hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`, ...(o.tracing ? { traceInference: inferenceSpans(o.tracing.tracer) } : {}), log });
  await models.start();
  registerMonitoringMetrics(models.metrics, stores.pool);
  // the process itself: event-loop delay, GC pauses by kind, heap; what a serving tail is made of
  collectDefaultMetrics({ register: models.metrics });
  const repos = createRepositories(stores.pool);
  const pipelines = new PipelineService(client, { taskQueue: config.temporal.taskQueue, uiUrl, useSearchAttributes, repos, sources: stores.sources.policy });
  const batch = new BatchService(client, { taskQueue: config.temporal.taskQueue, uiUrl, repos, sources: stores.sources.policy, checkSource: (data) => pipelines.checkSource(data) });
  const registryOps = new RegistryService(client, { taskQueue: config.temporal.taskQueue, uiUrl });
  const rollouts = new RolloutService(client, repos, { taskQueue: config.temporal.taskQueue, uiUrl });
  const monitoring = new MonitoringService(client, repos, { taskQueue: config.temporal.taskQueue, uiUrl, every: config.monitor.every });
  const access = new AccessControl({ repos, adminKey: ensureAdminKey(config), predict: config.api.predictAuth, feedback: config.api.feedbackAuth });
  const app = createApp({ client, repos, pool: stores.pool, models, pipelines, registryOps, rollouts, monitoring, batch, artifacts: stores.artifacts, access, secrets: stores.secrets, maxUploadBytes: config.sources.maxUploadBytes, slack: config.slack, privacy: config.privacy, maxBody: config.api.maxBody, importOnnxVersion: (o.importOnnxVersion ?? ((real) => real))(importMlflowVersions(repos, pipelines)), uiUrl, console: { sessionSeconds: config.api.consoleSessionSeconds, secureCookies: config.api.url.startsWith('https:') }, log });
  // predict requests skip Express when they can (src/api/predict-fast-path.ts)
  // one line per request, the fast path's included (src/logging/http-request-log.ts), inside the request's span
  const ownLogger = o.logger ? undefined : createLogger(config.logging);
  const requestLog = forService(o.logger ?? ownLogger!, SERVICES.api);
  const listener = withRequestLog(withPredictFastPath(app, { models, maxBody: config.api.maxBody, access, log }), requestLog);
  const server = http.createServer(o.tracing ? withRequestSpans(listener, o.tracing.tracer) : listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`the API cannot listen on ${config.api.host}:${config.api.port}: ${err.message}; set MLOPS_API_PORT`)));
    server.listen(config.api.port, config.api.host, () => resolve());
  });
  const address = server.address() as { port: number };
  const host = config.api.host === '0.0.0.0' || config.api.host === '::' ? 'localhost' : config.api.host;
  return {
    url: `http://${host}:${address.port}`,
    client,
    flush: () => models.flush(),
    refresh: () => models.refresh(),
    routes: routeTable(app),
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const force = setTimeout(() => server.closeAllConnections(), 5000);
      await closed;
      clearTimeout(force);
      await models.stop();
      await client.connection.close();
      if (ownLogger) closeLogger(ownLogger, config.logging);
    },
  };
}
