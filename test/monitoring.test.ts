/**
 * Monitoring end to end on the real stack (Temporal dev server, the metadata store, a worker, the API):
 * a model trained on Seattle's spring and summer 2012 serves the following autumn and winter; the
 * monitor finds the drift, alerts a Slack stand-in over HTTP, and starts one retraining run that waits
 * for approval, with the examples people labelled from the review queue in its training data.
 * Also: schedules through the API, the reports, the metrics, and bad input.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { ADMIN_AUTH, ApiStack, startApiStack, TEST_ADMIN_KEY } from './helpers/api-stack';
import { mlopsCli } from './helpers/cli';
import { REPO_ROOT } from './helpers/temporal';

const WEATHER = path.join(REPO_ROOT, 'datasets', 'seattle-weather.csv');
const FEATURES = ['precipitation', 'temp_max', 'temp_min', 'wind'];

type Day = { date: string; precipitation: number; temp_max: number; temp_min: number; wind: number; weather: string };

/** The bundled days between two dates; `wet` is the label the test models learn (rain, drizzle or snow that day). */
function days(from: string, to: string): (Day & { wet: string })[] {
  const [header, ...lines] = fs.readFileSync(WEATHER, 'utf8').trim().split('\n');
  const names = header.split(',');
  return lines.map((line) => Object.fromEntries(line.split(',').map((v, i) => [names[i], i >= 1 && i <= 4 ? Number(v) : v])) as Day)
    .filter((d) => d.date >= from && d.date <= to)
    .map((d) => ({ ...d, wet: ['rain', 'drizzle', 'snow'].includes(d.weather) ? 'yes' : 'no' }));
}

function toCsv(rows: (Day & { wet: string })[]): string {
  return ['date,precipitation,temp_max,temp_min,wind,wet', ...rows.map((d) => [d.date, d.precipitation, d.temp_max, d.temp_min, d.wind, d.wet].join(','))].join('\n') + '\n';
}

/** Slack's Web API as far as chat.postMessage, recording what it was sent. */
async function slackStandIn(): Promise<{ url: string; messages: Record<string, unknown>[]; close(): Promise<void> }> {
  const messages: Record<string, unknown>[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      const type = req.headers['content-type'] ?? '';
      const fields = type.includes('json') ? JSON.parse(body) : Object.fromEntries(new URLSearchParams(body));
      if (typeof fields.blocks === 'string') fields.blocks = JSON.parse(fields.blocks);
      messages.push({ method: req.url, authorization: req.headers.authorization, ...fields });
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ ok: true, channel: fields.channel, ts: `${Date.now() / 1000}` }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/api/`,
    messages,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

describe('monitoring, drift and retraining', () => {
  let stack: ApiStack;
  let slack: Awaited<ReturnType<typeof slackStandIn>>;
  let source: string;
  let quiet = '';
  const served: { id: string; label: string }[] = [];
  const summer = days('2012/04/01', '2012/09/30');
  const winter = days('2012/11/01', '2013/02/28');

  const call = (method: string, url: string, body?: unknown) => stack.call(method, url, body);

  before(async () => {
    slack = await slackStandIn();
    stack = await startApiStack({ env: { SLACK_BOT_TOKEN: 'xoxb-test-token', SLACK_API_URL: slack.url, SLACK_ALERT_CHANNEL: '#ml-alerts', MLOPS_REVIEW_THRESHOLD: '0.3' } });
    source = path.join(stack.files, 'weather-source.csv');
    fs.writeFileSync(source, toCsv(summer));
  });
  after(async () => {
    await stack?.close();
    await slack?.close();
  });

  it('a model deployed from summer data gets an hourly monitor schedule, visible through the API', async () => {
    const started = await call('POST', '/v1/pipelines', { model: 'weather', data: { uri: source }, target: 'wet', features: FEATURES, positiveClass: 'yes', seed: 7 });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    await stack.waitRun(started.body.id, ['awaiting_approval']);
    assert.equal((await call('POST', `/v1/pipelines/${started.body.id}/approval`, { decision: 'approve' })).status, 202);
    const deployed = await stack.waitRun(started.body.id, ['deployed']);
    assert.equal(deployed.modelVersion, 1);
    assert.equal(deployed.reportUrl, '/v1/models/weather/versions/1/report');

    const schedules = await call('GET', '/v1/schedules?model=weather');
    assert.equal(schedules.status, 200);
    const monitor = schedules.body.schedules.find((s: { id: string }) => s.id === 'monitor-weather');
    assert.ok(monitor, JSON.stringify(schedules.body));
    assert.deepEqual(monitor.every, ['1h']);
    assert.equal(monitor.paused, false);
    assert.equal(monitor.workflowType, 'modelMonitor');

    // a check before any traffic: nothing to judge, nothing breached
    const first = await call('POST', '/v1/models/weather/monitoring/run');
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.check.rows, 0);
    assert.deepEqual(first.body.check.breaches, []);
    assert.equal(first.body.action, undefined);
    assert.deepEqual(first.body.resolved, [], 'a clean check runs the resolution step (nothing was open)');
    quiet = first.body.id;
  });

  it('winter traffic drifts: the check alerts Slack and starts one retraining that includes labelled review items and waits for approval', async () => {
    // lower the bar for a small window; every other setting stays at its default
    const configured = await call('PUT', '/v1/models/weather/monitoring', { minRows: 50, windowMinutes: 60 });
    assert.equal(configured.status, 200, JSON.stringify(configured.body));
    assert.equal(configured.body.config.minRows, 50);
    assert.equal(configured.body.config.drift.driftShare ?? 0.5, 0.5);

    const instances = winter.map(({ precipitation, temp_max, temp_min, wind }) => ({ precipitation, temp_max, temp_min, wind }));
    for (let i = 0; i < instances.length; i += 20) {
      const r = await call('POST', '/v1/models/weather/predict', { instances: instances.slice(i, i + 20) });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      served.push(...r.body.predictions.map((p: { id: string; label: string }) => ({ id: p.id, label: p.label })));
    }
    await stack.api.flush();

    // active learning: the least certain answers wait for a person; label three of them
    const review = await call('GET', '/v1/review?model=weather');
    assert.equal(review.status, 200);
    assert.ok(review.body.items.length >= 3, `expected uncertain predictions in the review queue, got ${review.body.items.length}`);
    const sorted = review.body.items.map((i: { uncertainty: number }) => i.uncertainty);
    assert.deepEqual(sorted, [...sorted].sort((a, b) => b - a), 'least certain first');
    for (const item of review.body.items.slice(0, 3)) {
      const labelled = await call('POST', `/v1/review/${item.predictionId}/label`, { label: 'yes' });
      assert.equal(labelled.status, 200, JSON.stringify(labelled.body));
      assert.equal(labelled.body.label, 'yes');
    }

    const run = await call('POST', '/v1/models/weather/monitoring/run');
    assert.equal(run.status, 200, JSON.stringify(run.body));
    const { check, alert, action } = run.body;
    assert.equal(check.rows, winter.length);
    assert.equal(check.datasetDrift, true, JSON.stringify(check));
    assert.ok(check.breaches.some((b: { kind: string }) => b.kind === 'drift'));
    assert.equal(alert.state, 'sent', JSON.stringify(alert));
    assert.equal(action.retraining, 'started', JSON.stringify(action));
    assert.equal(action.trigger, 'drift');

    // with RECORD_HISTORIES=1, keep the monitor's and the retraining request's histories for test/replay.test.ts
    if (process.env.RECORD_HISTORIES) {
      const save = async (id: string, file: string) => {
        const history = JSON.parse(historyToJSON(await stack.temporal.client.workflow.getHandle(id).fetchHistory()));
        fs.writeFileSync(path.join(__dirname, 'fixtures', 'histories', file), JSON.stringify({ workflowId: id, history }));
      };
      await save(run.body.id, 'model-monitor-retraining-started.json');
      await save(quiet, 'model-monitor-quiet.json');
    }

    // the stored check: temperatures drifted, by KS and PSI
    const stored = await call('GET', `/v1/models/weather/monitoring/checks/${check.checkId}`);
    assert.equal(stored.status, 200);
    const byName = Object.fromEntries(stored.body.drift.features.map((f: { name: string }) => [f.name, f]));
    for (const f of ['temp_max', 'temp_min']) {
      assert.equal(byName[f].drifted, true, JSON.stringify(byName[f]));
      assert.equal(byName[f].test, 'ks');
      assert.ok(byName[f].psi > 0.25, `${f} PSI ${byName[f].psi}`);
      assert.ok(byName[f].pvalue < 1e-6, `${f} p ${byName[f].pvalue}`);
    }

    // Slack got one Block Kit message with the numbers
    const posted = slack.messages.filter((m) => String(m.method).endsWith('chat.postMessage'));
    assert.equal(posted.length, 1, JSON.stringify(slack.messages));
    assert.equal(posted[0].channel, '#ml-alerts');
    assert.equal(posted[0].authorization, 'Bearer xoxb-test-token');
    const text = JSON.stringify(posted[0].blocks);
    assert.match(text, /temp_max/);
    assert.match(text, /PSI/);

    // the retraining run records why it started, took the labelled items, and waits for a person
    const retraining = await stack.waitRun(action.runId, ['awaiting_approval']);
    assert.equal(retraining.trigger.kind, 'drift');
    assert.equal(retraining.trigger.checkId, check.checkId);
    assert.equal(retraining.reviewedRows, 3);
    const dataset = await call('GET', `/v1/datasets/${retraining.datasetId}`);
    assert.equal(dataset.body.rowCount, summer.length + 3);

    // a second check while it runs: alerted again? no (deduplicated); retraining? no (one at a time)
    const again = await call('POST', '/v1/models/weather/monitoring/run');
    assert.equal(again.body.check.datasetDrift, true);
    assert.equal(again.body.action.retraining, 'skipped');
    assert.match(again.body.action.reason, /still running/);
    assert.equal(again.body.alert.state, 'suppressed');
    assert.equal(slack.messages.filter((m) => String(m.method).endsWith('chat.postMessage')).length, 1);

    const overview = await call('GET', '/v1/models/weather/monitoring');
    assert.equal(overview.body.checks[0].id, again.body.id);
    assert.equal(overview.body.checks[0].action.retraining, 'skipped');
  });

  it('the drift report and the version report render the numbers, and /metrics exports them', async () => {
    const overview = await call('GET', '/v1/models/weather/monitoring');
    const id = overview.body.checks[0].id;
    const report = await fetch(`${stack.api.url}/v1/models/weather/monitoring/checks/${id}/report`, { headers: ADMIN_AUTH });
    assert.equal(report.status, 200);
    assert.match(report.headers.get('content-type') ?? '', /text\/html/);
    const html = await report.text();
    for (const f of FEATURES) assert.ok(html.includes(f), `${f} in the drift report`);
    assert.match(html, /<svg/);

    const version = await fetch(`${stack.api.url}/v1/models/weather/versions/1/report`, { headers: ADMIN_AUTH });
    assert.equal(version.status, 200);
    const versionHtml = await version.text();
    assert.match(versionHtml, /ROC/);
    assert.match(versionHtml, /<svg/);

    const metrics = await (await fetch(`${stack.api.url}/metrics`)).text();
    assert.match(metrics, /mlops_dataset_drift\{model="weather",version="1"\} 1/);
    assert.match(metrics, /mlops_feature_psi\{model="weather",version="1",feature="temp_max"\} \d/);
    assert.match(metrics, /mlops_monitor_last_check_timestamp_seconds\{model="weather"\} \d/);
    assert.match(metrics, /mlops_review_queue_open\{model="weather"\} \d/);

    assert.equal((await call('GET', '/v1/models/weather/monitoring/checks/no-such-check')).status, 404);
    assert.equal((await call('GET', '/v1/models/weather/versions/99/report')).status, 404);
  });

  it('a scientist cannot stop a model\'s monitoring through its schedule, and no key reaches another application\'s schedules', async () => {
    const token = (await call('POST', '/v1/keys', { name: 'schedule-scientist', role: 'scientist' })).body.token;
    const asScientist = (method: string, url: string, body?: unknown) => stack.call(method, url, body, { headers: { authorization: `Bearer ${token}` } });
    const monitor = (await call('GET', '/v1/schedules?model=weather')).body.schedules.find((s: { kind: string }) => s.kind === 'monitor');
    assert.ok(monitor, 'the model\'s monitor schedule');
    for (const [method, url] of [['POST', `/v1/schedules/${monitor.id}/pause`], ['DELETE', `/v1/schedules/${monitor.id}`]] as const) {
      const r = await asScientist(method, url);
      assert.equal(r.status, 403, `${method} ${url}: ${JSON.stringify(r.body)}`);
      assert.match(r.body.error.message, /runs the model's monitoring checks: changing it, which needs the approver role/);
    }
    assert.equal((await asScientist('POST', '/v1/schedules', { kind: 'monitor', model: 'weather', every: '1d' })).status, 403);
    const still = await call('GET', `/v1/schedules/${monitor.id}`);
    assert.equal(still.body.paused, false, 'the monitor still runs');

    // another application's schedule in the same namespace: not ours to show, pause or delete, whoever asks
    const foreign = await stack.temporal.client.schedule.create({
      scheduleId: 'billing-nightly', spec: { intervals: [{ every: '1h' }] }, state: { paused: true },
      action: { type: 'startWorkflow', workflowType: 'billingRun', taskQueue: 'billing', args: [] },
    });
    try {
      for (const [method, url] of [['GET', '/v1/schedules/billing-nightly'], ['POST', '/v1/schedules/billing-nightly/unpause'], ['DELETE', '/v1/schedules/billing-nightly']] as const) {
        assert.equal((await call(method, url)).status, 404, `${method} ${url}`);
      }
      const after = await foreign.describe();
      assert.equal(after.state.paused, true, 'untouched');
    } finally {
      await foreign.delete();
    }
  });

  it('schedules are created, paused, resumed and deleted through the API, and bad requests say what is wrong', async () => {
    const created = await call('POST', '/v1/schedules', { kind: 'retrain', model: 'weather', cron: '0 3 * * 1', note: 'weekly' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.id, 'retrain-weather');
    assert.equal(created.body.workflowType, 'retrainModel');
    assert.deepEqual(created.body.cron, ['0 3 * * 1']);
    assert.equal(created.body.note, 'weekly');
    assert.ok(created.body.nextRuns.length > 0 && new Date(created.body.nextRuns[0]).getUTCDay() === 1, JSON.stringify(created.body.nextRuns));
    assert.equal((await call('POST', '/v1/schedules', { kind: 'retrain', model: 'weather', cron: '0 3 * * 1' })).status, 409);

    const paused = await call('POST', '/v1/schedules/retrain-weather/pause', { note: 'holiday' });
    assert.equal(paused.body.paused, true);
    assert.equal((await call('POST', '/v1/schedules/retrain-weather/unpause')).body.paused, false);
    assert.equal((await call('DELETE', '/v1/schedules/retrain-weather')).status, 204);
    assert.equal((await call('GET', '/v1/schedules/retrain-weather')).status, 404);

    const bad = [
      [{ kind: 'retrain', model: 'weather' }, /exactly one of "every"/],
      [{ kind: 'retrain', model: 'weather', every: '10s' }, /at least one minute/],
      [{ kind: 'retrain', model: 'weather', every: 'hourly' }, /interval such as/],
      [{ kind: 'retrain', model: 'weather', cron: '0 3 *' }, /five fields/],
      [{ kind: 'nightly', model: 'weather', every: '1d' }, /kind/],
    ] as const;
    for (const [body, message] of bad) {
      const r = await call('POST', '/v1/schedules', body);
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.match(r.body.error.message, message);
    }
    assert.equal((await call('POST', '/v1/schedules', { kind: 'monitor', model: 'nobody', every: '1h' })).status, 404);
    assert.equal((await call('POST', '/v1/schedules/none/pause')).status, 404);
    assert.equal((await call('PUT', '/v1/models/weather/monitoring', { windowMinutes: -5 })).status, 400);
    assert.equal((await call('PUT', '/v1/models/weather/monitoring', { unknown: 1 })).status, 400);
    assert.equal((await call('POST', '/v1/models/nobody/monitoring/run')).status, 404);
    assert.equal((await call('POST', '/v1/review/not-a-uuid/label', { label: 'yes' })).status, 404);
    assert.equal((await call('POST', '/v1/review/00000000-0000-4000-8000-000000000000/label', { label: 'yes' })).status, 404);
    const items = (await call('GET', '/v1/review?model=weather')).body.items;
    assert.equal((await call('POST', `/v1/review/${items[0].predictionId}/label`, {})).status, 400);
    assert.equal((await call('GET', '/v1/review?state=maybe')).status, 400);
  });

  it('a manual retraining while one runs is refused with the reason', async () => {
    const r = await call('POST', '/v1/models/weather/retrain', { reason: 'try again' });
    assert.equal(r.status, 409, JSON.stringify(r.body));
    assert.equal(r.body.retraining, 'skipped');
    assert.match(r.body.reason, /still running/);
    const mlops = mlopsCli(stack.api.url, TEST_ADMIN_KEY);
    const retrain = await mlops('retrain', 'weather');
    assert.equal(retrain.status, 1, JSON.stringify(retrain));
    assert.match(retrain.stderr, /still running/);
    if (process.env.RECORD_HISTORIES) {
      const history = JSON.parse(historyToJSON(await stack.temporal.client.workflow.getHandle(r.body.requestId).fetchHistory()));
      fs.writeFileSync(path.join(__dirname, 'fixtures', 'histories', 'retrain-model-skipped.json'), JSON.stringify({ workflowId: r.body.requestId, history }));
    }
  });

  it('new rows at the training source and a quality drop in labelled feedback are noticed; the CLI shows the check, the schedules and the review queue', async () => {
    fs.appendFileSync(source, toCsv(winter).split('\n').slice(1).join('\n'));
    // ground truth arrives and says the model was wrong every time: quality falls below the evaluation's
    const feedback = await call('POST', '/v1/feedback', { items: served.map((p) => ({ predictionId: p.id, label: p.label === 'yes' ? 'no' : 'yes' })) });
    assert.equal(feedback.status, 200, JSON.stringify(feedback.body));
    const run = await call('POST', '/v1/models/weather/monitoring/run');
    const quality = run.body.check.breaches.find((b: { kind: string }) => b.kind === 'quality');
    assert.ok(quality, JSON.stringify(run.body.check.breaches));
    assert.match(quality.message, /accuracy 0\.\d+ on 120 labelled predictions is below 0\.\d+ \(evaluation: 0\.\d+\)/);
    assert.equal(run.body.check.labelled, 120);
    assert.ok(run.body.check.breaches.some((b: { kind: string; message: string }) => b.kind === 'new-data' && b.message.includes('weather-source.csv')), JSON.stringify(run.body.check.breaches));
    // drift outranks new data as the trigger; a retraining still runs, so none starts
    assert.equal(run.body.action.trigger, 'drift');
    assert.equal(run.body.action.retraining, 'skipped');

    const mlops = mlopsCli(stack.api.url, TEST_ADMIN_KEY);
    const drift = await mlops('drift', 'weather');
    assert.equal(drift.status, 0, drift.stderr);
    assert.match(drift.stdout, /drift: YES/);
    assert.match(drift.stdout, /temp_max\s+ks/);
    assert.match(drift.stdout, /breach \(new-data\)/);
    assert.match(drift.stdout, /report: http/);
    const schedules = await mlops('schedule', 'list', '--model', 'weather');
    assert.equal(schedules.status, 0, schedules.stderr);
    assert.match(schedules.stdout, /monitor-weather\s+monitor\s+weather\s+every 1h/);
    const review = await mlops('review', 'list', '--model', 'weather', '--labelled');
    assert.equal(review.status, 0, review.stderr);
    assert.equal(review.stdout.trim().split('\n').length, 4, review.stdout);
    const bad = await mlops('schedule', 'create', '--model', 'weather');
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /--every/);
  });
});
