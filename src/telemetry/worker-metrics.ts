/**
 * The worker's Temporal SDK metrics (workflow and activity latencies, task slots, polls, sticky cache)
 * served for Prometheus by the SDK's Rust core. They belong to the process's one Temporal Runtime, so
 * they are given to Runtime.install (src/cli.ts) together with its other options.
 */
import type { TelemetryOptions } from '@temporalio/worker';
import type { TelemetrySettings } from '../config';

/** Runtime.install's telemetryOptions when MLOPS_WORKER_METRICS_PORT is set; nothing otherwise. */
export function workerRuntimeTelemetry(settings: TelemetrySettings): { telemetryOptions?: TelemetryOptions } {
  const m = settings.workerMetrics;
  if (!m) return {};
  const host = m.host.includes(':') ? `[${m.host}]` : m.host;
  return {
    telemetryOptions: {
      metrics: {
        // durations in seconds, as Prometheus conventions and the API's own histograms have them
        prometheus: { bindAddress: `${host}:${m.port}`, useSecondsForDurations: true },
      },
    },
  };
}
