/**
 * The worker's Temporal SDK metrics (workflow and activity latencies, task slots, polls, sticky cache)
 * served for Prometheus by the SDK's Rust core. They belong to the process's one Temporal Runtime: this
 * is the `metrics` part of the telemetryOptions that Runtime.install (src/cli.ts) takes, beside the
 * Runtime's logging options, in one call.
 */
import type { TelemetryOptions } from '@temporalio/worker';
import type { TelemetrySettings } from '../config';

/** `{ metrics }` for Runtime.install's telemetryOptions when MLOPS_WORKER_METRICS_PORT is set; `{}` otherwise. */
export function workerMetricsTelemetry(settings: TelemetrySettings): Pick<TelemetryOptions, 'metrics'> {
  const m = settings.workerMetrics;
  if (!m) return {};
  const host = m.host.includes(':') ? `[${m.host}]` : m.host;
  return {
    metrics: {
      // durations in seconds, as Prometheus conventions and the API's own histograms have them
      prometheus: { bindAddress: `${host}:${m.port}`, useSecondsForDurations: true },
    },
  };
}
