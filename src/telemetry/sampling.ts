/**
 * Which traces are kept: the sampler OTEL_TRACES_SAMPLER names, with predict's new traces thinned to
 * MLOPS_TRACE_PREDICT_SAMPLE of what it keeps. Predict is the hot path: traced, a request costs about
 * twice the CPU (bench/RESULTS.md), so by default 1 in 100 of the predict requests that begin a trace
 * is kept. A predict under a caller's trace (a `traceparent`) is left to the configured sampler, so a
 * trace that began elsewhere stays whole.
 */
import { Attributes, Context, Link, SpanKind, trace } from '@opentelemetry/api';
import { AlwaysOffSampler, AlwaysOnSampler, ParentBasedSampler, Sampler, SamplingDecision, SamplingResult, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-base';
import type { TelemetrySettings } from '../config';
import { PREDICT_ROUTE } from './http-spans';

type TraceSettings = NonNullable<TelemetrySettings['traces']>;

/** The sampler OTEL_TRACES_SAMPLER names, with OTEL_TRACES_SAMPLER_ARG as the ratio. */
export function standardSampler(s: Pick<TraceSettings, 'sampler' | 'ratio'>): Sampler {
  switch (s.sampler) {
    case 'always_on': return new AlwaysOnSampler();
    case 'always_off': return new AlwaysOffSampler();
    case 'traceidratio': return new TraceIdRatioBasedSampler(s.ratio);
    case 'parentbased_always_on': return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off': return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio': return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(s.ratio) });
  }
}

/** The configured sampler, keeping `predictShare` of the predict traces it would begin. */
export class PredictShareSampler implements Sampler {
  private readonly share: Sampler;

  constructor(private readonly base: Sampler, private readonly predictShare: number) {
    this.share = new TraceIdRatioBasedSampler(predictShare);
  }

  shouldSample(context: Context, traceId: string, name: string, kind: SpanKind, attributes: Attributes, links: Link[]): SamplingResult {
    const decided = this.base.shouldSample(context, traceId, name, kind, attributes, links);
    if (decided.decision !== SamplingDecision.RECORD_AND_SAMPLED || this.predictShare >= 1) return decided;
    if (attributes['http.route'] !== PREDICT_ROUTE || trace.getSpanContext(context) !== undefined) return decided;
    // by trace id, as the ratio samplers decide: the same trace gets the same answer everywhere
    return this.share.shouldSample(context, traceId, name, kind, attributes, links).decision === SamplingDecision.RECORD_AND_SAMPLED ? decided : { decision: SamplingDecision.NOT_RECORD };
  }

  toString(): string {
    return `PredictShareSampler{${this.base.toString()}, predict ${this.predictShare}}`;
  }
}

export function samplerFor(s: Pick<TraceSettings, 'sampler' | 'ratio' | 'predictShare'>): Sampler {
  return new PredictShareSampler(standardSampler(s), s.predictShare);
}
