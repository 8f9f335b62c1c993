/**
 * The OpenAPI document against the app: every route is documented with the access it was registered
 * with and nothing else is, and what a real stack answers (a model trained on the bundled dataset and
 * deployed by auto-approval) parses with the schema the document gives for that operation and status.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { RouteSpec } from '../src/api/access';
import { buildOpenApiDocument, OpenApiDocument, openApiDocumentOf, openApiPath, RESPONSE_COMPONENTS } from '../src/api/openapi';
import { caseInsensitivePattern } from '../src/api/openapi-json-schema';
import { OPERATIONS } from '../src/api/openapi-operations';
import { ApiStack, Reply, startApiStack } from './helpers/api-stack';
import { appRoutes } from './helpers/openapi';
import { eventually } from './helpers/eventually';
import { BREAST_CANCER } from './helpers/pipeline-env';

type Operation = { responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }>; parameters?: { name: string; in: string }[]; security?: unknown; 'x-required-role'?: string; 'x-undocumented'?: boolean };

describe('OpenAPI document', () => {
  let stack: ApiStack;
  let routes: RouteSpec[];
  let doc: OpenApiDocument;
  const exercised = new Set<string>();

  const operation = (method: string, template: string) => (doc.paths[template] as Record<string, Operation> | undefined)?.[method.toLowerCase()];

  /** The documented path template a concrete URL falls under; literal segments win over parameters. */
  const templateOf = (url: string): string => {
    const path = url.split('?')[0];
    const matches = Object.keys(doc.paths)
      .filter((t) => new RegExp(`^${t.replace(/\{\w+\}/g, '[^/]+')}$`).test(path))
      .sort((a, b) => (a.match(/\{/g)?.length ?? 0) - (b.match(/\{/g)?.length ?? 0));
    assert.ok(matches.length > 0, `no documented path matches ${path}`);
    return matches[0];
  };

  /** Checks a reply against the document: its status is listed, and its body parses with that status's schema. */
  const conforms = (method: string, url: string, reply: { status: number; body?: unknown; contentType?: string | null }) => {
    const template = templateOf(url);
    const op = operation(method, template);
    assert.ok(op, `${method} ${template} is not documented`);
    const listed = op.responses[String(reply.status)] as { $ref?: string } | undefined;
    // shared error answers are references to #/components/responses/<name>
    const documented = (listed?.$ref ? doc.components.responses[listed.$ref.split('/').pop() as keyof typeof doc.components.responses] : listed) as Operation['responses'][string] | undefined;
    assert.ok(documented, `${method} ${url} answered ${reply.status}, which the document does not list for ${template}: ${JSON.stringify(reply.body)}`);
    exercised.add(`${method} ${template} ${reply.status}`);
    const [mediaType, media] = Object.entries(documented.content ?? {})[0] ?? [];
    if (!mediaType) return assert.equal(reply.body, undefined, `${method} ${url}: ${reply.status} is documented without a body`);
    if (reply.contentType) assert.ok(reply.contentType.startsWith(mediaType), `${method} ${url}: ${reply.contentType}, documented ${mediaType}`);
    const name = media?.schema?.$ref?.split('/').pop() as keyof typeof RESPONSE_COMPONENTS | undefined;
    if (!name) return;
    const parsed = RESPONSE_COMPONENTS[name].safeParse(reply.body);
    assert.ok(parsed.success, `${method} ${url} ${reply.status} does not match ${name}: ${JSON.stringify(parsed.error?.issues.slice(0, 5))}`);
  };

  /** A JSON call whose answer must have the expected status and conform to the document. */
  const check = async (status: number, method: string, url: string, body?: unknown, o: { headers?: Record<string, string>; anonymous?: boolean; raw?: string } = {}): Promise<Reply> => {
    const reply = await stack.call(method, url, body, o);
    assert.equal(reply.status, status, `${method} ${url}: ${JSON.stringify(reply.body)}`);
    conforms(method, url, { ...reply, contentType: reply.headers.get('content-type') });
    return reply;
  };

  /** The same for answers that are not JSON (HTML reports, Prometheus text). */
  const checkText = async (status: number, url: string) => {
    const response = await fetch(`${stack.api.url}${url}`, { headers: { authorization: `Bearer ${stack.config.api.adminKey}` } });
    const text = await response.text();
    assert.equal(response.status, status, text.slice(0, 300));
    conforms('GET', url, { status, body: text, contentType: response.headers.get('content-type') });
  };

  before(async () => {
    stack = await startApiStack({ backend: 'embedded', env: { MLOPS_TASK_QUEUE: 'openapi-test', MLOPS_CODE_VERSION: 'openapi-test' } });
    routes = appRoutes();
    doc = buildOpenApiDocument(routes);
  });

  after(async () => {
    await stack.close();
  });

  it('documents every route with its method, path and access, and nothing that is not a route', () => {
    assert.ok(routes.length > 40, `the route table has ${routes.length} routes`);
    const routeKeys = new Set(routes.map((r) => `${r.method.toUpperCase()} ${openApiPath(r.path)}`));
    for (const r of routes) {
      const template = openApiPath(r.path);
      const op = operation(r.method, template);
      assert.ok(op, `${r.method.toUpperCase()} ${r.path} is missing from the document`);
      assert.ok(!op['x-undocumented'], `${r.method.toUpperCase()} ${template} has no entry in src/api/openapi-operations.ts`);
      assert.equal(op['x-required-role'], r.access, `${r.method.toUpperCase()} ${template}`);
      const expected = r.access === 'open' ? [] : r.access === 'predict' || r.access === 'feedback' ? [{ bearer: [] }, {}] : [{ bearer: [] }];
      assert.deepEqual(op.security, expected, `security of ${r.method.toUpperCase()} ${template}`);
      // every {param} of the template is declared as a path parameter
      for (const [, name] of template.matchAll(/\{(\w+)\}/g)) {
        assert.ok(op.parameters?.some((p) => p.in === 'path' && p.name === name), `${template} does not declare its path parameter ${name}`);
      }
    }
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const method of Object.keys(methods)) assert.ok(routeKeys.has(`${method.toUpperCase()} ${path}`), `${method.toUpperCase()} ${path} is documented but is not a route`);
    }
    for (const key of Object.keys(OPERATIONS)) assert.ok(routeKeys.has(key), `src/api/openapi-operations.ts describes ${key}, which the app does not serve`);
    assert.deepEqual(doc.components.securitySchemes.bearer, { type: 'http', scheme: 'bearer', description: doc.components.securitySchemes.bearer.description });
  });

  it('resolves every reference, and generates request bodies from the schemas the routes validate with', () => {
    const refs = JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/(schemas|responses)\/([^"]+)"/g);
    for (const [, kind, name] of refs) assert.ok(name in doc.components[kind as 'schemas' | 'responses'], `unresolved reference ${kind}/${name}`);
    const pipeline = doc.components.schemas.PipelineRequest as { additionalProperties?: boolean; required?: string[]; properties: Record<string, { pattern?: string }> };
    assert.equal(pipeline.additionalProperties, false, 'strict zod objects refuse unknown fields, and the document says so');
    assert.deepEqual(pipeline.required, ['model', 'data', 'target']);
    // the API's model names are case-insensitive; the documented pattern must accept what the API accepts
    assert.match('Cancer-2', new RegExp(pipeline.properties.model.pattern!));
    assert.doesNotMatch('bad name!', new RegExp(pipeline.properties.model.pattern!));
  });

  it('widens case-insensitive patterns to both cases, escapes and all', () => {
    assert.equal(caseInsensitivePattern('^[a-z0-9][a-z0-9_-]{0,62}$'), '^[a-zA-Z0-9][a-zA-Z0-9_-]{0,62}$');
    assert.equal(caseInsensitivePattern('^v\\d+x[b]$'), '^[vV]\\d+[xX][bB]$');
    for (const sample of ['abc', 'ABC', 'aB-1', '-x', '']) {
      assert.equal(new RegExp(caseInsensitivePattern('^[a-z][a-z0-9-]*$')).test(sample), /^[a-z][a-z0-9-]*$/i.test(sample), sample);
    }
  });

  it('is what /openapi.json serves (built from the route table once app.ts calls the builder)', async () => {
    const served = (await check(200, 'GET', '/openapi.json')).body;
    // until app.ts switches to buildOpenApiDocument(its routes), it serves the same document without access
    const withoutAccess = JSON.parse(JSON.stringify(buildOpenApiDocument()));
    assert.ok(isDeepStrictEqual(served, JSON.parse(JSON.stringify(doc))) || isDeepStrictEqual(served, withoutAccess), 'the served document is not the one built from the route table');
    // what app.ts serves is built once per route table
    assert.equal(openApiDocumentOf(routes), openApiDocumentOf(routes));
    assert.deepEqual(openApiDocumentOf(routes), doc);
    const docs = await fetch(`${stack.api.url}/docs/`);
    assert.equal(docs.status, 200);
  });

  it('describes what a real stack answers, successes and errors alike', async () => {
    await check(200, 'GET', '/healthz');
    await check(200, 'GET', '/readyz');
    await checkText(200, '/metrics');

    // a pipeline: started, read while it runs and once deployed
    const started = await check(202, 'POST', '/v1/pipelines', { model: 'cancer', data: { uri: BREAST_CANCER }, target: 'diagnosis', approval: { mode: 'auto' } });
    const id = started.body.id as string;
    await check(200, 'GET', `/v1/pipelines/${id}`);
    let status: Reply;
    for (const deadline = Date.now() + 120_000; ; await new Promise((r) => setTimeout(r, 200))) {
      status = await check(200, 'GET', `/v1/pipelines/${id}`);
      if (['deployed', 'rejected', 'failed'].includes(status.body.state)) break;
      assert.ok(Date.now() < deadline, `pipeline stuck in ${status.body.state}`);
    }
    assert.equal(status.body.state, 'deployed', JSON.stringify(status.body));
    const version = status.body.modelVersion as number;
    const datasetId = status.body.datasetId as string;
    await check(409, 'POST', `/v1/pipelines/${id}/approval`, { decision: 'approve' });
    await check(400, 'POST', `/v1/pipelines/${id}/approval`, { decision: 'maybe' });
    await check(404, 'GET', '/v1/pipelines/train-nope-0000000000');
    await check(400, 'POST', '/v1/pipelines', { model: 'cancer', data: { uri: BREAST_CANCER } });
    await check(400, 'POST', '/v1/pipelines', undefined, { raw: '{"model": ' });
    await check(413, 'POST', '/v1/pipelines', { model: 'cancer', padding: 'x'.repeat(3_000_000) });

    // models, versions, lineage, reports
    await check(200, 'GET', '/v1/models');
    await check(200, 'GET', '/v1/models/cancer');
    await check(404, 'GET', '/v1/models/nope');
    await check(200, 'GET', `/v1/models/cancer/versions/${version}`);
    await check(400, 'GET', '/v1/models/cancer/versions/abc');
    await check(404, 'GET', '/v1/models/cancer/versions/999');
    await check(200, 'GET', `/v1/lineage/models/cancer/versions/${version}`);
    await check(200, 'GET', `/v1/lineage/models/cancer/versions/${version}/openlineage`);
    await checkText(200, `/v1/models/cancer/versions/${version}/report`);
    await checkText(200, `/v1/models/cancer/versions/${version}/bundle/model.onnx`);
    await check(404, 'GET', `/v1/models/cancer/versions/${version}/bundle/Dockerfile`);
    await check(200, 'PUT', '/v1/models/cancer/aliases/champion', { version });
    await check(400, 'PUT', '/v1/models/cancer/aliases/champion', { version, extra: 1 });
    await check(409, 'POST', '/v1/models/cancer/rollback', {});

    // data and runs
    await check(200, 'GET', '/v1/datasets');
    await check(200, 'GET', `/v1/datasets/${datasetId}`);
    await check(200, 'GET', `/v1/datasets/${datasetId}/diff/${datasetId}`);
    await check(404, 'GET', '/v1/datasets/abc');
    await check(400, 'GET', '/v1/datasets?limit=0');
    await check(200, 'GET', `/v1/lineage/datasets/${datasetId}`);
    await check(200, 'GET', '/v1/runs?model=cancer');
    await check(200, 'GET', `/v1/runs/${id}`);
    await check(404, 'GET', '/v1/runs/nope');
    await check(400, 'GET', '/v1/runs?limit=0');

    // serving and feedback
    const header = fs.readFileSync(BREAST_CANCER, 'utf8').split('\n')[0].split(',');
    const values = fs.readFileSync(BREAST_CANCER, 'utf8').split('\n')[1].split(',');
    const instance = Object.fromEntries(header.slice(0, 30).map((h, i) => [h, Number(values[i])]));
    const predicted = await check(200, 'POST', '/v1/models/cancer/predict', { instances: [instance, { ...instance, radius_mean: null }] });
    await check(400, 'POST', '/v1/models/cancer/predict', { instances: [] });
    await check(404, 'POST', '/v1/models/nope/predict', { instances: [instance] });
    await stack.api.flush();
    await check(200, 'POST', '/v1/feedback', { items: [{ predictionId: predicted.body.predictions[0].id, label: 'malignant' }, { predictionId: '00000000-0000-4000-8000-000000000000', label: 'benign' }] });
    await check(404, 'POST', '/v1/feedback', { predictionId: '00000000-0000-4000-8000-000000000001', label: 'x' });
    await check(400, 'POST', '/v1/feedback', { predictionId: 'not-a-uuid', label: 'x' });

    // rollouts: a shadow of the version already in production is refused by the workflow
    await check(200, 'GET', '/v1/models/cancer/deployments');
    const rollout = await check(202, 'POST', '/v1/models/cancer/deployments', { version, strategy: 'shadow', bakeSeconds: 1 });
    for (const deadline = Date.now() + 30_000; ; await new Promise((r) => setTimeout(r, 200))) {
      const r = await check(200, 'GET', `/v1/models/cancer/deployments/${rollout.body.id}`);
      if (r.body.state !== 'running') break;
      assert.ok(Date.now() < deadline, 'the refused rollout did not end');
    }
    await check(409, 'POST', `/v1/models/cancer/deployments/${rollout.body.id}/abort`, {});
    await check(404, 'POST', '/v1/models/cancer/deployments/rollout-cancer-nope/promote', {});
    await check(404, 'GET', '/v1/models/cancer/deployments/rollout-cancer-nope');
    await check(400, 'POST', '/v1/models/cancer/deployments', { version, strategy: 'canary', steps: [50, 20, 100] });
    await check(404, 'POST', '/v1/models/cancer/deployments', { version: 99, strategy: 'blue-green' });
    await check(200, 'GET', '/v1/models/cancer/deployments');

    // monitoring, schedules, review, alerts
    await check(200, 'GET', '/v1/models/cancer/monitoring');
    await check(200, 'PUT', '/v1/models/cancer/monitoring', { windowMinutes: 30 });
    await check(400, 'PUT', '/v1/models/cancer/monitoring', { windowMinutes: 0 });
    await check(404, 'GET', '/v1/models/nope/monitoring');
    const run = await check(200, 'POST', '/v1/models/cancer/monitoring/run');
    await check(200, 'GET', `/v1/models/cancer/monitoring/checks/${run.body.id}`);
    await checkText(200, `/v1/models/cancer/monitoring/checks/${run.body.id}/report`);
    await check(404, 'GET', '/v1/models/cancer/monitoring/checks/nope');
    await check(200, 'GET', '/v1/models/cancer/monitoring');
    await check(200, 'GET', '/v1/schedules');
    await check(201, 'POST', '/v1/schedules', { kind: 'retrain', model: 'cancer', cron: '0 3 * * 1' });
    await check(409, 'POST', '/v1/schedules', { kind: 'retrain', model: 'cancer', cron: '0 3 * * 1' });
    await check(400, 'POST', '/v1/schedules', { kind: 'retrain', model: 'cancer' });
    await check(200, 'GET', '/v1/schedules/retrain-cancer');
    await check(200, 'POST', '/v1/schedules/retrain-cancer/pause', { note: 'holiday' });
    await check(200, 'POST', '/v1/schedules/retrain-cancer/unpause');
    await check(204, 'DELETE', '/v1/schedules/retrain-cancer');
    await check(404, 'GET', '/v1/schedules/retrain-cancer');
    await check(200, 'GET', '/v1/review?model=cancer');
    await check(200, 'GET', '/v1/review?state=labelled');
    await check(400, 'GET', '/v1/review?state=later');
    await check(404, 'POST', '/v1/review/00000000-0000-4000-8000-000000000000/label', { label: 'benign' });
    await check(200, 'GET', '/v1/alerts');

    // batch scoring: a job through to its end, its list, and refusals
    const batchOut = path.join(stack.files, 'openapi-batch');
    const job = await check(202, 'POST', '/v1/models/cancer/batch', { input: { uri: BREAST_CANCER }, output: { uri: batchOut, format: 'csv' } });
    const ended = await eventually('the batch job to end', async () => {
      const seen = await check(200, 'GET', `/v1/models/cancer/batch/${job.body.id}`);
      return seen.body.state === 'running' ? undefined : seen.body;
    }, { everyMs: 200 });
    assert.equal(ended.state, 'completed', JSON.stringify(ended));
    await check(200, 'GET', '/v1/models/cancer/batch');
    await check(404, 'GET', '/v1/models/cancer/batch/batch-cancer-none');
    await check(409, 'POST', '/v1/models/cancer/batch', { input: { uri: BREAST_CANCER }, output: { uri: batchOut } });
    await check(400, 'POST', '/v1/models/cancer/batch', { input: { uri: BREAST_CANCER }, output: { uri: '/etc/batch-out' } });
    await check(404, 'POST', '/v1/models/cancer/batch', { input: { uri: BREAST_CANCER }, output: { uri: path.join(stack.files, 'x') }, version: 999 });

    // access and governance
    const key = await check(201, 'POST', '/v1/keys', { name: 'reader', role: 'viewer' });
    await check(200, 'GET', '/v1/keys');
    await check(403, 'POST', '/v1/pipelines', { model: 'x', data: { uri: BREAST_CANCER }, target: 'diagnosis' }, { headers: { authorization: `Bearer ${key.body.token}` } });
    await check(401, 'GET', '/v1/models', undefined, { anonymous: true });
    await check(200, 'DELETE', `/v1/keys/${key.body.id}`);
    await check(404, 'DELETE', '/v1/keys/nope');
    await check(200, 'PUT', '/v1/slack/users/U0123ABC', { name: 'alice', role: 'approver' });
    await check(200, 'GET', '/v1/slack/users');
    await check(204, 'DELETE', '/v1/slack/users/U0123ABC');
    await check(400, 'PUT', '/v1/slack/users/alice', { name: 'alice', role: 'approver' });
    await check(200, 'GET', '/v1/models/cancer/approval-policy');
    await check(200, 'PUT', '/v1/models/cancer/approval-policy', { approvers: 2, fourEyes: true });
    await check(200, 'GET', '/v1/audit');
    await check(200, 'GET', '/v1/audit/verify');
    await check(200, 'GET', '/v1/models/cancer/privacy');

    // last, as they train again: reproduce, and retraining (a second request while one runs is a 409 with a body)
    await check(200, 'POST', `/v1/models/cancer/versions/${version}/reproduce`, {});
    await check(202, 'POST', '/v1/models/cancer/retrain', { reason: 'openapi test' });
    await check(409, 'POST', '/v1/models/cancer/retrain', { reason: 'again' });
  });

  it('would notice an undocumented field: response objects are strict', async () => {
    const models = (await stack.call('GET', '/v1/models')).body;
    assert.ok(RESPONSE_COMPONENTS.ModelList.safeParse(models).success);
    assert.ok(!RESPONSE_COMPONENTS.ModelList.safeParse({ models: [{ ...models.models[0], surprise: 1 }] }).success);
    assert.ok(exercised.size > 80, `only ${exercised.size} (operation, status) pairs were checked`);
  });
});
