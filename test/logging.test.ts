/**
 * Structured logs, piece by piece: the ECS shape of a line, the masking of secrets and people's data
 * (each written as the leak it prevents, then checked that the secret is not in the output), the line
 * per HTTP request on a real server with Express routing, Temporal's metadata as our fields, the
 * banner's two forms, and MLOPS_LOG_LEVEL / MLOPS_LOG_FILE.
 */
import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { context, Context, ContextManager, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import express from 'express';
import type { DestinationStream } from 'pino';
import { ConfigError, loadConfig } from '../src/config';
import { closeLogger, createLogger, forService, Logger } from '../src/logging/logger';
import { maskSecrets, MASK } from '../src/logging/redaction';
import { noteRoute, UNMATCHED, withRequestLog } from '../src/logging/http-request-log';
import { temporalFields, temporalLogger } from '../src/logging/temporal-logger';
import { serviceOutput } from '../src/logging/service-output';

/** A logger writing JSON lines into an array, with the given secrets and level. */
function capture(o: { secrets?: string[]; level?: 'debug' | 'info' | 'warn' } = {}): { logger: Logger; lines: string[]; records: () => Record<string, any>[] } {
  const lines: string[] = [];
  const stream = new Writable({ write(chunk, _enc, done) { lines.push(...String(chunk).split('\n').filter(Boolean)); done(); } });
  const logger = createLogger({ level: o.level ?? 'info', secrets: o.secrets ?? [], stream: stream as unknown as DestinationStream });
  return { logger, lines, records: () => lines.map((l) => JSON.parse(l)) };
}

/** A context manager over AsyncLocalStorage, as the OpenTelemetry SDK installs one, so a span can be active. */
class LocalContextManager implements ContextManager {
  private readonly storage = new AsyncLocalStorage<Context>();
  active(): Context { return this.storage.getStore() ?? ROOT_CONTEXT; }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    return this.storage.run(ctx, () => fn.call(thisArg, ...args));
  }
  bind<T>(_ctx: Context, target: T): T { return target; }
  enable(): this { return this; }
  disable(): this { this.storage.disable(); return this; }
}

describe('log lines', () => {
  it('are one JSON object per line with ECS names: @timestamp, log.level, message, service.name, process.pid, host.hostname', () => {
    const { logger, records } = capture();
    forService(logger, 'mlops-api').info({ 'mlops.model': 'churn' }, 'hello');
    const [line] = records();
    assert.equal(line.message, 'hello');
    assert.equal(line['log.level'], 'info');
    assert.equal(line['service.name'], 'mlops-api');
    assert.equal(line['mlops.model'], 'churn');
    assert.equal(typeof line['process.pid'], 'number');
    assert.ok(!Number.isNaN(Date.parse(line['@timestamp'])), line['@timestamp']);
    for (const pinoName of ['level', 'time', 'msg', 'pid', 'hostname']) assert.ok(!(pinoName in line), `no pino field "${pinoName}"`);
  });

  it('carry an error as ECS error.type, error.message and error.stack_trace', () => {
    const { logger, records } = capture();
    logger.error({ error: new TypeError('no such column "x"') }, 'failed');
    const [line] = records();
    assert.equal(line.error.type, 'TypeError');
    assert.equal(line.error.message, 'no such column "x"');
    assert.match(line.error.stack_trace, /TypeError: no such column/);
  });

  it('carry trace.id and span.id of the active OpenTelemetry span, and none without one', () => {
    const { logger, records } = capture();
    assert.ok(context.setGlobalContextManager(new LocalContextManager()));
    try {
      const span = trace.wrapSpanContext({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 });
      context.with(trace.setSpan(context.active(), span), () => logger.info('inside'));
      logger.info('outside');
    } finally {
      context.disable();
    }
    const [inside, outside] = records();
    assert.equal(inside['trace.id'], '0af7651916cd43dd8448eb211c80319c');
    assert.equal(inside['span.id'], 'b7ad6b7169203331');
    assert.ok(!('trace.id' in outside), JSON.stringify(outside));
  });

  it('stop below MLOPS_LOG_LEVEL, and a level that does not exist stops the process at start naming the key', () => {
    const { logger, lines } = capture({ level: 'warn' });
    logger.info('not written');
    logger.warn('written');
    assert.equal(lines.length, 1);
    assert.equal(loadConfig({}).logging.level, 'info');
    assert.equal(loadConfig({ MLOPS_LOG_LEVEL: 'debug' }).logging.level, 'debug');
    assert.throws(() => loadConfig({ MLOPS_LOG_LEVEL: 'verbose' }), (e: Error) => e instanceof ConfigError && /MLOPS_LOG_LEVEL/.test(e.message));
  });

  it('go to MLOPS_LOG_FILE, appended, when it is set', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-log-file-'));
    try {
      const file = path.join(dir, 'nested', 'mlops.log');
      fs.mkdirSync(path.dirname(file));
      fs.writeFileSync(file, 'an earlier line\n');
      const config = loadConfig({ MLOPS_LOG_FILE: file });
      assert.equal(config.logging.file, file);
      const logger = createLogger(config.logging);
      logger.info('to the file');
      closeLogger(logger, config.logging);
      const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
      assert.equal(lines[0], 'an earlier line');
      assert.equal(JSON.parse(lines[1]).message, 'to the file');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('secrets and people\'s data never reach a line', () => {
  const config = loadConfig({
    MLOPS_ADMIN_KEY: 'admin-key-that-must-stay-hidden',
    SLACK_BOT_TOKEN: 'xoxb-1111-2222-slack-bot-token',
    SLACK_SIGNING_SECRET: 'slack-signing-secret-8f3a2b',
    DATABASE_URL: 'postgres://platform:db%2Fpass%40word-42@db.internal:5432/mlops',
    PAGERDUTY_ROUTING_KEY: 'pagerdutyroutingkey0123',
    MLOPS_ALERT_WEBHOOK_URL: 'https://hooks.example.com/x', MLOPS_ALERT_WEBHOOK_SECRET: 'webhook-signing-secret-77',
  });

  it('the configured secrets are collected from config, the DATABASE_URL password both as written and decoded', () => {
    for (const secret of ['admin-key-that-must-stay-hidden', 'xoxb-1111-2222-slack-bot-token', 'slack-signing-secret-8f3a2b', 'db%2Fpass%40word-42', 'db/pass@word-42', 'pagerdutyroutingkey0123', 'webhook-signing-secret-77']) {
      assert.ok(config.logging.secrets.includes(secret), secret);
    }
  });

  it('an Authorization header logged whole, or its value in a message, is masked', () => {
    const { logger, lines } = capture({ secrets: config.logging.secrets });
    logger.info({ headers: { authorization: 'Bearer mlk_abcdefabcdef_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG' } }, 'a request');
    logger.info({ req: { headers: { authorization: 'Basic dXNlcjpwYXNzd29yZA==' } } }, 'another');
    logger.warn('refused Authorization: Bearer some-unknown-key-1234567 for GET /v1/models');
    logger.warn('the key mlk_abcdefabcdef_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG is revoked');
    const all = lines.join('\n');
    for (const secret of ['0123456789abcdefghijklmnopqrstuvwxyzABCDEFG', 'dXNlcjpwYXNzd29yZA==', 'some-unknown-key-1234567']) assert.ok(!all.includes(secret), `${secret} in ${all}`);
    assert.ok(all.includes('mlk_abcdefabcdef_'), 'the key id (public) stays, so the line still says which key');
  });

  it('an x-api-key header, as a field or in text, is masked', () => {
    const { logger, lines } = capture({ secrets: config.logging.secrets });
    logger.info({ 'x-api-key': 'key-in-a-field-9876' }, 'a');
    logger.info({ headers: { 'x-api-key': 'key-in-headers-9876' } }, 'b');
    logger.info('sent x-api-key: key-in-text-9876 to the source');
    const all = lines.join('\n');
    for (const secret of ['key-in-a-field-9876', 'key-in-headers-9876', 'key-in-text-9876']) assert.ok(!all.includes(secret), `${secret} in ${all}`);
  });

  it('the Slack signing secret and bot token are masked wherever they appear, also JSON-escaped inside a message', () => {
    const { logger, lines } = capture({ secrets: config.logging.secrets });
    logger.info({ slack: { signingSecret: 'slack-signing-secret-8f3a2b', botToken: 'xoxb-1111-2222-slack-bot-token' } }, 'slack settings');
    logger.error(`could not verify with "slack-signing-secret-8f3a2b" (token xoxb-1111-2222-slack-bot-token)`);
    logger.warn('an unconfigured Slack token xoxp-9999-8888-7777-other-token');
    const all = lines.join('\n');
    for (const secret of ['slack-signing-secret-8f3a2b', 'xoxb-1111-2222-slack-bot-token', 'xoxp-9999-8888-7777-other-token']) assert.ok(!all.includes(secret), `${secret} in ${all}`);
    assert.ok(all.includes(MASK));
  });

  it('DATABASE_URL and connection passwords are masked in URLs, and the configured one even outside a URL', () => {
    const { logger, lines } = capture({ secrets: config.logging.secrets });
    logger.error('cannot prepare the metadata store at postgres://platform:db%2Fpass%40word-42@db.internal:5432/mlops: timeout');
    logger.error({ error: new Error('connect ECONNREFUSED postgresql://reader:warehouse-pw-1@10.0.0.5/dw') }, 'ingest failed');
    logger.warn('password authentication failed; tried db/pass@word-42');
    const all = lines.join('\n');
    for (const secret of ['db%2Fpass%40word-42', 'db/pass@word-42', 'warehouse-pw-1']) assert.ok(!all.includes(secret), `${secret} in ${all}`);
    assert.ok(all.includes('postgres://platform:[redacted]@db.internal:5432/mlops'), 'the rest of the URL stays: host and database help the operator');
  });

  it('predict bodies, instances and request bodies logged whole are dropped', () => {
    const { logger, lines } = capture({ secrets: config.logging.secrets });
    logger.info({ body: { instances: [{ income: 81234.5, postcode: 'SW1A 2AA' }] } }, 'a');
    logger.info({ instances: [{ income: 81234.5 }] }, 'b');
    logger.info({ request: { body: { instances: [{ income: 81234.5 }] } } }, 'c');
    const all = lines.join('\n');
    for (const value of ['81234.5', 'SW1A 2AA']) assert.ok(!all.includes(value), `${value} in ${all}`);
  });

  it('a line with nothing secret comes back unchanged (and masking a short list is not regex-heavy)', () => {
    const mask = maskSecrets(['a-secret-value-123']);
    const line = '{"message":"POST /v1/models/:name/predict 200","url.path":"/v1/models/:name/predict"}';
    assert.equal(mask(line), line);
    assert.equal(mask('x a-secret-value-123 y a-secret-value-123'), `x ${MASK} y ${MASK}`);
  });
});

describe('one line per HTTP request', () => {
  let server: http.Server | undefined;
  after(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

  it('names the route pattern (never the raw path), status, duration in ns and the model; fast-path lines name their route; unmatched is "*"', async () => {
    const { logger, records } = capture();
    const app = express();
    app.get('/v1/pipelines/:id', (_req, res) => { res.json({ ok: true }); });
    app.get('/v1/models/:name/versions/:version', (_req, res) => { res.status(404).json({}); });
    const router = express.Router();
    router.get('/runs/:runId', (_req, res) => { res.json({}); });
    app.use('/mlflow', router);
    app.get('/boom', () => { throw new Error('boom'); });
    app.use((_err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => { res.status(500).json({}); });
    const listener: http.RequestListener = (req, res) => {
      if (req.url?.startsWith('/fast/')) { noteRoute(res, '/fast/:name', 'churn'); res.end('ok'); return; }
      app(req, res);
    };
    server = http.createServer(withRequestLog(listener, logger));
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const subject = 'subject-4711-jane-doe';
    for (const url of [`/v1/pipelines/${subject}`, '/v1/models/churn/versions/3', `/mlflow/runs/${subject}`, `/nowhere/${subject}`, '/fast/churn', '/boom']) {
      await (await fetch(base + url, { headers: { authorization: 'Bearer not-logged-0123456789' } })).text();
    }
    await new Promise((r) => setTimeout(r, 50));
    const lines = records();
    assert.equal(lines.length, 6, JSON.stringify(lines));
    assert.deepEqual(lines.map((l) => [l['http.request.method'], l['url.path'], l['http.response.status_code']]), [
      ['GET', '/v1/pipelines/:id', 200], ['GET', '/v1/models/:name/versions/:version', 404], ['GET', '/mlflow/runs/:runId', 200],
      ['GET', UNMATCHED, 404], ['GET', '/fast/:name', 200], ['GET', '/boom', 500],
    ]);
    assert.deepEqual([lines[1]['mlops.model'], lines[1]['mlops.version']], ['churn', 3]);
    assert.equal(lines[4]['mlops.model'], 'churn');
    assert.equal(lines[5]['log.level'], 'error', 'a 5xx is an error');
    for (const l of lines) assert.ok(Number.isInteger(l['event.duration']) && l['event.duration'] > 0, JSON.stringify(l));
    const all = JSON.stringify(lines);
    assert.ok(!all.includes(subject), 'no raw id of a data subject');
    assert.ok(!all.includes('not-logged-0123456789'), 'no header');
  });
});

describe('Temporal\'s logs', () => {
  it('map the SDK\'s metadata to our fields, keep the error as error.*, and drop the task token', () => {
    const fields = temporalFields({
      sdkComponent: 'activity', namespace: 'default', taskQueue: 'mlops', workflowId: 'train-churn-1', workflowRunId: 'run-1', workflowType: 'trainingPipeline',
      activityId: '3', activityType: 'train', attempt: 2, isLocal: false, taskToken: 'Q2lRd01tVm1aRFE1TXpJdE9UYzNaaTAwWW1GbUxXRXhOM', model: 'churn',
      error: new Error('out of memory'), custom: { a: 1 },
    });
    assert.deepEqual(Object.fromEntries(Object.entries(fields).filter(([k]) => k !== 'error')), {
      'mlops.temporal.component': 'activity', 'mlops.namespace': 'default', 'mlops.task_queue': 'mlops', 'mlops.workflow.id': 'train-churn-1',
      'mlops.workflow.run_id': 'run-1', 'mlops.workflow.type': 'trainingPipeline', 'mlops.activity.id': '3', 'mlops.activity.type': 'train',
      'mlops.activity.attempt': 2, 'mlops.activity.local': false, 'mlops.model': 'churn', 'mlops.temporal.custom': '{"a":1}',
    });
    assert.equal((fields.error as { message: string }).message, 'out of memory');
    assert.ok(!JSON.stringify(fields).includes('Q2lRd01'), 'no task token');
  });

  it('arrive at our log at their level, and below the level cost nothing', () => {
    const { logger, records } = capture({ level: 'info' });
    const temporal = temporalLogger(logger);
    temporal.debug('Activity started', { activityType: 'train' });
    temporal.warn('Activity failed', { activityType: 'train', workflowId: 'w1' });
    temporal.log('ERROR', 'Workflow failed', { workflowId: 'w1' });
    assert.deepEqual(records().map((r) => [r['log.level'], r.message, r['mlops.workflow.id']]), [['warn', 'Activity failed', 'w1'], ['error', 'Workflow failed', 'w1']]);
  });

  it('name an error that crossed a thread by its fields (a workflow sink clones it into a plain object)', () => {
    const { logger, records } = capture({ level: 'info' });
    const cloned = structuredClone({ name: 'ApplicationFailure', message: 'dataset 1f2e is not registered', stack: 'ApplicationFailure: dataset 1f2e is not registered' });
    temporalLogger(logger).warn('Activity failed', { workflowId: 'w1', error: cloned });
    temporalLogger(logger).warn('Workflow failed', { workflowId: 'w1', error: { code: 7 } });
    const [activity, workflow] = records();
    assert.deepEqual([activity.error.type, activity.error.message], ['ApplicationFailure', 'dataset 1f2e is not registered']);
    assert.equal(workflow.error.message, '{"code":7}', 'not "[object Object]"');
  });
});

describe('the banner of a service command', () => {
  it('is text for a person at a terminal, and JSON lines with the addresses as fields otherwise', () => {
    const { logger, records } = capture();
    const written: string[] = [];
    const tty = serviceOutput(logger, 'mlops', { terminal: true }, (t) => written.push(t));
    tty.banner('API:           http://127.0.0.1:8080', { 'url.full': 'http://127.0.0.1:8080' });
    tty.say('stopped');
    assert.deepEqual(written, ['API:           http://127.0.0.1:8080\n', 'stopped\n']);
    assert.equal(records().length, 0);

    const piped = serviceOutput(logger, 'mlops', { terminal: false }, (t) => written.push(t));
    piped.banner('API:           http://127.0.0.1:8080', { 'mlops.endpoint': 'api', 'url.full': 'http://127.0.0.1:8080' });
    piped.say('stopped');
    assert.equal(written.length, 2, 'nothing more as text');
    const [api, stopped] = records();
    assert.deepEqual([api.message, api['url.full'], api['mlops.endpoint'], api['service.name']], ['API:           http://127.0.0.1:8080', 'http://127.0.0.1:8080', 'api', 'mlops']);
    assert.equal(stopped.message, 'stopped');
  });
});
