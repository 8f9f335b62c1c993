/**
 * The worker: runs pipeline workflows and activities on the task queue. Uses the workflow bundle
 * built by `npm run build` when present (webpack takes seconds), else bundles at start.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { NativeConnection, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { Pool } from 'pg';
import { ActivityDeps, createActivities } from './activities';
import { ensureMonitorSchedule } from './schedules';
import { ArtifactStore } from './store/artifacts';
import { createRepositories } from './store/repositories';
import { createCustomTrainingActivities } from './activities/custom-training';
import { givingUpOnFaults } from './activities/outages';
import { CUSTOM_TRAINING_QUEUE } from './workflows/activity-options';
import type { Repositories } from './store/repositories';
import { STRATEGIES } from './rollouts';
import { connectionOptions, TemporalTarget } from './temporal';
import { WORKFLOW_TRACING_MODULES, workerTracing } from './telemetry/temporal-tracing';
import type { Tracing } from './telemetry/tracing';

export const WORKFLOWS_PATH = require.resolve('./workflows');
/** Written by `npm run build` next to the compiled code (dist/workflow-bundle.js). */
export const PREBUILT_BUNDLE = path.resolve(__dirname, '..', 'workflow-bundle.js');

export interface WorkerDeps {
  /** The frontend, with its TLS and API key settings. */
  temporal: TemporalTarget;
  namespace: string;
  taskQueue: string;
  pool: Pool;
  artifacts: ArtifactStore;
  sources: ActivityDeps['sources'];
  codeVersion?: string;
  /** Override the activities, e.g. to inject failures in tests. */
  activities?: object;
  /** Path of a prebuilt workflow bundle. */
  workflowBundlePath?: string;
  identity?: string;
  /** For activities that look at workflows or create schedules (monitoring); the caller closes it. */
  client?: Client;
  /** The process's one Alerter (default: alerts are only logged). */
  alerter?: ActivityDeps['alerter'];
  /** The process's one Slack client and the approval channel (default: no Slack messages). */
  slack?: ActivityDeps['slack'];
  /** Link to a workflow run in the Temporal Web UI, for alerts and messages. */
  uiUrl?: ActivityDeps['uiUrl'];
  /** Interval of the monitor schedule each newly deployed model gets (default: none is created). */
  monitorEvery?: string;
  /** Keys that read encrypted logged inputs (drift, reviewed examples). */
  privacy?: ActivityDeps['privacy'];
  /** The API's public address, for links in Slack messages. */
  apiUrl?: string;
  /** OpenTelemetry tracing of workflows and activities (src/telemetry), when it is on. */
  tracing?: Tracing;
}

/** What a deployment calls to give its model a monitor schedule: the schedules module, bound to a client. */
function scheduleMonitorWith(client: Client, taskQueue: string, every: string): (model: string) => Promise<boolean> {
  return (model) => ensureMonitorSchedule(client, taskQueue, model, every);
}

/**
 * The workflow code: a prebuilt bundle, which holds the tracing interceptors (writeWorkflowBundle), or the
 * sources, with the interceptor modules to bundle them with.
 */
async function workflowSource(bundlePath?: string): Promise<{ workflowBundle: { code: string }; workflowModules?: undefined } | { workflowsPath: string; workflowModules: string[] }> {
  const file = bundlePath ?? (__filename.endsWith('.js') && fs.existsSync(PREBUILT_BUNDLE) ? PREBUILT_BUNDLE : undefined);
  if (file) return { workflowBundle: { code: fs.readFileSync(file, 'utf8') } };
  return { workflowsPath: WORKFLOWS_PATH, workflowModules: WORKFLOW_TRACING_MODULES };
}

export async function createWorker(deps: WorkerDeps): Promise<Worker> {
  const connection = await NativeConnection.connect(connectionOptions(deps.temporal));
  const { workflowModules, ...source } = await workflowSource(deps.workflowBundlePath);
  const tracing = workerTracing(deps.tracing);
  return Worker.create({
    connection,
    namespace: deps.namespace,
    taskQueue: deps.taskQueue,
    ...(deps.identity ? { identity: deps.identity } : {}),
    ...source,
    interceptors: { activity: tracing.activity, ...(workflowModules ? { workflowModules } : {}) },
    sinks: tracing.sinks,
    activities: deps.activities ?? createActivities({
      pool: deps.pool, repos: createRepositories(deps.pool), rolloutTraffic: Object.fromEntries(STRATEGIES.map((s) => [s.name, s.traffic])), artifacts: deps.artifacts, sources: deps.sources, codeVersion: deps.codeVersion, client: deps.client, alerter: deps.alerter, slack: deps.slack, uiUrl: deps.uiUrl, apiUrl: deps.apiUrl, privacy: deps.privacy,
      ...(deps.monitorEvery && deps.client ? { scheduleMonitor: scheduleMonitorWith(deps.client, deps.taskQueue, deps.monitorEvery) } : {}),
    }),
    maxCachedWorkflows: 200,
    // Heartbeats (training progress, the search candidates scored) reach the server at least every
    // 2 s, so a retry after a crash resumes from recent progress and the Web UI shows it.
    maxHeartbeatThrottleInterval: '2 seconds',
    // A killed worker's activities are retried elsewhere after their heartbeat timeout;
    // on SIGTERM we let running ones finish for this long.
    shutdownGraceTime: '20 seconds',
  });
}

/** Bundles the workflow code once, to a file the worker can load. */
export async function writeWorkflowBundle(file: string): Promise<void> {
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, workflowInterceptorModules: WORKFLOW_TRACING_MODULES });
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, code);
}

/**
 * The worker of registered trainers: activities only (no workflows), on their own queue, one trainer at
 * a time per process (each may use every core).
 */
export async function createCustomTrainingWorker(deps: { temporal: TemporalTarget; namespace: string; repos: Repositories; artifacts: ActivityDeps['artifacts']; tracing?: Tracing }): Promise<Worker> {
  const connection = await NativeConnection.connect(connectionOptions(deps.temporal));
  return Worker.create({
    connection,
    namespace: deps.namespace,
    taskQueue: CUSTOM_TRAINING_QUEUE,
    interceptors: { activity: workerTracing(deps.tracing).activity },
    activities: givingUpOnFaults(createCustomTrainingActivities({ repos: deps.repos, artifacts: deps.artifacts })),
    maxConcurrentActivityTaskExecutions: 1,
    maxHeartbeatThrottleInterval: '2 seconds',
    shutdownGraceTime: '10 seconds',
  });
}
