/**
 * Traces and the worker's metrics, end to end against a real OpenTelemetry Collector (built from Go
 * modules: test/helpers/otel-collector.ts): a pipeline started over HTTP is one trace from the API
 * request through the workflow start, the workflow and every activity it ran, over both OTLP encodings;
 * a predict request's trace holds its inference; an unsampled caller gets no spans; with no endpoint
 * there is no tracing. The worker's Temporal SDK metrics are scraped as Prometheus would, and the
 * Grafana dashboard's Temporal panels select only metrics that scrape shows.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { ConfigError, loadConfig } from '../src/config';
import { ROOT_CONTEXT, SpanKind, trace, TraceFlags } from '@opentelemetry/api';
import { Sampler, SamplingDecision } from '@opentelemetry/sdk-trace-base';
import { PREDICT_ROUTE } from '../src/telemetry/http-spans';
import { samplerFor } from '../src/telemetry/sampling';
import { startTracing } from '../src/telemetry/tracing';
import { workerMetricsTelemetry } from '../src/telemetry/worker-metrics';
import { PlatformStack, startPlatform } from './helpers/api-stack';
import { eventually } from './helpers/eventually';
import { Collector, ReceivedSpan, startCollector } from './helpers/otel-collector';
import { BREAST_CANCER } from './helpers/pipeline-env';
import { installRuntime, startTemporal } from './helpers/temporal';
import { createTestDatabase } from './helpers/database';
import { startWorkerProcess } from './helpers/worker-process';

const COLLECTOR_PORT = 18431;
const WORKER_METRICS_PORT = 18432;
const CLI_WORKER_METRICS_PORT = 18433;
const DASHBOARD = path.join(__dirname, '..', 'deploy', 'grafana', 'mlops-dashboard.json');

/** A W3C traceparent of a trace of our own, so the test finds its spans among all the collector got. */
function callerTrace(sampled = true): { traceId: string; parentId: string; traceparent: string } {
  const traceId = randomBytes(16).toString('hex');
  const parentId = randomBytes(8).toString('hex');
  return { traceId, parentId, traceparent: `00-${traceId}-${parentId}-${sampled ? '01' : '00'}` };
}

/** One row of the bundled dataset as a predict instance. */
function cancerInstance(): Record<string, number> {
  const [header, first] = fs.readFileSync(BREAST_CANCER, 'utf8').split('\n');
  const names = header.split(',');
  const values = first.split(',');
  return Object.fromEntries(names.map((n, i) => [n, Number(values[i])]).filter(([n]) => n !== 'diagnosis'));
}

const SERVER = 2; // OTLP SpanKind
const byName = (spans: ReceivedSpan[], name: string) => spans.filter((s) => s.name === name);

describe('OpenTelemetry configuration', () => {
  const config = (env: Record<string, string>) => () => loadConfig({ MLOPS_DATA_ROOTS: '/tmp', ...env });

  it('is off without an endpoint, and then nothing is started', () => {
    const settings = loadConfig({ MLOPS_DATA_ROOTS: '/tmp' }).telemetry;
    assert.equal(settings.traces, undefined);
    assert.equal(startTracing(settings), undefined);
    assert.deepEqual(workerMetricsTelemetry(settings), {}, 'no worker metrics without MLOPS_WORKER_METRICS_PORT');
  });

  it('reads the standard variables, with the spec\'s defaults', () => {
    const t = loadConfig({ MLOPS_DATA_ROOTS: '/tmp', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).telemetry.traces;
    assert.deepEqual(t, { url: 'http://collector:4318/v1/traces', protocol: 'http/protobuf', sampler: 'parentbased_always_on', ratio: 1, predictShare: 0.01, serviceName: 'mlops' });
    const u = loadConfig({ MLOPS_DATA_ROOTS: '/tmp', OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otel.example/base', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.05', OTEL_SERVICE_NAME: 'mlops-api', MLOPS_TRACE_PREDICT_SAMPLE: '1' }).telemetry.traces;
    assert.deepEqual(u, { url: 'https://otel.example/base/v1/traces', protocol: 'http/json', sampler: 'parentbased_traceidratio', ratio: 0.05, predictShare: 1, serviceName: 'mlops-api' });
    const m = loadConfig({ MLOPS_DATA_ROOTS: '/tmp', MLOPS_WORKER_METRICS_PORT: '9464', MLOPS_WORKER_METRICS_HOST: '::' }).telemetry;
    assert.deepEqual(workerMetricsTelemetry(m), { metrics: { prometheus: { bindAddress: '[::]:9464', useSecondsForDurations: true } } });
  });

  it('refuses what it cannot honour, naming the variable', () => {
    assert.throws(config({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }), (e: Error) => e instanceof ConfigError && /OTEL_EXPORTER_OTLP_PROTOCOL must be http\/protobuf or http\/json .*"grpc"/.test(e.message));
    assert.throws(config({ OTEL_TRACES_SAMPLER: 'sometimes' }), /OTEL_TRACES_SAMPLER must be one of always_on, .*"sometimes"/);
    assert.throws(config({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '1.5' }), /OTEL_TRACES_SAMPLER_ARG must be a share of traces between 0 and 1, got "1.5"/);
    assert.throws(config({ OTEL_TRACES_SAMPLER_ARG: 'half' }), /OTEL_TRACES_SAMPLER_ARG .*"half"/);
    assert.throws(config({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }), /OTEL_EXPORTER_OTLP_ENDPOINT must be the http\(s\) base URL/);
    assert.throws(config({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/?token=x' }), /OTEL_EXPORTER_OTLP_ENDPOINT must be the http\(s\) base URL/);
    assert.throws(config({ OTEL_SERVICE_NAME: '   ' }), /OTEL_SERVICE_NAME must not be empty/);
    assert.throws(config({ MLOPS_TRACE_PREDICT_SAMPLE: '5' }), /MLOPS_TRACE_PREDICT_SAMPLE/);
    assert.throws(config({ MLOPS_TRACE_PREDICT_SAMPLE: 'some' }), /MLOPS_TRACE_PREDICT_SAMPLE/);
    assert.throws(config({ MLOPS_WORKER_METRICS_PORT: '70000' }), /MLOPS_WORKER_METRICS_PORT/);
    assert.throws(config({ MLOPS_WORKER_METRICS_PORT: 'nine' }), /MLOPS_WORKER_METRICS_PORT/);
  });
});

describe('sampling', () => {
  const TRACE = '0af7651916cd43dd8448eb211c80319c';
  const predict = { 'http.route': PREDICT_ROUTE };
  const decide = (sampler: Sampler, attributes: Record<string, string>, parent = ROOT_CONTEXT) => sampler.shouldSample(parent, TRACE, 'POST', SpanKind.SERVER, attributes, []).decision;
  const sampledParent = trace.setSpanContext(ROOT_CONTEXT, { traceId: TRACE, spanId: 'b7ad6b7169203331', traceFlags: TraceFlags.SAMPLED, isRemote: true });

  it('keeps the configured share of the predict traces the sampler would begin, and every other trace it keeps', () => {
    const none = samplerFor({ sampler: 'parentbased_always_on', ratio: 1, predictShare: 0 });
    assert.equal(decide(none, predict), SamplingDecision.NOT_RECORD, 'a new predict trace at share 0');
    assert.equal(decide(none, { 'http.route': '/v1/pipelines' }), SamplingDecision.RECORD_AND_SAMPLED, 'other routes follow the sampler');
    assert.equal(decide(none, predict, sampledParent), SamplingDecision.RECORD_AND_SAMPLED, 'a caller\'s sampled trace is followed');
    const all = samplerFor({ sampler: 'parentbased_always_on', ratio: 1, predictShare: 1 });
    assert.equal(decide(all, predict), SamplingDecision.RECORD_AND_SAMPLED);
    // the share thins what the sampler keeps, never adds to it
    assert.equal(decide(samplerFor({ sampler: 'always_off', ratio: 1, predictShare: 1 }), predict), SamplingDecision.NOT_RECORD);
    // over many trace ids, about the share
    const some = samplerFor({ sampler: 'parentbased_always_on', ratio: 1, predictShare: 0.1 });
    let kept = 0;
    for (let i = 0; i < 10_000; i++) if (some.shouldSample(ROOT_CONTEXT, randomBytes(16).toString('hex'), 'POST', SpanKind.SERVER, predict, []).decision === SamplingDecision.RECORD_AND_SAMPLED) kept++;
    assert.ok(kept > 800 && kept < 1200, `kept ${kept} of 10,000`);
  });
});

describe('traces through the API, Temporal and serving, and the worker\'s metrics', () => {
  let collector: Collector;
  let temporal: TestWorkflowEnvironment;
  /** The activity types each traced pipeline ran, from its workflow history. */
  const ran = new Map<string, string[]>();

  before(async () => {
    collector = await startCollector(COLLECTOR_PORT);
    // the Runtime as `mlops worker` installs it with MLOPS_WORKER_METRICS_PORT set
    installRuntime({ telemetryOptions: workerMetricsTelemetry(loadConfig({ MLOPS_DATA_ROOTS: '/tmp', MLOPS_WORKER_METRICS_PORT: String(WORKER_METRICS_PORT) }).telemetry) });
    temporal = await startTemporal();
  });
  after(async () => {
    await temporal?.teardown();
    await collector?.stop();
  });

  const withStack = async (env: Record<string, string>, body: (stack: PlatformStack) => Promise<void>) => {
    const stack = await startPlatform({ env: { TEMPORAL_ADDRESS: temporal.address, ...env } });
    try {
      await body(stack);
    } finally {
      await stack.close(); // sends the spans still buffered
    }
  };

  // the protobuf stack traces no predict that begins a trace, the JSON one every one
  for (const [protocol, predictShare] of [['http/protobuf', '0'], ['http/json', '1']]) {
    const service = `mlops-test-${protocol.replace('/', '-')}`;
    it(`a pipeline is one trace from the API request through the workflow and every activity, and predict traces its inference (${protocol})`, async () => {
      const pipeline = callerTrace();
      const predict = callerTrace();
      const unsampled = callerTrace(false);
      const model = `traced-${protocol.replace('/', '-')}`;
      let pipelineId = '';
      await withStack({ OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: protocol, OTEL_SERVICE_NAME: service, MLOPS_TRACE_PREDICT_SAMPLE: predictShare }, async (stack) => {
        const started = await stack.call('POST', '/v1/pipelines', { model, data: { uri: BREAST_CANCER }, target: 'diagnosis', approval: { mode: 'auto', thresholds: { auc: 0.9 } } }, { headers: { traceparent: pipeline.traceparent } });
        assert.equal(started.status, 202, JSON.stringify(started.body));
        pipelineId = started.body.id;
        await stack.waitRun(pipelineId, ['deployed']);
        const history = await stack.api.client.workflow.getHandle(pipelineId).fetchHistory();
        ran.set(protocol, (history.events ?? []).map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name).filter((n): n is string => !!n));

        const instance = cancerInstance();
        const answered = await stack.call('POST', `/v1/models/${model}/predict`, { instances: [instance] }, { headers: { traceparent: predict.traceparent } });
        assert.equal(answered.status, 200, JSON.stringify(answered.body));
        // a caller that did not sample its trace: parent-based sampling keeps none of it
        assert.equal((await stack.call('POST', `/v1/models/${model}/predict`, { instances: [instance] }, { headers: { traceparent: unsampled.traceparent } })).status, 200);
        // a malformed traceparent is no error: the request begins a trace of its own (kept at MLOPS_TRACE_PREDICT_SAMPLE)
        assert.equal((await stack.call('POST', `/v1/models/${model}/predict`, { instances: [instance] }, { headers: { traceparent: '00-zz-not-a-trace' } })).status, 200);
        assert.equal((await stack.call('POST', `/v1/models/${model}/predict`, { instances: [instance] })).status, 200);
      });

      const activities = ran.get(protocol)!;
      assert.ok(activities.length >= 5, `activities: ${activities}`);
      const spans = await eventually(() => `the pipeline's spans: ${JSON.stringify(collector.spans().filter((s) => s.traceId === pipeline.traceId).map((s) => s.name))}`, () => {
        const mine = collector.spans().filter((s) => s.traceId === pipeline.traceId);
        return activities.every((a) => mine.some((s) => s.name === `RunActivity:${a}`)) && mine.some((s) => s.name === 'RunWorkflow:trainingPipeline') ? mine : undefined;
      }, { timeoutMs: 30_000 });
      // every span came from the process under test, over this protocol (the service name is this test's)
      assert.deepEqual([...new Set(spans.map((s) => s.serviceName))], [service]);
      const id = new Map(spans.map((s) => [s.spanId, s]));
      const parentOf = (s: ReceivedSpan) => id.get(s.parentSpanId);

      const [request] = byName(spans, 'POST /v1/pipelines');
      assert.ok(request, `no API span in ${spans.map((s) => s.name)}`);
      assert.equal(request.kind, SERVER);
      assert.equal(request.parentSpanId, pipeline.parentId, 'the API span continues the caller\'s trace');
      assert.equal(request.attributes['http.response.status_code'], 202);
      assert.equal(request.attributes['http.route'], '/v1/pipelines');
      const [start] = byName(spans, 'StartWorkflow:trainingPipeline');
      assert.equal(parentOf(start), request, 'the workflow is started within the request');
      const [run] = byName(spans, 'RunWorkflow:trainingPipeline');
      assert.equal(parentOf(run), start);
      assert.equal(start.attributes.temporalWorkflowId, pipelineId);
      for (const activity of new Set(activities)) {
        const runs = byName(spans, `RunActivity:${activity}`);
        assert.ok(runs.length >= 1, `no span for activity ${activity}`);
        for (const r of runs) {
          const scheduled = parentOf(r);
          assert.equal(scheduled?.name, `StartActivity:${activity}`);
          // scheduled by this workflow run (directly, or by a child workflow it started)
          let up: ReceivedSpan | undefined = scheduled;
          while (up && up !== run) up = parentOf(up);
          assert.equal(up, run, `${activity} is not under the workflow's span`);
        }
      }

      const predictSpans = await eventually('the predict spans', () => {
        const mine = collector.spans().filter((s) => s.traceId === predict.traceId);
        return mine.length >= 2 ? mine : undefined;
      }, { timeoutMs: 30_000 });
      const [served] = byName(predictSpans, 'POST /v1/models/:name/predict');
      assert.ok(served, `predict spans: ${predictSpans.map((s) => s.name)}`);
      assert.equal(served.parentSpanId, predict.parentId);
      assert.equal(served.attributes['url.path'], `/v1/models/${model}/predict`);
      const [inference] = byName(predictSpans, 'onnx inference');
      assert.equal(inference.parentSpanId, served.spanId, 'inference is a span of the request it answers');
      assert.deepEqual([inference.attributes['mlops.model.name'], inference.attributes['mlops.inference.rows']], [model, 1]);
      assert.equal(typeof inference.attributes['mlops.model.version'], 'number');
      assert.deepEqual(collector.spans().filter((s) => s.traceId === unsampled.traceId), [], 'an unsampled caller\'s trace records nothing');
      // the two predicts that began their own trace: both kept at share 1, none at share 0
      const ownTraces = () => collector.spans().filter((s) => s.serviceName === service && s.name === 'POST /v1/models/:name/predict' && !s.parentSpanId);
      if (predictShare === '1') await eventually(() => `2 predicts that began a trace, got ${ownTraces().length}`, () => (ownTraces().length >= 2 ? true : undefined), { timeoutMs: 30_000 });
      assert.equal(ownTraces().length, predictShare === '1' ? 2 : 0);
    });
  }

  it('with no endpoint set nothing is traced, OTEL_TRACES_SAMPLER=always_off keeps nothing even of a sampled caller, and probes are never traced', async () => {
    const quiet = callerTrace();
    const off = callerTrace();
    const visible = callerTrace();
    await withStack({}, async (stack) => {
      assert.equal((await stack.call('GET', '/v1/models', undefined, { headers: { traceparent: quiet.traceparent } })).status, 200);
      assert.equal((await stack.call('GET', '/healthz', undefined, { headers: { traceparent: quiet.traceparent } })).status, 200);
    });
    await withStack({ OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint, OTEL_TRACES_SAMPLER: 'always_off', OTEL_SERVICE_NAME: 'mlops-test-off' }, async (stack) => {
      assert.equal((await stack.call('GET', '/v1/models', undefined, { headers: { traceparent: off.traceparent } })).status, 200);
    });
    // the control: the same request to a stack that samples is seen, so the two above could have been;
    // its probes and scrapes are not traced (they would bury the rest)
    const probe = callerTrace();
    await withStack({ OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint, OTEL_SERVICE_NAME: 'mlops-test-on' }, async (stack) => {
      for (const route of ['/healthz', '/readyz', '/metrics']) assert.equal((await stack.call('GET', route, undefined, { headers: { traceparent: probe.traceparent } })).status, 200);
      assert.equal((await stack.call('GET', '/v1/models', undefined, { headers: { traceparent: visible.traceparent } })).status, 200);
    });
    const [seen] = await eventually('the control request\'s span', () => {
      const mine = collector.spans().filter((s) => s.traceId === visible.traceId);
      return mine.length > 0 ? mine : undefined;
    }, { timeoutMs: 30_000 });
    assert.equal(seen.name, 'GET /v1/models');
    // each stack sent what it had when it closed, before the control's span arrived
    assert.deepEqual(collector.spans().filter((s) => s.traceId === quiet.traceId || s.traceId === off.traceId || s.traceId === probe.traceId || s.serviceName === 'mlops-test-off'), []);
  });

  it('the worker serves its Temporal SDK metrics for Prometheus, and the dashboard\'s Temporal panels select only what it serves', async () => {
    const response = await fetch(`http://127.0.0.1:${WORKER_METRICS_PORT}/metrics`);
    assert.equal(response.status, 200);
    const text = await response.text();
    const families = new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]));
    const series = new Set([...text.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/gm)].map((m) => m[1]));
    // the pipelines above ran here: their workflow and activity durations are histograms in seconds
    assert.equal(families.get('temporal_workflow_endtoend_latency'), 'histogram', [...families.keys()].join(', '));
    assert.equal(families.get('temporal_activity_execution_latency'), 'histogram');
    for (const activity of new Set(ran.get('http/protobuf'))) {
      assert.match(text, new RegExp(`^temporal_activity_execution_latency_count\\{[^}]*activity_type="${activity}"[^}]*\\} [1-9]`, 'm'), `no executions of ${activity}`);
    }
    assert.match(text, /^temporal_workflow_endtoend_latency_count\{[^}]*workflow_type="trainingPipeline"[^}]*\} [1-9]/m);

    const dashboard = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8'));
    const exprs: string[] = dashboard.panels.flatMap((p: { targets?: { expr?: string }[] }) => (p.targets ?? []).map((t) => t.expr ?? ''));
    const temporalNames = [...new Set(exprs.flatMap((e) => [...e.matchAll(/\btemporal_[a-z0-9_]+/g)].map((m) => m[0])))];
    assert.ok(temporalNames.includes('temporal_workflow_endtoend_latency_bucket') && temporalNames.includes('temporal_activity_execution_latency_bucket'), `the dashboard's Temporal metrics: ${temporalNames}`);
    assert.deepEqual(temporalNames.filter((n) => !series.has(n)), [], 'dashboard panels select metrics the worker does not serve');
  });

  it('`mlops worker` with MLOPS_WORKER_METRICS_PORT serves them, as a deployment runs it', async () => {
    const db = await createTestDatabase();
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-worker-metrics-'));
    const worker = startWorkerProcess('metrics-worker', {
      TEMPORAL_ADDRESS: temporal.address, DATABASE_URL: db.url, MLOPS_DATA_DIR: dataDir, MLOPS_TASK_QUEUE: 'cli-metrics',
      MLOPS_WORKER_METRICS_PORT: String(CLI_WORKER_METRICS_PORT),
    });
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    try {
      // its pollers on its own queue, once it runs
      const text = await eventually('the worker process\'s metrics', async () => {
        const body = await fetch(`http://127.0.0.1:${CLI_WORKER_METRICS_PORT}/metrics`).then((r) => r.text(), () => '');
        return /^temporal_num_pollers\{[^}]*task_queue="cli-metrics"/m.test(body) ? body : undefined;
      }, { timeoutMs: 120_000, everyMs: 500 });
      assert.match(text, /^# TYPE temporal_worker_task_slots_available gauge$/m);
    } finally {
      worker.kill('SIGTERM');
      await exited;
      await db.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
