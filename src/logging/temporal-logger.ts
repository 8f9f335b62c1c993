/**
 * Temporal's logs on our log. The SDK hands its Runtime logger everything: workflow logs (through its
 * logger sink, not during replay), activity logs (Context.current().log), the worker's own and, forwarded,
 * the Rust core's. This adapter writes each as one of our lines, with the SDK's metadata renamed to our
 * fields: `mlops.workflow.id`, `mlops.workflow.run_id`, `mlops.workflow.type`, `mlops.activity.type`,
 * `mlops.activity.attempt`... and the error as ECS `error.*`. The task token an activity's metadata
 * carries is dropped: it completes the activity for whoever holds it.
 */
import type { LogLevel, LogMetadata, Logger as TemporalLogger } from '@temporalio/common';
import { Runtime, type TelemetryOptions } from '@temporalio/worker';
import type { Logger } from 'pino';
import { errorFields } from './logger';

/** SDK metadata keys and the field each becomes; keys absent here go under `mlops.temporal.<key>`. */
const FIELD_OF: Record<string, string | null> = {
  namespace: 'mlops.namespace',
  taskQueue: 'mlops.task_queue',
  workflowId: 'mlops.workflow.id',
  runId: 'mlops.workflow.run_id',
  workflowRunId: 'mlops.workflow.run_id',
  workflowType: 'mlops.workflow.type',
  activityId: 'mlops.activity.id',
  activityType: 'mlops.activity.type',
  activityRunId: 'mlops.activity.run_id',
  attempt: 'mlops.activity.attempt',
  isLocal: 'mlops.activity.local',
  sdkComponent: 'mlops.temporal.component',
  durationMs: 'mlops.duration_ms',
  // what our own activities and workflows add
  model: 'mlops.model',
  version: 'mlops.version',
  // a capability: whoever holds it can complete the activity
  taskToken: null,
  error: null,
};

const LEVEL_OF: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error',
};

/** The fields of a line from the SDK's metadata. */
export function temporalFields(meta: LogMetadata | undefined): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  if (!meta) return fields;
  for (const key of Object.keys(meta)) {
    const value = meta[key];
    if (value === undefined) continue;
    const field = key in FIELD_OF ? FIELD_OF[key] : `mlops.temporal.${key}`;
    if (field === null) continue;
    // the core's fields may be anything; a line keeps only what prints as one value
    fields[field] = value === null || typeof value !== 'object' ? value : JSON.stringify(value);
  }
  if (meta.error !== undefined) fields.error = errorFields(meta.error);
  return fields;
}

/** A Temporal Logger that writes to `logger`. */
export function temporalLogger(logger: Logger): TemporalLogger {
  const log = (level: LogLevel, message: string, meta?: LogMetadata) => {
    const ours = LEVEL_OF[level] ?? 'info';
    if (logger.isLevelEnabled(ours)) logger[ours](temporalFields(meta), message);
  };
  return {
    log,
    trace: (message, meta) => log('TRACE', message, meta),
    debug: (message, meta) => log('DEBUG', message, meta),
    info: (message, meta) => log('INFO', message, meta),
    warn: (message, meta) => log('WARN', message, meta),
    error: (message, meta) => log('ERROR', message, meta),
  };
}

/** The Temporal core's level for a pino level: the core is chatty, so it never goes below `minimum`. */
function coreLevel(level: string): LogLevel {
  switch (level) {
    case 'trace': case 'debug': case 'info': case 'warn': return 'WARN';
    default: return 'ERROR';
  }
}

/**
 * Installs the process's Temporal Runtime with `logger` as its logger, the Rust core's lines forwarded to
 * it too (at WARN or above: at INFO the core reports every poll). Once per process, before any worker.
 */
export function installTemporalLogging(logger: Logger, telemetry: Pick<TelemetryOptions, 'metrics'> = {}): void {
  Runtime.install({
    logger: temporalLogger(logger),
    telemetryOptions: { logging: { forward: {}, filter: { core: coreLevel(logger.level), other: 'ERROR' } }, ...telemetry },
  });
}
