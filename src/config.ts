/**
 * The one place that reads the platform's settings from the environment. Every setting has a default
 * that makes `mlops up` work on a fresh machine; a bad value stops the process at start with a message
 * naming the key. Outside it, only PATH is looked up (to find programs), child processes inherit the
 * environment, and OpenTelemetry's exporters read their own OTEL_* settings (docs/observability.md).
 */
import bytes from 'bytes';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

/** Micro-batching when nothing is set: a batch closes at the end of its event-loop turn, and holds up to 256 rows. */
export const MICRO_BATCH_DEFAULTS = { windowMs: 0, maxRows: 256 } as const;

/** The levels MLOPS_LOG_LEVEL takes: pino's, from the most to the least verbose. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);

const schema = z.object({
  /** Folder for the embedded stack: Temporal's SQLite file, the embedded PostgreSQL cluster, artifacts, tools. */
  MLOPS_DATA_DIR: z.string().default('.mlops'),
  /** host:port of an existing Temporal frontend; unset means "start the dev server ourselves". */
  TEMPORAL_ADDRESS: optionalString,
  TEMPORAL_NAMESPACE: z.string().default('default'),
  /** Explicit path to the `temporal` CLI binary. */
  TEMPORAL_CLI_PATH: optionalString,
  /** Base URL of the Temporal Web UI, used to build links to runs. */
  TEMPORAL_UI_URL: optionalString,
  /**
   * TLS to the Temporal frontend (with TEMPORAL_ADDRESS): the CA that signed the frontend's certificate
   * (unset: the system's CAs), this client's certificate and key for mutual TLS, and the name to expect
   * in the frontend's certificate when it is not the address's host. Each is a PEM file path, or the
   * PEM text itself (a Kubernetes Secret as an environment variable).
   */
  TEMPORAL_TLS_CA: optionalString,
  TEMPORAL_TLS_CERT: optionalString,
  TEMPORAL_TLS_KEY: optionalString,
  TEMPORAL_TLS_SERVER_NAME: optionalString,
  /** Temporal Cloud's API key: sent as `authorization: Bearer <key>` on every call, over TLS. */
  TEMPORAL_API_KEY: optionalString,
  /** Port of the embedded Temporal dev server's frontend and Web UI. */
  MLOPS_TEMPORAL_PORT: port(7233),
  MLOPS_TEMPORAL_UI_PORT: port(8233),
  /** PostgreSQL connection string; unset means "start the embedded PostgreSQL server ourselves". */
  DATABASE_URL: optionalString,
  /** Port of the embedded PostgreSQL server. */
  MLOPS_PG_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /** The name of MLOPS_PG_PORT while the embedded store was PGlite; still read when MLOPS_PG_PORT is unset. */
  MLOPS_PGLITE_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  MLOPS_API_PORT: port(8080),
  MLOPS_API_HOST: z.string().default('127.0.0.1'),
  /** Where the CLI finds the API; default http://127.0.0.1:<MLOPS_API_PORT>. */
  MLOPS_API_URL: optionalString,
  /** Accepted as an admin API key; unset: one is generated into <MLOPS_DATA_DIR>/admin-key at first start. */
  MLOPS_ADMIN_KEY: optionalString,
  /** The key the CLI sends (default: the admin key, from MLOPS_ADMIN_KEY or the data dir's admin-key file). */
  MLOPS_API_KEY: optionalString,
  /** Predict: open to anyone (default), or only with an API key. */
  MLOPS_PREDICT_AUTH: z.enum(['open', 'key']).default('open'),
  /**
   * Feedback (ground-truth labels, which drive canary live accuracy and quality-triggered retraining):
   * only with an API key (default), or open to anyone who can reach the API.
   */
  MLOPS_FEEDBACK_AUTH: z.enum(['open', 'key']).default('key'),
  /** How long a web console session lasts after sign-in, in hours (revoking its API key ends it sooner). */
  MLOPS_CONSOLE_SESSION_HOURS: z.coerce.number().positive().max(24 * 30).default(8),
  /** Whether `mlops worker` runs registered trainers (user code) too; `mlops up` always does. */
  MLOPS_CUSTOM_TRAINING: z.enum(['on', 'off']).default('off'),
  /**
   * Folders (absolute, comma-separated) that file sources may be read from; never MLOPS_DATA_DIR. Unset:
   * the working directory. The bundled datasets are always readable.
   */
  MLOPS_DATA_ROOTS: optionalString,
  /** host or host:port entries (comma-separated) that URL sources may reach although they resolve to internal addresses. */
  MLOPS_URL_ALLOW: optionalString,
  /** Largest dataset upload (POST /v1/datasets). */
  MLOPS_MAX_UPLOAD: z.string().refine((v) => (bytes.parse(v) ?? NaN) > 0, 'must be a size such as 1gb or 200mb').default('1gb'),
  /** Task queue shared by workers and clients. */
  MLOPS_TASK_QUEUE: z.string().default('mlops'),
  /** Largest JSON body the API accepts. */
  MLOPS_MAX_BODY: z.string().refine((v) => (bytes.parse(v) ?? NaN) > 0, 'must be a size such as 2mb or 512kb').default('2mb'),
  /** Most instances in one predict call. */
  MLOPS_MAX_BATCH: z.coerce.number().int().min(1).default(1000),
  /**
   * Micro-batching: concurrent predict requests for one version run as one inference. A batch stays
   * open this many milliseconds (0: until the end of the current event-loop turn, adding no wait) and
   * holds at most MLOPS_MICRO_BATCH_MAX_ROWS rows (1: no batching).
   */
  MLOPS_MICRO_BATCH_WINDOW_MS: z.coerce.number().min(0).max(1000).default(MICRO_BATCH_DEFAULTS.windowMs),
  MLOPS_MICRO_BATCH_MAX_ROWS: z.coerce.number().int().min(1).max(100_000).default(MICRO_BATCH_DEFAULTS.maxRows),
  /** Seconds a replaced version stays loaded in each API replica, for an instant rollback. */
  MLOPS_KEEP_PREVIOUS_SECONDS: z.coerce.number().min(0).default(300),
  /**
   * How often each API replica re-reads routing from the registry, besides following its NOTIFY
   * (a safety net for a notification missed while the LISTEN connection was down); 0: NOTIFY only.
   */
  MLOPS_ROUTING_POLL_MS: z.coerce.number().int().min(0).default(1000),
  /** Share of served predictions kept in the prediction log (1 = all, 0 = none). */
  MLOPS_PREDICTION_LOG_SAMPLE: z.coerce.number().min(0).max(1).default(1),
  /** Days the prediction log (with its feedback) and the serving statistics are kept. */
  MLOPS_PREDICTION_LOG_DAYS: z.coerce.number().positive().default(30),
  MLOPS_SERVING_STATS_DAYS: z.coerce.number().positive().default(7),
  /**
   * Active learning: which classifier answers enter the review queue. margin: the top two classes'
   * probabilities are within MLOPS_REVIEW_THRESHOLD (default 0.1); entropy: the normalised entropy is
   * at least the threshold (default 0.9); off: none.
   */
  MLOPS_REVIEW_MEASURE: z.enum(['margin', 'entropy', 'off']).default('margin'),
  MLOPS_REVIEW_THRESHOLD: z.coerce.number().min(0).max(1).optional(),
  /** How often each deployed model's monitor runs (a Temporal Schedule interval such as 1h or 15m). */
  MLOPS_MONITOR_EVERY: z.string().regex(/^\d+(s|m|h|d)$/, 'an interval such as 30m, 1h or 1d').default('1h'),
  /**
   * Privacy. The HMAC key that pseudonymises PII columns and data-subject ids in the prediction log
   * (base64, at least 32 bytes; unset: PII columns are dropped rather than pseudonymised).
   */
  MLOPS_PII_KEY: optionalString,
  /**
   * AES-256-GCM key (base64 of 32 bytes) that encrypts logged prediction inputs at rest, and its id
   * (stored with every row, for rotation). Older keys still needed for reading: "id:base64,id:base64".
   */
  MLOPS_ENCRYPTION_KEY: optionalString,
  MLOPS_ENCRYPTION_KEY_ID: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/).default('k1'),
  MLOPS_DECRYPTION_KEYS: optionalString,
  /** Commit the code was built from, recorded with every model version. */
  MLOPS_CODE_VERSION: optionalString,
  /** S3-compatible artifact store: setting the bucket switches it on (default: a folder in the data dir). */
  MLOPS_S3_BUCKET: optionalString,
  MLOPS_S3_ENDPOINT: optionalString,
  MLOPS_S3_REGION: z.string().default('us-east-1'),
  MLOPS_S3_PREFIX: z.string().default(''),
  /** Static credentials; unset means the AWS SDK's default chain (profile, instance role...). */
  MLOPS_S3_ACCESS_KEY_ID: optionalString,
  MLOPS_S3_SECRET_ACCESS_KEY: optionalString,
  /**
   * Buckets `s3://bucket/key` data sources may read, comma-separated (default: none, so s3:// sources are
   * refused). Read with the MLOPS_S3_ENDPOINT, region and credentials; the artifact bucket is never one.
   */
  MLOPS_S3_SOURCE_BUCKETS: optionalString,
  SLACK_BOT_TOKEN: optionalString,
  SLACK_SIGNING_SECRET: optionalString,
  SLACK_APPROVAL_CHANNEL: optionalString,
  SLACK_API_URL: optionalString,
  /** Channel for monitoring and rollout alerts (default: the approval channel). */
  SLACK_ALERT_CHANNEL: optionalString,
  /** A generic webhook that receives every alert as signed JSON; the secret signs it (HMAC-SHA256). */
  MLOPS_ALERT_WEBHOOK_URL: optionalString,
  MLOPS_ALERT_WEBHOOK_SECRET: optionalString,
  /** PagerDuty Events API v2: the integration's routing key switches the channel on; the URL is its base. */
  PAGERDUTY_ROUTING_KEY: optionalString,
  PAGERDUTY_EVENTS_URL: z.string().default('https://events.pagerduty.com'),
  /** The same alert (same dedup key) is sent at most once per this many seconds. */
  MLOPS_ALERT_DEDUP_SECONDS: z.coerce.number().min(0).default(3600),
  /** At most this many alerts per model per hour are sent; the rest are recorded as suppressed. */
  MLOPS_ALERT_RATE_PER_HOUR: z.coerce.number().int().min(1).default(10),
  /**
   * Traces (OpenTelemetry's standard variables; src/telemetry): sent over OTLP/HTTP to this base URL
   * (spans go to <endpoint>/v1/traces); unset: tracing is off and costs nothing.
   */
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalString,
  /** OTLP/HTTP encoding; gRPC is not offered (the collector in front of any backend speaks both). */
  OTEL_EXPORTER_OTLP_PROTOCOL: z.string().default('http/protobuf'),
  /** Which traces are kept: the standard sampler names; a ratio sampler reads OTEL_TRACES_SAMPLER_ARG (0..1, default 1). */
  OTEL_TRACES_SAMPLER: z.string().default('parentbased_always_on'),
  OTEL_TRACES_SAMPLER_ARG: optionalString,
  /** The service.name the spans carry. */
  OTEL_SERVICE_NAME: z.string().default('mlops'),
  /**
   * The share of predict requests that begin a trace which is kept, of what OTEL_TRACES_SAMPLER keeps:
   * a traced predict costs about what the rest of the request does (bench/RESULTS.md). A caller's
   * sampled traceparent is followed as the sampler says.
   */
  MLOPS_TRACE_PREDICT_SAMPLE: z.coerce.number().min(0).max(1).default(0.01),
  /** The worker's Temporal SDK metrics for Prometheus at http://<host>:<port>/metrics; unset: not served. */
  MLOPS_WORKER_METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  MLOPS_WORKER_METRICS_HOST: z.string().default('127.0.0.1'),
  /** Least severe log level written (pino's levels; silent: none). */
  MLOPS_LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  /** Write the log lines (JSON) to this file, appended, instead of standard output. */
  MLOPS_LOG_FILE: optionalString,
});

export type Env = z.infer<typeof schema>;

/** Where s3:// data sources may be read from, and with which client settings. */
export interface S3SourceSettings {
  buckets: string[];
  artifactBucket?: string;
  endpoint?: string;
  region: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

export interface Config {
  dataDir: string;
  /** Whether this worker polls the registered trainers' queue (runs user code). */
  customTraining: boolean;
  temporal: {
    /** Undefined when the platform should start its own dev server. */
    address?: string;
    namespace: string;
    cliPath?: string;
    uiUrl?: string;
    /** TLS to the frontend: set when any TEMPORAL_TLS_* or TEMPORAL_API_KEY is (an API key needs TLS). */
    tls?: TemporalTls;
    apiKey?: string;
    devServerPort: number;
    devServerUiPort: number;
    taskQueue: string;
  };
  database: { url?: string; embeddedPort: number };
  api: { port: number; host: string; url: string; maxBody: string; maxBatch: number; microBatch: { windowMs: number; maxRows: number }; keepPreviousMs: number; routingPollMs: number; adminKey?: string; apiKey?: string; predictAuth: 'open' | 'key'; feedbackAuth: 'open' | 'key'; consoleSessionSeconds: number };
  /** Where data may come from: file roots, internal hosts allowed for URLs, the upload limit in bytes. */
  sources: { dataRoots: string[]; urlAllow: string[]; maxUploadBytes: number; s3?: S3SourceSettings };
  /** What serving keeps, and for how long. */
  retention: { predictionSample: number; predictionLogDays: number; servingStatsDays: number };
  codeVersion?: string;
  /** Active learning's review queue: see MLOPS_REVIEW_MEASURE. */
  review: { measure: 'margin' | 'entropy' | 'off'; threshold: number };
  /** Monitoring: the interval of the schedule each deployed model's monitor gets. */
  monitor: { every: string };
  /** Where artifacts live: the data dir's folder, or an S3-compatible bucket. */
  artifacts: { kind: 'local' } | { kind: 's3'; bucket: string; endpoint?: string; region: string; prefix: string; credentials?: { accessKeyId: string; secretAccessKey: string } };
  slack: { botToken?: string; signingSecret?: string; approvalChannel?: string; apiUrl?: string };
  /** Privacy of the prediction log: pseudonymisation key, encryption key and older keys by id. */
  privacy: { piiKey?: Buffer; encryption?: { keyId: string; key: Buffer }; decryptionKeys: Record<string, Buffer> };
  /** Where alerts go, and how often. */
  alerts: {
    slackChannel?: string; webhookUrl?: string; webhookSecret?: string; dedupMs: number; ratePerHour: number;
    /** PagerDuty Events API v2: a secret (never logged or returned), and the API's base URL. */
    pagerduty?: { routingKey: string; eventsUrl: string };
  };
  /** Traces and the worker's Temporal SDK metrics: src/telemetry. */
  telemetry: TelemetrySettings;
  /**
   * The process's log: its level, the file it goes to (unset: standard output), and every secret value
   * configured, which no log line may show (the logger masks them wherever they appear).
   */
  logging: { level: LogLevel; file?: string; secrets: string[] };
}

/** The samplers OTEL_TRACES_SAMPLER names (OpenTelemetry's SDK configuration spec). */
export const TRACE_SAMPLERS = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'] as const;
/** The OTLP encodings OTEL_EXPORTER_OTLP_PROTOCOL may name. */
export const OTLP_PROTOCOLS = ['http/protobuf', 'http/json'] as const;

export interface TelemetrySettings {
  /** Undefined when OTEL_EXPORTER_OTLP_ENDPOINT is unset: no tracing at all. */
  traces?: {
    /** The full URL spans are posted to: <OTEL_EXPORTER_OTLP_ENDPOINT>/v1/traces. */
    url: string;
    protocol: typeof OTLP_PROTOCOLS[number];
    sampler: typeof TRACE_SAMPLERS[number];
    /** The share of new traces the ratio samplers keep. */
    ratio: number;
    /** The share of the predict requests the sampler would trace that begin a trace (MLOPS_TRACE_PREDICT_SAMPLE). */
    predictShare: number;
    serviceName: string;
  };
  /** Where the worker serves its Temporal SDK metrics for Prometheus; undefined: nowhere. */
  workerMetrics?: { host: string; port: number };
}

/** How the platform reaches a Temporal frontend over TLS; the PEM contents, read at start. */
export interface TemporalTls {
  /** The CA that signed the frontend's certificate; unset: the system's trusted CAs (Temporal Cloud). */
  ca?: Buffer;
  /** This client's certificate and key, for a frontend that requires them (mutual TLS). */
  clientCert?: { cert: Buffer; key: Buffer };
  serverName?: string;
}

/** Thrown when the environment holds a value the platform cannot use. */
export class ConfigError extends Error {}

/** Parses and validates configuration from an environment (defaults to `process.env`). */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid configuration: ${problems}`);
  }
  const e = parsed.data;
  if (!!e.MLOPS_S3_ACCESS_KEY_ID !== !!e.MLOPS_S3_SECRET_ACCESS_KEY) {
    throw new ConfigError('invalid configuration: MLOPS_S3_ACCESS_KEY_ID and MLOPS_S3_SECRET_ACCESS_KEY go together; set both or neither');
  }
  if (e.MLOPS_ALERT_WEBHOOK_URL && !e.MLOPS_ALERT_WEBHOOK_SECRET) {
    throw new ConfigError('invalid configuration: MLOPS_ALERT_WEBHOOK_URL needs MLOPS_ALERT_WEBHOOK_SECRET, which signs every alert it receives');
  }
  if (e.PAGERDUTY_ROUTING_KEY !== undefined && !/^[A-Za-z0-9_-]{1,128}$/.test(e.PAGERDUTY_ROUTING_KEY)) {
    // the key itself is a secret: the message says what is wrong, never what it is
    throw new ConfigError('invalid configuration: PAGERDUTY_ROUTING_KEY must be the integration key of a PagerDuty Events API v2 integration (letters, digits, "-" or "_", at most 128)');
  }
  let pagerdutyUrl: URL | undefined;
  try { pagerdutyUrl = new URL(e.PAGERDUTY_EVENTS_URL); } catch { /* reported below */ }
  if (!pagerdutyUrl || !['http:', 'https:'].includes(pagerdutyUrl.protocol) || pagerdutyUrl.username || pagerdutyUrl.password || pagerdutyUrl.search || pagerdutyUrl.hash) {
    throw new ConfigError(`invalid configuration: PAGERDUTY_EVENTS_URL must be an http(s) base URL without credentials or query, like https://events.pagerduty.com (got "${e.PAGERDUTY_EVENTS_URL.slice(0, 100)}")`);
  }
  if (e.MLOPS_ADMIN_KEY !== undefined && e.MLOPS_ADMIN_KEY.length < 16) {
    throw new ConfigError('invalid configuration: MLOPS_ADMIN_KEY must be at least 16 characters (it is the admin password of the API)');
  }
  const key32 = (name: string, value: string) => {
    const bytes = Buffer.from(value, 'base64');
    if (bytes.length !== 32) throw new ConfigError(`invalid configuration: ${name} must be 32 bytes in base64 (openssl rand -base64 32), got ${bytes.length} bytes`);
    return bytes;
  };
  const piiKey = e.MLOPS_PII_KEY ? Buffer.from(e.MLOPS_PII_KEY, 'base64') : undefined;
  if (piiKey && piiKey.length < 32) throw new ConfigError('invalid configuration: MLOPS_PII_KEY must be at least 32 bytes in base64 (openssl rand -base64 32)');
  const decryptionKeys: Record<string, Buffer> = {};
  for (const entry of (e.MLOPS_DECRYPTION_KEYS ?? '').split(',').map((x) => x.trim()).filter(Boolean)) {
    const [id, value] = entry.split(':');
    if (!id || !value) throw new ConfigError(`invalid configuration: MLOPS_DECRYPTION_KEYS takes "id:base64" entries separated by commas, got "${entry.slice(0, 20)}..."`);
    decryptionKeys[id] = key32(`MLOPS_DECRYPTION_KEYS (${id})`, value);
  }
  const encryption = e.MLOPS_ENCRYPTION_KEY ? { keyId: e.MLOPS_ENCRYPTION_KEY_ID, key: key32('MLOPS_ENCRYPTION_KEY', e.MLOPS_ENCRYPTION_KEY) } : undefined;
  if (encryption) decryptionKeys[encryption.keyId] = encryption.key;
  const temporalTls = temporalTlsFrom(e);
  const list = (v: string | undefined) => (v ?? '').split(',').map((x) => x.trim()).filter(Boolean);
  const dataRoots = e.MLOPS_DATA_ROOTS === undefined ? [process.cwd()] : list(e.MLOPS_DATA_ROOTS);
  for (const root of dataRoots) {
    if (!path.isAbsolute(root)) throw new ConfigError(`invalid configuration: MLOPS_DATA_ROOTS takes absolute folders separated by commas, got "${root}"`);
  }
  const s3SourceBuckets = list(e.MLOPS_S3_SOURCE_BUCKETS);
  for (const bucket of s3SourceBuckets) {
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw new ConfigError(`invalid configuration: MLOPS_S3_SOURCE_BUCKETS: "${bucket}" is not an S3 bucket name`);
    if (bucket === e.MLOPS_S3_BUCKET) throw new ConfigError(`invalid configuration: MLOPS_S3_SOURCE_BUCKETS may not name the artifact bucket "${bucket}": it holds the platform's models and datasets`);
  }
  const urlAllow = list(e.MLOPS_URL_ALLOW);
  for (const entry of urlAllow) {
    if (!/^(\[[0-9a-f:.]+\]|[a-z0-9._-]+)(:\d{1,5})?$/i.test(entry)) throw new ConfigError(`invalid configuration: MLOPS_URL_ALLOW takes host or host:port entries separated by commas, got "${entry}"`);
  }
  if (e.MLOPS_S3_PREFIX && !e.MLOPS_S3_PREFIX.endsWith('/')) {
    throw new ConfigError(`invalid configuration: MLOPS_S3_PREFIX must end with "/", got "${e.MLOPS_S3_PREFIX}"`);
  }
  return {
    dataDir: path.resolve(e.MLOPS_DATA_DIR),
    customTraining: e.MLOPS_CUSTOM_TRAINING === 'on',
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      cliPath: e.TEMPORAL_CLI_PATH,
      uiUrl: e.TEMPORAL_UI_URL,
      ...(temporalTls ? { tls: temporalTls } : {}),
      ...(e.TEMPORAL_API_KEY ? { apiKey: e.TEMPORAL_API_KEY } : {}),
      devServerPort: e.MLOPS_TEMPORAL_PORT,
      devServerUiPort: e.MLOPS_TEMPORAL_UI_PORT,
      taskQueue: e.MLOPS_TASK_QUEUE,
    },
    database: { url: e.DATABASE_URL, embeddedPort: e.MLOPS_PG_PORT ?? e.MLOPS_PGLITE_PORT ?? 5433 },
    api: {
      port: e.MLOPS_API_PORT,
      host: e.MLOPS_API_HOST,
      url: (e.MLOPS_API_URL ?? `http://127.0.0.1:${e.MLOPS_API_PORT}`).replace(/\/$/, ''),
      maxBody: e.MLOPS_MAX_BODY,
      maxBatch: e.MLOPS_MAX_BATCH,
      microBatch: { windowMs: e.MLOPS_MICRO_BATCH_WINDOW_MS, maxRows: e.MLOPS_MICRO_BATCH_MAX_ROWS },
      keepPreviousMs: e.MLOPS_KEEP_PREVIOUS_SECONDS * 1000,
      routingPollMs: e.MLOPS_ROUTING_POLL_MS,
      adminKey: e.MLOPS_ADMIN_KEY,
      apiKey: e.MLOPS_API_KEY,
      predictAuth: e.MLOPS_PREDICT_AUTH,
      feedbackAuth: e.MLOPS_FEEDBACK_AUTH,
      consoleSessionSeconds: Math.round(e.MLOPS_CONSOLE_SESSION_HOURS * 3600),
    },
    sources: {
      dataRoots, urlAllow, maxUploadBytes: bytes.parse(e.MLOPS_MAX_UPLOAD)!,
      ...(e.MLOPS_S3_SOURCE_BUCKETS ? {
        s3: {
          buckets: s3SourceBuckets, artifactBucket: e.MLOPS_S3_BUCKET, endpoint: e.MLOPS_S3_ENDPOINT, region: e.MLOPS_S3_REGION,
          ...(e.MLOPS_S3_ACCESS_KEY_ID && e.MLOPS_S3_SECRET_ACCESS_KEY ? { credentials: { accessKeyId: e.MLOPS_S3_ACCESS_KEY_ID, secretAccessKey: e.MLOPS_S3_SECRET_ACCESS_KEY } } : {}),
        },
      } : {}),
    },
    codeVersion: e.MLOPS_CODE_VERSION,
    review: { measure: e.MLOPS_REVIEW_MEASURE, threshold: e.MLOPS_REVIEW_THRESHOLD ?? (e.MLOPS_REVIEW_MEASURE === 'entropy' ? 0.9 : 0.1) },
    monitor: { every: e.MLOPS_MONITOR_EVERY },
    retention: { predictionSample: e.MLOPS_PREDICTION_LOG_SAMPLE, predictionLogDays: e.MLOPS_PREDICTION_LOG_DAYS, servingStatsDays: e.MLOPS_SERVING_STATS_DAYS },
    artifacts: e.MLOPS_S3_BUCKET
      ? {
        kind: 's3', bucket: e.MLOPS_S3_BUCKET, endpoint: e.MLOPS_S3_ENDPOINT, region: e.MLOPS_S3_REGION, prefix: e.MLOPS_S3_PREFIX,
        ...(e.MLOPS_S3_ACCESS_KEY_ID && e.MLOPS_S3_SECRET_ACCESS_KEY ? { credentials: { accessKeyId: e.MLOPS_S3_ACCESS_KEY_ID, secretAccessKey: e.MLOPS_S3_SECRET_ACCESS_KEY } } : {}),
      }
      : { kind: 'local' },
    slack: {
      botToken: e.SLACK_BOT_TOKEN,
      signingSecret: e.SLACK_SIGNING_SECRET,
      approvalChannel: e.SLACK_APPROVAL_CHANNEL,
      apiUrl: e.SLACK_API_URL,
    },
    privacy: { ...(piiKey ? { piiKey } : {}), ...(encryption ? { encryption } : {}), decryptionKeys },
    alerts: {
      slackChannel: e.SLACK_ALERT_CHANNEL ?? e.SLACK_APPROVAL_CHANNEL,
      webhookUrl: e.MLOPS_ALERT_WEBHOOK_URL,
      webhookSecret: e.MLOPS_ALERT_WEBHOOK_SECRET,
      dedupMs: e.MLOPS_ALERT_DEDUP_SECONDS * 1000,
      ratePerHour: e.MLOPS_ALERT_RATE_PER_HOUR,
      ...(e.PAGERDUTY_ROUTING_KEY ? { pagerduty: { routingKey: e.PAGERDUTY_ROUTING_KEY, eventsUrl: e.PAGERDUTY_EVENTS_URL.replace(/\/+$/, '') } } : {}),
    },
    telemetry: telemetryFrom(e),
    logging: { level: e.MLOPS_LOG_LEVEL, ...(e.MLOPS_LOG_FILE ? { file: path.resolve(e.MLOPS_LOG_FILE) } : {}), secrets: secretValues(e) },
  };
}

/** Tracing and worker metrics settings, checked against what the platform's exporter supports. */
function telemetryFrom(e: Env): TelemetrySettings {
  const protocol = e.OTEL_EXPORTER_OTLP_PROTOCOL.trim();
  if (!(OTLP_PROTOCOLS as readonly string[]).includes(protocol)) {
    throw new ConfigError(`invalid configuration: OTEL_EXPORTER_OTLP_PROTOCOL must be ${OTLP_PROTOCOLS.join(' or ')} (OTLP over HTTP; send to a collector for gRPC), got "${protocol.slice(0, 40)}"`);
  }
  const sampler = e.OTEL_TRACES_SAMPLER.trim();
  if (!(TRACE_SAMPLERS as readonly string[]).includes(sampler)) {
    throw new ConfigError(`invalid configuration: OTEL_TRACES_SAMPLER must be one of ${TRACE_SAMPLERS.join(', ')}, got "${sampler.slice(0, 40)}"`);
  }
  const ratio = e.OTEL_TRACES_SAMPLER_ARG === undefined ? 1 : Number(e.OTEL_TRACES_SAMPLER_ARG);
  if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1) {
    throw new ConfigError(`invalid configuration: OTEL_TRACES_SAMPLER_ARG must be a share of traces between 0 and 1, got "${e.OTEL_TRACES_SAMPLER_ARG?.slice(0, 40)}"`);
  }
  let endpoint: URL | undefined;
  if (e.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined) {
    try { endpoint = new URL(e.OTEL_EXPORTER_OTLP_ENDPOINT); } catch { /* reported below */ }
    if (!endpoint || !['http:', 'https:'].includes(endpoint.protocol) || endpoint.search || endpoint.hash) {
      throw new ConfigError(`invalid configuration: OTEL_EXPORTER_OTLP_ENDPOINT must be the http(s) base URL of an OTLP/HTTP receiver, like http://otel-collector:4318, got "${e.OTEL_EXPORTER_OTLP_ENDPOINT.slice(0, 100)}"`);
    }
  }
  const serviceName = e.OTEL_SERVICE_NAME.trim();
  if (!serviceName) throw new ConfigError('invalid configuration: OTEL_SERVICE_NAME must not be empty');
  return {
    ...(endpoint ? {
      traces: {
        // the spec's rule for the generic endpoint: the signal's path is appended to it
        url: `${endpoint.href.replace(/\/+$/, '')}/v1/traces`,
        protocol: protocol as typeof OTLP_PROTOCOLS[number],
        sampler: sampler as typeof TRACE_SAMPLERS[number],
        ratio,
        predictShare: e.MLOPS_TRACE_PREDICT_SAMPLE,
        serviceName,
      },
    } : {}),
    ...(e.MLOPS_WORKER_METRICS_PORT !== undefined ? { workerMetrics: { host: e.MLOPS_WORKER_METRICS_HOST, port: e.MLOPS_WORKER_METRICS_PORT } } : {}),
  };
}

/**
 * Every configured value that is a secret, for the logger to mask: keys, tokens, passwords (also the
 * one inside DATABASE_URL) and the key material of TLS and encryption. Values shorter than 8 characters
 * are left out: masking "abc" everywhere would mangle lines and protect nothing.
 */
function secretValues(e: Env): string[] {
  const values = [
    e.MLOPS_ADMIN_KEY, e.MLOPS_API_KEY, e.TEMPORAL_API_KEY, e.SLACK_BOT_TOKEN, e.SLACK_SIGNING_SECRET,
    e.MLOPS_ALERT_WEBHOOK_SECRET, e.PAGERDUTY_ROUTING_KEY, e.MLOPS_S3_SECRET_ACCESS_KEY, e.MLOPS_PII_KEY,
    e.MLOPS_ENCRYPTION_KEY, ...(e.MLOPS_DECRYPTION_KEYS ?? '').split(',').map((entry) => entry.split(':')[1]),
    e.TEMPORAL_TLS_KEY?.startsWith('-----BEGIN') ? e.TEMPORAL_TLS_KEY : undefined,
    ...passwordsOf(e.DATABASE_URL),
  ];
  return [...new Set(values.map((v) => v?.trim()).filter((v): v is string => !!v && v.length >= 8))];
}

/** The password in a connection URL, as written (percent-encoded) and as a client sends it (decoded). */
function passwordsOf(url: string | undefined): string[] {
  if (!url) return [];
  try {
    const password = new URL(url).password;
    return password ? [password, decodeURIComponent(password)] : [];
  } catch {
    return [];
  }
}

/**
 * The TLS settings for Temporal, their PEM files read now so a wrong path stops the process at start.
 * Undefined when none is set and there is no API key (plain gRPC, as to the dev server).
 */
function temporalTlsFrom(e: Env): TemporalTls | undefined {
  const any = e.TEMPORAL_TLS_CA || e.TEMPORAL_TLS_CERT || e.TEMPORAL_TLS_KEY || e.TEMPORAL_TLS_SERVER_NAME || e.TEMPORAL_API_KEY;
  if (!any) return undefined;
  if (!e.TEMPORAL_ADDRESS) {
    throw new ConfigError('invalid configuration: TEMPORAL_TLS_* and TEMPORAL_API_KEY are for a Temporal frontend at TEMPORAL_ADDRESS; without it the platform starts its own dev server, which speaks plain gRPC');
  }
  if (!!e.TEMPORAL_TLS_CERT !== !!e.TEMPORAL_TLS_KEY) {
    throw new ConfigError('invalid configuration: TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together (the client certificate and its private key); set both or neither');
  }
  const ca = e.TEMPORAL_TLS_CA ? pem('TEMPORAL_TLS_CA', e.TEMPORAL_TLS_CA, 'CERTIFICATE') : undefined;
  const clientCert = e.TEMPORAL_TLS_CERT && e.TEMPORAL_TLS_KEY
    ? { cert: pem('TEMPORAL_TLS_CERT', e.TEMPORAL_TLS_CERT, 'CERTIFICATE'), key: pem('TEMPORAL_TLS_KEY', e.TEMPORAL_TLS_KEY, 'PRIVATE KEY') }
    : undefined;
  return { ...(ca ? { ca } : {}), ...(clientCert ? { clientCert } : {}), ...(e.TEMPORAL_TLS_SERVER_NAME ? { serverName: e.TEMPORAL_TLS_SERVER_NAME } : {}) };
}

/** A PEM value: the text itself when it starts with "-----BEGIN", else the path of a file holding it. */
function pem(name: string, value: string, kind: 'CERTIFICATE' | 'PRIVATE KEY'): Buffer {
  let text = value;
  if (!value.startsWith('-----BEGIN')) {
    try {
      text = fs.readFileSync(value, 'utf8');
    } catch (err) {
      throw new ConfigError(`invalid configuration: ${name} is neither PEM text nor a readable file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message} ${value}`);
    }
  }
  // "PRIVATE KEY" also matches "RSA PRIVATE KEY" and "EC PRIVATE KEY"
  if (!new RegExp(`-----BEGIN [A-Z ]*${kind}-----`).test(text)) {
    throw new ConfigError(`invalid configuration: ${name} holds no PEM ${kind.toLowerCase()} (a "-----BEGIN ...${kind}-----" block)`);
  }
  return Buffer.from(text);
}

/** The admin key file `mlops up` writes when MLOPS_ADMIN_KEY is unset. */
export function adminKeyFile(config: Config): string {
  return path.join(config.dataDir, 'admin-key');
}

/** Link to a workflow run in the Temporal Web UI. */
export function workflowUiUrl(config: Config, workflowId: string): string {
  const base = config.temporal.uiUrl ?? `http://localhost:${config.temporal.devServerUiPort}`;
  return `${base.replace(/\/$/, '')}/namespaces/${encodeURIComponent(config.temporal.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
