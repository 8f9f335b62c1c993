/**
 * The web console in a real browser: Debian's Chromium driven by playwright-core against the real stack
 * (Temporal, PostgreSQL, worker, API). An approver signs in, opens Approvals and approves a waiting run
 * with a comment, and the run deploys; a viewer sees no Approve button and a POST forged from the
 * viewer's session is refused; a canary is promoted from the Rollouts page; a reviewer labels a queued
 * prediction; the keyboard alone signs in and reaches the navigation; and every page renders with no
 * console error. Screenshots go to docs/console/ for docs/console.md with MLOPS_UPDATE_SCREENSHOTS=1.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Browser, BrowserContext, chromium, Page } from 'playwright-core';
import { ApiStack, startApiStack } from './helpers/api-stack';
import { BREAST_CANCER } from './helpers/pipeline-env';
import { eventually } from './helpers/eventually';
import { REPO_ROOT } from './helpers/temporal';

// docs/console/ only when asked (MLOPS_UPDATE_SCREENSHOTS=1): a test run does not rewrite tracked files
const SHOTS = process.env.MLOPS_UPDATE_SCREENSHOTS === '1' ? path.join(REPO_ROOT, 'docs', 'console') : fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-console-shots-'));

describe('web console in Chromium', () => {
  let stack: ApiStack;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const keys: Record<string, string> = {};
  /** Every console error or uncaught page error seen on any tracked page, with where it happened. */
  const consoleErrors: string[] = [];
  let waiting = '';
  let canary = '';

  const header = fs.readFileSync(BREAST_CANCER, 'utf8').trim().split('\n');
  const names = header[0].split(',').slice(0, 30);
  // every 14th row: a sample like the training data (the file is sorted in stretches)
  const rows = header.slice(1).filter((_, i) => i % 14 === 0).slice(0, 40).map((line) => Object.fromEntries(line.split(',').slice(0, 30).map((v, i) => [names[i], Number(v)])));

  const train = async (model: string, seed: number, mode: 'auto' | 'manual') => {
    const started = await stack.call('POST', '/v1/pipelines', { model, data: { uri: BREAST_CANCER }, target: 'diagnosis', approval: { mode }, seed });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    return started.body.id as string;
  };

  /** A signed-in page for `role`, in a context of its own (its own cookie), its console errors tracked. */
  const signedIn = async (role: string, o: { colorScheme?: 'light' | 'dark'; track?: boolean } = {}): Promise<Page> => {
    const context = await browser.newContext({ viewport: { width: 1366, height: 860 }, colorScheme: o.colorScheme ?? 'light' });
    contexts.push(context);
    const page = await context.newPage();
    if (o.track !== false) {
      page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(`${role} on ${page.url()}: ${m.text()}`); });
      page.on('pageerror', (e) => consoleErrors.push(`${role} on ${page.url()}: ${e.message}`));
    }
    await page.goto(`${stack.api.url}/ui/sign-in`);
    await page.getByLabel('API key').fill(keys[role]);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL('**/ui/runs');
    return page;
  };

  const shot = (page: Page, name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

  before(async () => {
    const found = spawnSync('bash', [path.join(REPO_ROOT, 'scripts', 'install-chromium.sh')], { encoding: 'utf8', timeout: 15 * 60_000 });
    if (found.status !== 0 || !found.stdout.trim()) assert.fail(`scripts/install-chromium.sh failed (exit ${found.status ?? found.signal}):\n${found.stdout}\n${found.stderr.slice(-4000)}`);
    browser = await chromium.launch({ executablePath: found.stdout.trim().split('\n').pop()!, args: ['--no-sandbox', '--disable-gpu', '--force-color-profile=srgb'] });
    fs.mkdirSync(SHOTS, { recursive: true });

    // every answer goes to the review queue, so there is something to label
    stack = await startApiStack({ env: { MLOPS_REVIEW_THRESHOLD: '1' } });
    keys.admin = stack.config.api.adminKey!;
    for (const [name, role] of [['ada', 'approver'], ['vic', 'viewer'], ['sam', 'scientist']]) {
      const created = await stack.call('POST', '/v1/keys', { name, role });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      keys[role] = created.body.token;
    }
    // two versions of "tumour" with v1 in production, traffic and two checks, and v2 as a canary waiting at its first step
    await stack.waitRun(await train('tumour', 1, 'auto'), ['deployed']);
    await stack.waitRun(await train('tumour', 2, 'auto'), ['deployed']);
    assert.equal((await stack.call('POST', '/v1/models/tumour/rollback', { toVersion: 1 })).status, 200);
    // checks judge 30 rows; retraining stays off, so no run starts behind the tests' backs
    assert.equal((await stack.call('PUT', '/v1/models/tumour/monitoring', { minRows: 30, retrain: { onDrift: false, onQuality: false, onNewData: false } })).status, 200);
    // traffic like the training data, a check; then traffic whose sizes grew by half, another check: drift to see over time
    const grown = rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, /radius|perimeter|area/.test(k) ? v * 1.5 : v])));
    for (const [batch, expected] of [[rows, 40], [grown, 80]] as const) {
      const predicted = await stack.call('POST', '/v1/models/tumour/predict', { instances: batch });
      assert.equal(predicted.status, 200, JSON.stringify(predicted.body));
      await eventually('the answers logged', async () => ((await stack.call('GET', '/v1/review?model=tumour&limit=1000')).body.items.length >= expected) || undefined);
      const check = await stack.call('POST', '/v1/models/tumour/monitoring/run');
      assert.equal(check.status, 200, JSON.stringify(check.body));
      assert.equal(typeof check.body.check.driftedShare, 'number', JSON.stringify(check.body));
    }
    const started = await stack.call('POST', '/v1/models/tumour/deployments', { version: 2, strategy: 'canary', steps: [20, 50, 100], bakeSeconds: 900 });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    canary = started.body.id;
    await eventually('the canary at its first step', async () => (await stack.call('GET', `/v1/models/tumour/deployments/${canary}`)).body.status?.percent === 20 || undefined);
    // and a run of "cells" waiting for a person
    waiting = await train('cells', 4, 'manual');
    await stack.waitRun(waiting, ['awaiting_approval']);
  });

  after(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await stack?.close();
  });

  it('a viewer sees the waiting run but no Approve button, and a POST forged from the viewer\'s session is refused', async () => {
    const page = await signedIn('viewer');
    await page.getByRole('link', { name: 'Approvals' }).click();
    const card = page.locator(`article[data-run="${waiting}"]`);
    await card.waitFor();
    assert.equal(await card.getByRole('button', { name: 'Approve' }).count(), 0);
    assert.equal(await card.getByRole('button', { name: 'Reject' }).count(), 0);
    assert.match(await card.innerText(), /Your role cannot decide on runs/);

    // the viewer's own session and token, sent as the form would be: the server refuses it (its 403 is the expected console error, so this page is not tracked)
    const forger = await signedIn('viewer', { track: false });
    await forger.goto(`${stack.api.url}/ui/approvals`);
    const status = await forger.evaluate(async (id) => {
      const token: string = (globalThis as any).document.body.dataset.csrf ?? '';
      const res = await fetch(`/ui/approvals/${id}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ decision: 'approve', comment: 'forged', _csrf: token }).toString() });
      return res.status;
    }, waiting);
    assert.equal(status, 403);
    const run = (await stack.call('GET', `/v1/pipelines/${waiting}`)).body;
    assert.equal(run.state, 'awaiting_approval');
    assert.equal(run.approval.received?.length ?? 0, 0, 'nothing reached the run');
  });

  it('an approver signs in, opens Approvals, approves the waiting run with a comment, and the run deploys', async () => {
    const page = await signedIn('approver');
    await shot(page, 'runs');
    await page.getByRole('link', { name: 'Approvals' }).click();
    await page.waitForURL('**/ui/approvals');
    const card = page.locator(`article[data-run="${waiting}"]`);
    await card.getByLabel('Comment').fill('AUC beats the champion; data unchanged');
    await shot(page, 'approvals');
    await card.getByRole('button', { name: 'Approve' }).click();
    await page.waitForURL('**/ui/approvals?done=approve');
    assert.match(await page.getByRole('status').first().innerText(), /Your approval was recorded/);
    const run = await stack.waitRun(waiting, ['deployed']);
    assert.equal(run.approval.decision.by, 'ada');
    assert.equal(run.approval.decision.comment, 'AUC beats the champion; data unchanged');
    await page.reload();
    assert.match(await page.locator('#decided').innerText(), /approve by ada/);
    await shot(page, 'approvals-decided');
  });

  it('a canary is promoted from the Rollouts page', async () => {
    const page = await signedIn('approver');
    await page.getByRole('link', { name: 'Rollouts' }).click();
    const card = page.locator(`article[data-rollout="${canary}"]`);
    await card.waitFor();
    assert.match(await card.innerText(), /canary/);
    assert.match(await card.innerText(), /20%/);
    await shot(page, 'rollouts');
    await card.getByRole('button', { name: 'Promote' }).click();
    await page.waitForURL('**/ui/rollouts?done=promote');
    const done = await eventually('the canary promoted', async () => {
      const r = (await stack.call('GET', `/v1/models/tumour/deployments/${canary}`)).body;
      return r.status?.state === 'promoted' ? r : undefined;
    });
    assert.equal(done.status.decision.by, 'ada');
    const models = (await stack.call('GET', '/v1/models/tumour')).body;
    assert.equal(models.aliases.production, 2);
    await eventually('the ended rollout listed', async () => { await page.reload(); return /promoted/.test(await page.locator('#ended-rollouts').innerText()) || undefined; });
  });

  it('a reviewer labels a queued prediction on the Monitoring page', async () => {
    const page = await signedIn('scientist');
    await page.getByRole('link', { name: 'Monitoring' }).click();
    await page.getByRole('link', { name: 'tumour' }).click();
    await page.waitForURL('**/ui/monitoring/tumour');
    await shot(page, 'monitoring');
    const form = page.locator('form[data-prediction]').first();
    const predictionId = await form.getAttribute('data-prediction');
    await form.getByLabel('Label').fill('M');
    await form.getByRole('button', { name: 'Save label' }).click();
    await page.waitForURL('**/ui/monitoring/tumour?done=labelled');
    const labelled = (await stack.call('GET', '/v1/review?model=tumour&state=labelled')).body.items;
    const item = labelled.find((i: { predictionId: string }) => i.predictionId === predictionId);
    assert.ok(item, JSON.stringify(labelled));
    assert.equal(item.label, 'M');
    assert.equal(item.labelledBy, 'sam');
    assert.match(await page.locator('#labelled').innerText(), /sam/);
  });

  it('the keyboard alone signs in and reaches the navigation; controls have labels', async () => {
    const context = await browser.newContext({ viewport: { width: 1366, height: 860 } });
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(`${stack.api.url}/ui/sign-in`);
    // the key field takes focus on arrival. Chromium applies autofocus at its next rendering
    // update, which can come after the load event on a busy machine: wait for it, then type.
    await page.waitForFunction(() => (globalThis as any).document.activeElement?.id === 'key', undefined, { timeout: 10_000 });
    await page.keyboard.type(keys.viewer);
    await page.keyboard.press('Enter');
    await page.waitForURL('**/ui/runs');
    const reached: string[] = [];
    for (let i = 0; i < 4; i++) {
      await page.keyboard.press('Tab');
      reached.push(await page.evaluate(() => String((globalThis as any).document.activeElement?.textContent ?? '').trim()));
    }
    assert.ok(reached.includes('Runs') && reached.includes('Registry'), reached.join(' | '));
    // every form control on the page has an accessible name
    const unnamed = await page.evaluate(() => [...(globalThis as any).document.querySelectorAll('input:not([type=hidden]), select, textarea, button')]
      .filter((el: any) => !el.labels?.length && !el.getAttribute('aria-label') && !(el.textContent ?? '').trim()).map((el: any) => String(el.outerHTML)));
    assert.deepEqual(unnamed, []);
  });

  it('every page renders with no console errors, in light and dark', async () => {
    const page = await signedIn('admin');
    const datasets = (await stack.call('GET', '/v1/datasets')).body.datasets;
    const runs = (await stack.call('GET', '/v1/runs?model=tumour')).body.runs.map((r: { runId: string }) => r.runId);
    const tour: [string, string | undefined][] = [
      ['/ui/runs', undefined],
      [`/ui/runs/compare?id=${runs[0]}&id=${runs[1]}`, 'compare'],
      ['/ui/registry', 'registry'],
      ['/ui/registry/tumour', 'model'],
      ['/ui/registry/tumour/versions/2', 'version-lineage'],
      ['/ui/registry/tumour/versions/2/report', 'version-report'],
      [`/ui/datasets?from=${datasets[datasets.length - 1].id}&to=${datasets[0].id}`, 'datasets'],
      ['/ui/approvals', undefined],
      ['/ui/rollouts', undefined],
      ['/ui/monitoring', undefined],
      ['/ui/monitoring/tumour', undefined],
      ['/ui/audit', 'audit'],
    ];
    for (const [url, name] of tour) {
      const res = await page.goto(`${stack.api.url}${url}`);
      assert.equal(res?.status(), 200, url);
      if (name) await shot(page, name);
    }
    // the live parts refresh on their own (htmx polling), still without errors
    await page.goto(`${stack.api.url}/ui/runs`);
    await page.waitForResponse((r) => r.url().endsWith('/ui/runs/progress') && r.status() === 200, { timeout: 10_000 });
    const dark = await signedIn('approver', { colorScheme: 'dark' });
    await dark.goto(`${stack.api.url}/ui/registry/tumour/versions/2`);
    const background = await dark.evaluate(() => String((globalThis as any).getComputedStyle((globalThis as any).document.body).backgroundColor));
    assert.notEqual(background, 'rgb(255, 255, 255)', 'dark mode has a dark background');
    await shot(dark, 'dark-version');
    const checks = (await stack.call('GET', '/v1/models/tumour/monitoring')).body.checks;
    await page.goto(`${stack.api.url}/ui/monitoring/tumour/checks/${checks[0].id}/report`);
    await shot(page, 'drift-report');
    await page.goto(`${stack.api.url}/ui/sign-in`);
    await shot(page, 'sign-in');
    assert.deepEqual(consoleErrors, []);
  });
});
