/**
 * Traces through Temporal with @temporalio/interceptors-opentelemetry: the client's interceptor starts a
 * StartWorkflow span and puts its context into the workflow's headers; the workflow interceptors (in the
 * workflow bundle) record RunWorkflow and a StartActivity span per activity, passing the context on in
 * the activity's headers; the activity interceptor records RunActivity under it. Workflow spans are made
 * inside the deterministic sandbox and leave it through the `exporter` sink.
 */
import type { WorkflowClientInterceptor } from '@temporalio/client';
import { makeWorkflowExporter, OpenTelemetryActivityInboundInterceptor, OpenTelemetryActivityOutboundInterceptor, OpenTelemetrySinks, OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry';
import type { InjectedSinks, WorkerInterceptors } from '@temporalio/worker';
import type { Tracing } from './tracing';

/**
 * The workflow interceptor modules, bundled into every workflow bundle whether tracing is on or not: the
 * workflow code, and so its replay, is then the same on every worker, and only what the sink does with
 * the spans differs. They add a header to scheduled activities, never a command.
 */
export const WORKFLOW_TRACING_MODULES = [require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors')];

/** What the worker adds for tracing: activity interceptors when it is on, and the sink either way. */
export function workerTracing(tracing: Tracing | undefined): { activity: NonNullable<WorkerInterceptors['activity']>; sinks: InjectedSinks<OpenTelemetrySinks> } {
  if (!tracing) {
    // the bundled workflow interceptors still report their spans: to nothing
    return { activity: [], sinks: { exporter: { export: { fn: () => undefined, callDuringReplay: false } } } };
  }
  const options = { tracer: tracing.tracer };
  return {
    activity: [(ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx, options), outbound: new OpenTelemetryActivityOutboundInterceptor(ctx) })],
    sinks: { exporter: makeWorkflowExporter(tracing.spanProcessor, tracing.resource) },
  };
}

/** The client interceptors that start a trace's StartWorkflow span (none when tracing is off). */
export function clientTracing(tracing: Tracing | undefined): WorkflowClientInterceptor[] {
  return tracing ? [new OpenTelemetryWorkflowClientInterceptor({ tracer: tracing.tracer })] : [];
}
