/**
 * ONNX inference as a span of the predict request it answers (src/serving/model-server.ts calls it only
 * when tracing is on). A request that is not sampled gets none: the check is one lookup in the active
 * context. The span covers the wait for the micro-batch as well as the run it shares with concurrent
 * requests, which is the time inference added to this request.
 */
import { context, SpanStatusCode, trace, Tracer } from '@opentelemetry/api';

export type TraceInference = <T>(model: string, version: number, rows: number, run: () => Promise<T>) => Promise<T>;

export function inferenceSpans(tracer: Tracer): TraceInference {
  return async (model, version, rows, run) => {
    if (!trace.getSpan(context.active())?.isRecording()) return run();
    const span = tracer.startSpan('onnx inference', { attributes: { 'mlops.model.name': model, 'mlops.model.version': version, 'mlops.inference.rows': rows } });
    try {
      return await run();
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error)?.message });
      throw err;
    } finally {
      span.end();
    }
  };
}
