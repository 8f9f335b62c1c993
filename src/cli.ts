/**
 * `mlops`: start the stack or its parts, run the demo, and drive pipelines through the HTTP API.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { adminKeyFile, Config, ConfigError, loadConfig } from './config';
import { ApiCallError, ApiClient } from './cli/api-client';
import { runDataCommand, uploadDataset } from './cli/data-commands';
import { runModelCommand } from './cli/model-commands';
import { runDemo } from './cli/demo';
import { followPipeline, formatRuns } from './cli/follow';
import { runRegistryCommand } from './cli/registry-commands';
import { runMonitoringCommand } from './cli/monitoring-commands';
import { runAccessCommand } from './cli/access-commands';
import { runGovernanceCommand } from './cli/governance-commands';
import { packageVersion, serveBundle } from './cli/bundle-commands';
import { BATCH_USAGE, runBatchCommand } from './cli/batch-commands';
import { MODEL_KINDS } from './ml/families';
import { STRATEGY_NAMES } from './rollouts';
import type { RunRecord } from './store/runs';
import { defaultEndpoints, Log, openStores, startApi, startInfrastructure, startWorker } from './stack/runtime';
import { createLogger, forService, lineLog, Logger, SERVICES, toTerminal } from './logging/logger';
import { installTemporalLogging } from './logging/temporal-logger';
import { ServiceOutput, serviceOutput } from './logging/service-output';
import { startTracing } from './telemetry/tracing';
import { workerMetricsTelemetry } from './telemetry/worker-metrics';

const log: Log = (line) => process.stdout.write(`${line}\n`);

const USAGE = `mlops <command> [options]

Stack
  up                         start Temporal dev server + Web UI, metadata store, worker and API
  worker                     start a worker only (TEMPORAL_ADDRESS, DATABASE_URL)
  api                        start the API only (TEMPORAL_ADDRESS, DATABASE_URL, MLOPS_API_PORT)
  demo [--keep-running]      run the whole pipeline on the bundled dataset to a served model

Pipelines (through the API at MLOPS_API_URL)
  run (--data <path|url> | --connection <name> --query <sql> | --dataset <id>) --target <col>
      [--model <kind> | --trainer <registered trainer>] [--name <model name>] [--features a,b]
      [--auto] [--threshold auc=0.8 ...] [--timeout "72 hours"] [--wait]
      kinds: ${MODEL_KINDS.join(', ')} (default: by the target column); the name defaults to the file's;
      --auto (deploy when the thresholds pass, no person deciding) needs an approver's key
      a local file the server may not read (outside its MLOPS_DATA_ROOTS) is uploaded first
  status <pipeline-id>
  approve|reject <pipeline-id> [--comment <text>]   (you are the key you send: MLOPS_API_KEY)
  models [<name>]
  runs [--model <name>]      training runs side by side: family, L2, trials, time, test metrics
  predict <model> --json '{"instances": [...]}'
  ${BATCH_USAGE.split(' | ').join('\n  ')}
      score a dataset with an approved version (default: production) into part files under a data root

Versions, data and lineage (through the API)
  data list [--source <uri>] | data show <version> | data diff <version> <version>
  data upload <file>         store a local file as a dataset version (format by extension); prints its id
  lineage <model>@<version> [--openlineage] [--json]
  reproduce <model>@<version>      retrain from the lineage record; says whether the ONNX is byte-identical
  rollback <model> [--to <version>] [--reason <text>]
  archive <model>@<version> [--reason <text>]   take an approved or rejected version out of use for good

Models and training code from outside (through the API)
  import <model.onnx> --model <name> --eval-data <uri|file|dataset id> --target <column>
         [--task binary|multiclass|regression] [--feature <input>=<column>[,...]] [--output <graph output>]
         [--auto] [--wait]
  trainers add <name> [--workdir <dir>] [--env NAME=value] [--timeout <s>] -- <program> [<args>...]
  trainers list | trainers remove <name>   (add and remove: admin)
  alias <model> <alias> <version>  e.g. champion, challenger, staging; production deploys

Model bundles (one approved version, served without the platform)
  package <model>@<version> --out <folder> [--image <platform image>]
      the ONNX file, signature, smoke-test rows, manifest.json (sha256 of each, lineage) and a Dockerfile
  serve --bundle <folder> [--port 8080] [--host 127.0.0.1]
      the same predict API as the platform, with no database or Temporal; refuses a changed bundle

Rollouts (through the API)
  deploy <model> <version> [--strategy ${STRATEGY_NAMES.join('|')}] [--steps 5,25,50,100]
         [--bake <seconds>] [--percent <share>] [--wait]
  rollouts <model>
  promote|abort <model> <rollout-id> [--reason <text>]

Monitoring and maintenance (through the API)
  drift <model> [--run] [--json]   the latest drift and quality check (--run: check now)
  monitor <model> [--every 1h] [--window <minutes>] [--cooldown <minutes>] [--drift-share 0.5]
  retrain <model> [--reason <text>]  start retraining now (one at a time per model)
  schedule list [--model m] | schedule create --model m (--every 1d | --cron "0 3 * * *") [--kind retrain|monitor]
  schedule pause|resume|delete <schedule-id>
  review list [--model m] [--labelled] | review label <prediction-id> <label>
  alerts [--model m]

Access and governance (through the API, with an admin key: MLOPS_API_KEY, MLOPS_ADMIN_KEY or <data dir>/admin-key)
  keys list | keys create <name> --role viewer|scientist|approver|admin [--expires-days N] | keys revoke <id>
  slack-users list | slack-users set <slack user id> <name> <role> | slack-users remove <id>
  policy <model> [--approvers 2] [--four-eyes|--no-four-eyes] [--remind "1 hour"] [--escalate #channel] [--auto-approve auc=0.9]
  audit list [--limit N] [--action a] [--subject s] [--json] | audit verify [--json]
  connections list | connections add <name> --url postgres://user:pw@host/db | connections remove <name>
`;

/** Resolves when the process is asked to stop (Ctrl-C or SIGTERM). */
function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
}

async function up(config: Config, out: ServiceOutput, o: { keepRunning: boolean; demo?: (apiUrl: string, uiUrl: string) => Promise<void> }): Promise<void> {
  const say = out.say;
  fs.mkdirSync(config.dataDir, { recursive: true });
  say(`data directory: ${config.dataDir}`);
  const infra = await startInfrastructure(config, say);
  const stopAll: (() => Promise<void>)[] = [() => infra.stop()];
  const shutdown = async () => { for (const s of stopAll.reverse()) await s().catch((e) => out.logger.warn({ error: e }, `while stopping: ${(e as Error).message}`)); };
  try {
    // stopped after the worker and the API, so their last spans are sent
    const tracing = startTracing(config.telemetry, say);
    if (tracing) stopAll.push(() => tracing.shutdown());
    const stores = await openStores(config, infra.databaseUrl);
    stopAll.push(() => stores.pool.end());
    const { worker, done } = await startWorker(config, infra, stores, { customTraining: true, tracing, log: lineLog(forService(out.root, SERVICES.worker)) });
    stopAll.push(async () => { if (worker.getState() === 'RUNNING') worker.shutdown(); await done; });
    const api = await startApi({ ...config, api: { ...config.api } }, infra, stores, lineLog(forService(out.root, SERVICES.api), 'warn'), { logger: out.root, tracing });
    stopAll.push(() => api.stop());
    const database = config.database.url ? 'PostgreSQL (DATABASE_URL)' : `embedded PostgreSQL on ${new URL(infra.databaseUrl).host} (cluster in ${path.join(config.dataDir, 'pgdata')})`;
    out.banner(`Temporal:      ${infra.temporalAddress} (namespace ${config.temporal.namespace})`, { 'mlops.endpoint': 'temporal', 'server.address': infra.temporalAddress, 'mlops.namespace': config.temporal.namespace });
    out.banner(`Temporal UI:   ${infra.temporalUiUrl}`, { 'mlops.endpoint': 'temporal-ui', 'url.full': infra.temporalUiUrl });
    out.banner(`metadata:      ${database}`, { 'mlops.endpoint': 'metadata', 'mlops.embedded': !config.database.url });
    out.banner(`API:           ${api.url}   (Swagger UI: ${api.url}/docs, OpenAPI: ${api.url}/openapi.json)`, { 'mlops.endpoint': 'api', 'url.full': api.url });
    out.banner(`Console:       ${api.url}/ui   (sign in with an API key)`, { 'mlops.endpoint': 'console', 'url.full': `${api.url}/ui` });
    if (o.demo) await o.demo(api.url, infra.temporalUiUrl);
    if (o.keepRunning) {
      // after the demo's output too, so the way in is the last thing on screen
      out.banner(`running; the console is at ${api.url}/ui; press Ctrl-C to stop`, { 'mlops.endpoint': 'console', 'url.full': `${api.url}/ui` });
      const signal = await untilSignal();
      say(`${signal}: stopping...`);
    }
  } finally {
    await shutdown();
    say('stopped');
  }
}

async function standaloneWorker(config: Config, out: ServiceOutput): Promise<void> {
  const endpoints = defaultEndpoints(config);
  const stores = await openStores(config, endpoints.databaseUrl);
  const tracing = startTracing(config.telemetry, out.say);
  const { worker, done } = await startWorker(config, endpoints, stores, { tracing, log: lineLog(out.logger) });
  out.banner(`worker polling task queue "${config.temporal.taskQueue}" on ${endpoints.temporalAddress}`, { 'mlops.task_queue': config.temporal.taskQueue, 'server.address': endpoints.temporalAddress });
  // the SDK's runtime drains workers on SIGTERM/SIGINT itself; ask only if it has not begun
  void untilSignal().then(() => { if (worker.getState() === 'RUNNING') worker.shutdown(); });
  await done;
  await tracing?.shutdown();
  await stores.pool.end();
}

async function standaloneApi(config: Config, out: ServiceOutput): Promise<void> {
  const endpoints = defaultEndpoints(config);
  const stores = await openStores(config, endpoints.databaseUrl);
  const tracing = startTracing(config.telemetry, out.say);
  const api = await startApi(config, endpoints, stores, lineLog(out.logger, 'warn'), { logger: out.root, tracing });
  out.banner(`API listening on ${api.url}`, { 'mlops.endpoint': 'api', 'url.full': api.url });
  await untilSignal();
  await api.stop();
  await tracing?.shutdown();
  await stores.pool.end();
}

/**
 * The log of a service command (up, demo, worker, api): one pino logger for the process, Temporal's
 * Runtime logging through it (workflow and activity logs with their ids), and the person-facing start-up
 * lines, which are text on a terminal and JSON lines otherwise.
 */
function serviceLog(config: Config, service: string): ServiceOutput {
  const root = createLogger(config.logging);
  // One Runtime per process: its logger, and the worker's Prometheus metrics where a worker runs
  // (an API process binding MLOPS_WORKER_METRICS_PORT would take it from a worker on the same host)
  installTemporalLogging(forService(root, SERVICES.worker), service === SERVICES.api ? {} : workerMetricsTelemetry(config.telemetry));
  runtimeInstalled = true;
  return serviceOutput(root, service, { terminal: toTerminal() });
}

function parseThresholds(values: string[] | undefined): Record<string, number> | undefined {
  if (!values || values.length === 0) return undefined;
  return Object.fromEntries(values.map((v) => {
    const [name, number] = v.split('=');
    if (!name || number === undefined || !Number.isFinite(Number(number))) throw new ConfigError(`--threshold takes metric=value, got "${v}"`);
    return [name, Number(number)];
  }));
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(USAGE);
    return command ? 0 : 1;
  }
  const config = loadConfig();
  const service = SERVICE_COMMANDS[command];
  const out = service ? serviceLog(config, service) : undefined;
  serviceLogger = out && !out.terminal ? out.logger : undefined;
  const api = new ApiClient(config.api.url, cliKey(config));
  switch (command) {
    case 'up':
      await up(config, out!, { keepRunning: true });
      return 0;
    case 'worker':
      await standaloneWorker(config, out!);
      return 0;
    case 'api':
      await standaloneApi(config, out!);
      return 0;
    case 'serve':
      await serveBundle(rest, config, log, untilSignal);
      return 0;
    case 'package':
      await packageVersion(rest, api, log, { releaseVersion: releaseVersion() });
      return 0;
    case 'demo': {
      const { values } = parseArgs({ args: rest, options: { 'keep-running': { type: 'boolean', default: false } } });
      let ok = false;
      await up(config, out!, {
        keepRunning: values['keep-running'] ?? false,
        demo: async (apiUrl, uiUrl) => { ok = await runDemo(new ApiClient(apiUrl, cliKey(config)), { dataset: bundledDataset(), uiUrl, log }); },
      });
      return ok ? 0 : 1;
    }
    case 'run': {
      const { values } = parseArgs({
        args: rest,
        options: {
          data: { type: 'string' }, connection: { type: 'string' }, dataset: { type: 'string' }, target: { type: 'string' }, model: { type: 'string' }, query: { type: 'string' },
          name: { type: 'string' }, trainer: { type: 'string' },
          features: { type: 'string' }, 'positive-class': { type: 'string' }, auto: { type: 'boolean', default: false },
          threshold: { type: 'string', multiple: true }, timeout: { type: 'string' }, seed: { type: 'string' }, wait: { type: 'boolean', default: false },
        },
      });
      const sources = [values.data, values.connection, values.dataset].filter((v) => v !== undefined).length;
      if (sources !== 1 || !values.target) throw new ConfigError('run needs one of --data <path|url>, --connection <name> --query <sql> or --dataset <id>, and --target <column>');
      if (values.connection && !values.query) throw new ConfigError('--connection needs --query "SELECT ..."');
      if (values.model !== undefined && values.trainer !== undefined) throw new ConfigError('run takes --model <kind> or --trainer <registered trainer>, not both');
      // --model is the model kind. Before it was, it named the model: a value that is no kind still does, with a notice
      const kind = values.model !== undefined && (MODEL_KINDS as readonly string[]).includes(values.model) ? values.model : undefined;
      if (values.model !== undefined && kind === undefined) {
        if (values.name !== undefined) throw new ConfigError(`--model takes a model kind (${MODEL_KINDS.join(', ')}), got "${values.model}"`);
        process.stderr.write(`mlops: "${values.model}" is no model kind (${MODEL_KINDS.join(', ')}); taken as the model's name, as before. Name a model with --name.\n`);
      }
      const trainer = kind ? { kind } : values.trainer ? { kind: 'custom', name: values.trainer } : undefined;
      const model = values.name ?? (kind === undefined ? values.model : undefined) ?? path.basename(values.data ?? values.connection ?? 'dataset').replace(/\.[^.]*$/, '').replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 63);
      const local = values.data && !/^[a-z][a-z0-9+.-]*:\/\//i.test(values.data) ? path.resolve(values.data) : undefined;
      const data = values.connection ? { connection: values.connection, query: values.query } : values.dataset ? { dataset: values.dataset } : { uri: local ?? values.data };
      const body = (source: unknown) => ({
        model,
        data: source,
        target: values.target,
        ...(trainer ? { trainer } : {}),
        ...(values.features ? { features: values.features.split(',').map((f) => f.trim()) } : {}),
        ...(values['positive-class'] ? { positiveClass: values['positive-class'] } : {}),
        approval: { mode: values.auto ? 'auto' : 'manual', thresholds: parseThresholds(values.threshold), ...(values.timeout ? { timeout: values.timeout } : {}) },
        ...(values.seed ? { seed: Number(values.seed) } : {}),
      });
      let started: { id: string; uiUrl: string };
      try {
        started = await api.post<{ id: string; uiUrl: string }>('/v1/pipelines', body(data));
      } catch (err) {
        // the server reads files only under its data roots: a file of ours elsewhere travels as an upload
        if (!(local && err instanceof ApiCallError && err.status === 400 && /MLOPS_DATA_ROOTS/.test(err.message) && fs.existsSync(local))) throw err;
        const uploaded = await uploadDataset(api, local);
        log(`uploaded ${local}: dataset ${uploaded.id} (${uploaded.rowCount} rows)`);
        started = await api.post<{ id: string; uiUrl: string }>('/v1/pipelines', body({ dataset: uploaded.id }));
      }
      log(`started ${started.id}\n  ${started.uiUrl}`);
      if (!values.wait) return 0;
      const final = await followPipeline(api, started.id, log, { stopAtApproval: false });
      return final.state === 'deployed' ? 0 : 1;
    }
    case 'status': {
      if (!rest[0]) throw new ConfigError('status needs a pipeline id');
      log(JSON.stringify(await api.get(`/v1/pipelines/${encodeURIComponent(rest[0])}`), null, 2));
      return 0;
    }
    case 'approve':
    case 'reject': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { comment: { type: 'string' } } });
      if (!positionals[0]) throw new ConfigError(`${command} needs a pipeline id`);
      const result = await api.post(`/v1/pipelines/${encodeURIComponent(positionals[0])}/approval`, {
        decision: command, ...(values.comment ? { comment: values.comment } : {}),
      });
      log(JSON.stringify(result));
      return 0;
    }
    case 'models':
      log(JSON.stringify(await api.get(rest[0] ? `/v1/models/${encodeURIComponent(rest[0])}` : '/v1/models'), null, 2));
      return 0;
    case 'runs': {
      const { values } = parseArgs({ args: rest, options: { model: { type: 'string' }, json: { type: 'boolean', default: false } } });
      const { runs } = await api.get<{ runs: RunRecord[] }>(`/v1/runs${values.model ? `?model=${encodeURIComponent(values.model)}` : ''}`);
      if (values.json) log(JSON.stringify(runs, null, 2));
      else log(formatRuns(runs));
      return 0;
    }
    case 'predict': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { json: { type: 'string' } } });
      if (!positionals[0] || !values.json) throw new ConfigError('predict needs <model> --json \'{"instances": [...]}\'');
      let body: unknown;
      try {
        body = JSON.parse(values.json);
      } catch (err) {
        throw new ConfigError(`--json is not valid JSON: ${(err as Error).message}`);
      }
      log(JSON.stringify(await api.post(`/v1/models/${encodeURIComponent(positionals[0])}/predict`, body), null, 2));
      return 0;
    }
    default: {
      const model = await runModelCommand(command, rest, api, log);
      if (model) return model.started ? ((await followPipeline(api, model.started, log, { stopAtApproval: false })).state === 'deployed' ? 0 : 1) : 0;
      if (await runDataCommand(command, rest, api, log)) return 0;
      if (await runRegistryCommand(command, rest, api, log)) return 0;
      if (await runMonitoringCommand(command, rest, api, log)) return 0;
      if (await runAccessCommand(command, rest, api, log)) return 0;
      if (await runGovernanceCommand(command, rest, api, log)) return 0;
      const batch = await runBatchCommand(command, rest, api, log);
      if (batch !== false) return batch;
      process.stderr.write(`unknown command "${command}"\n\n${USAGE}`);
      return 1;
    }
  }
}

/** Commands that run services, and the `service.name` of their start-up lines. */
const SERVICE_COMMANDS: Record<string, string | undefined> = { up: SERVICES.stack, demo: SERVICES.stack, worker: SERVICES.worker, api: SERVICES.api };

/** The running service command's logger when it writes JSON, for the last word when it fails. */
let serviceLogger: Logger | undefined;
/** Whether this process installed Temporal's runtime (a service command). */
let runtimeInstalled = false;

/** The key the CLI sends: MLOPS_API_KEY, else the admin key (MLOPS_ADMIN_KEY or the one `mlops up` wrote). */
function cliKey(config: Config): string | undefined {
  if (config.api.apiKey) return config.api.apiKey;
  if (config.api.adminKey) return config.api.adminKey;
  try {
    return fs.readFileSync(adminKeyFile(config), 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** This release's version (package.json), the tag of the platform image a bundle starts from. */
function releaseVersion(): string {
  const root = path.resolve(__dirname, '..', ...(__dirname.includes(`${path.sep}dist${path.sep}`) ? ['..'] : []));
  return (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
}

function bundledDataset(): string {
  return path.resolve(__dirname, '..', ...(__dirname.includes(`${path.sep}dist${path.sep}`) ? ['..'] : []), 'datasets', 'breast-cancer-wisconsin.csv');
}

/**
 * A service command that has returned has stopped everything it started; it exits then. Temporal's
 * runtime, once installed with its core's logs forwarded to ours, holds the event loop open until its
 * last connection closes, which a start that failed half-way never opened.
 */
function exitWhenService(): void {
  if (runtimeInstalled) process.exit();
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; exitWhenService(); },
  (err) => {
    // a service's log collector reads its standard output: the reason it stopped goes there too
    serviceLogger?.fatal({ error: err }, `mlops: ${err instanceof Error ? err.message : String(err)}`);
    process.stderr.write(`mlops: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
    exitWhenService();
  },
);
