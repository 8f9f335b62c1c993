/**
 * OpenTelemetry tracing for one process (API, worker, or both under `mlops up`): the SDK started with
 * the settings config.ts read from the standard OTEL_* variables, spans batched and posted over OTLP/HTTP
 * (JSON or protobuf). With no endpoint configured nothing here runs: startTracing returns undefined and
 * the callers add no span code at all (the predict hot path stays as it was).
 */
import { context, diag, DiagLogLevel, propagation, trace, Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { Resource } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { TelemetrySettings } from '../config';
import { samplerFor } from './sampling';

/** The name our own spans (HTTP requests, inference) are recorded under. */
const TRACER_NAME = 'mlops';

export interface Tracing {
  tracer: Tracer;
  /**
   * The processor every span goes through: the SDK's, and the workflow sandbox's, whose spans leave it
   * through a sink (src/telemetry/temporal-tracing.ts) and are handed here.
   */
  spanProcessor: SpanProcessor;
  /** The service the spans describe (service.name), as the sandbox's spans must carry it too. */
  resource: Resource;
  /** Sends the spans still buffered, then stops; the process may start tracing again afterwards. */
  shutdown(): Promise<void>;
}

/**
 * Starts tracing when an endpoint is configured. The SDK registers the W3C trace-context propagator
 * (traceparent in and out) and the async-local context, so a span started in a request is the parent
 * of what the request awaits. Export failures are reported through `log`, at most as warnings: a
 * collector that is down must never fail a request.
 */
export function startTracing(settings: TelemetrySettings, log?: (line: string) => void): Tracing | undefined {
  const s = settings.traces;
  if (!s) return undefined;
  const exporter = s.protocol === 'http/json' ? new OtlpJsonExporter({ url: s.url }) : new OtlpProtobufExporter({ url: s.url });
  const spanProcessor = new BatchSpanProcessor(exporter);
  const resource = Resource.default().merge(new Resource({ 'service.name': s.serviceName }));
  if (log) diag.setLogger({ error: (m) => log(`opentelemetry: ${m}`), warn: (m) => log(`opentelemetry: ${m}`), info: () => undefined, debug: () => undefined, verbose: () => undefined }, DiagLogLevel.WARN);
  const sdk = new NodeSDK({
    resource,
    // the resource is ours alone, so the sandbox's spans (which carry `resource`) match the others
    autoDetectResources: false,
    spanProcessors: [spanProcessor],
    sampler: samplerFor(s),
    // traces only: the logs go through the process's own logger, and the SDK would otherwise post them to the endpoint too
    logRecordProcessors: [],
    instrumentations: [],
  });
  sdk.start();
  return {
    tracer: trace.getTracer(TRACER_NAME),
    spanProcessor,
    resource,
    async shutdown() {
      await sdk.shutdown();
      // the SDK leaves its provider, propagator and context manager registered: take them back, so a
      // later start (a test's next stack) registers its own
      trace.disable();
      propagation.disable();
      context.disable();
      diag.disable();
    },
  };
}
