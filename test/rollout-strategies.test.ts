/**
 * The rollout strategy registry: the API's request schema and its 400s, the OpenAPI document, the
 * workflows the worker registers and each strategy's traffic policy all come from it. The checks loop
 * over the registry, so a strategy added to it is checked without a line here.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { OFFLINE_ADMIN_KEY, offlineApp } from '../scripts/route-table';
import { findStrategy, STRATEGIES, STRATEGY_NAMES, strategyOf } from '../src/rollouts';
import { requestDraw } from '../src/serving/traffic-policy';
import { registerVersion } from '../src/store/registry';
import { listRoutes, setRoute } from '../src/store/rollouts';
import * as workerWorkflows from '../src/workflows';
import * as rolloutWorkflows from '../src/workflows/rollouts';
import { createTestDatabase, TestDatabase } from './helpers/database';
import { appDocument } from './helpers/openapi';

/** The draws of a request, in [0, 100) by steps of 0.01: a share given to two decimals is met exactly. */
const DRAWS = Array.from({ length: 10_000 }, (_, i) => i / 100);
const SHARES = [0, 0.5, 5, 30, 50, 99.99, 100];

describe('rollout strategy registry', () => {
  let server: http.Server;
  let base: string;
  before(async () => {
    server = http.createServer(offlineApp());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  });
  after(async () => { await new Promise((resolve) => server.close(resolve)); });

  /** A rollout request to the API as the offline app answers it: a 400 needs neither Temporal nor the store. */
  const deploy = async (body: unknown) => {
    const r = await fetch(`${base}/v1/models/churn/deployments`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${OFFLINE_ADMIN_KEY}` }, body: JSON.stringify(body),
    });
    return { status: r.status, body: (await r.json()) as { error: { code: string; message: string } } };
  };

  it('names each strategy once, and the worker registers exactly the registered strategies\' workflows', () => {
    assert.deepEqual(STRATEGY_NAMES, STRATEGIES.map((s) => s.name));
    assert.equal(new Set(STRATEGY_NAMES).size, STRATEGY_NAMES.length);
    for (const s of STRATEGIES) {
      assert.equal((workerWorkflows as Record<string, unknown>)[s.workflow.name], s.workflow, `the worker's workflow bundle exports ${s.workflow.name} (src/workflows/rollouts/index.ts)`);
      assert.equal(strategyOf(s.name), s);
    }
    assert.deepEqual(Object.values(rolloutWorkflows).sort(), STRATEGIES.map((s) => s.workflow).sort(), 'every rollout workflow belongs to a registered strategy');
    assert.equal(findStrategy('yolo'), undefined);
    assert.throws(() => strategyOf('yolo'), new RegExp(`no rollout strategy is called "yolo"; available: ${STRATEGY_NAMES.join(', ')}`));
  });

  it('refuses an unknown or missing strategy with a 400 naming the registered ones', async () => {
    for (const [body, given] of [[{ version: 1, strategy: 'yolo' }, '"yolo" is not a rollout strategy'], [{ version: 1 }, 'required']] as const) {
      const r = await deploy(body);
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.equal(r.body.error.code, 'invalid_request');
      assert.equal(r.body.error.message, `invalid request: strategy: ${given}; available: ${STRATEGY_NAMES.join(', ')}`);
    }
  });

  it("refuses a setting the strategy does not take, naming the strategies that do; each strategy's own settings pass the schema", async () => {
    for (const s of STRATEGIES) {
      for (const other of STRATEGIES.filter((o) => o !== s)) {
        for (const key of Object.keys(other.settings).filter((k) => !(k in s.settings))) {
          const r = await deploy({ version: 1, strategy: s.name, [key]: 50 });
          assert.equal(r.status, 400, JSON.stringify(r.body));
          const takers = STRATEGIES.filter((t) => key in t.settings).map((t) => t.name).join(' and ');
          assert.match(r.body.error.message, new RegExp(`${s.name} takes no "${key}" \\(${key} is for ${takers}\\)`));
        }
      }
      const r = await deploy({ version: 1, strategy: s.name, nonsense: true });
      assert.match(r.body.error.message, new RegExp(`${s.name} takes no "nonsense" \\(its settings: version, bakeSeconds, thresholds, maxExtensions, by${Object.keys(s.settings).map((k) => `, ${k}`).join('')}\\)`));
    }
  });

  it('refuses a rollout whose steps and extensions could outgrow its workflow history; the same extensions over fewer steps pass', async () => {
    const steps = Array.from({ length: 20 }, (_, i) => (i + 1) * 5);
    const long = await deploy({ version: 1, strategy: 'canary', steps, maxExtensions: 1000 });
    assert.equal(long.status, 400, JSON.stringify(long.body));
    assert.match(long.body.error.message, /maxExtensions: 19 judged steps of up to 1001 bakes each is 19019 bakes, over the 3000 one rollout may take/);
    // schema-valid requests go on to the rollout service, which the offline app cannot reach: anything but a 400
    assert.notEqual((await deploy({ version: 1, strategy: 'canary', steps: [50, 100], maxExtensions: 1000 })).status, 400);
    assert.notEqual((await deploy({ version: 1, strategy: 'canary', steps })).status, 400, 'twenty steps at the default extensions');
  });

  it('documents the strategies from the registry: one request branch each, and the enums of the answers', () => {
    const schemas = appDocument().components.schemas as Record<string, any>;
    assert.deepEqual(schemas.RolloutRequest.oneOf.map((branch: any) => branch.properties.strategy.const), STRATEGY_NAMES);
    for (const [i, s] of STRATEGIES.entries()) {
      for (const key of Object.keys(s.settings)) assert.ok(key in schemas.RolloutRequest.oneOf[i].properties, `${s.name}'s branch documents ${key}`);
    }
    assert.deepEqual(schemas.RolloutStarted.properties.strategy.enum, STRATEGY_NAMES);
    const summary = (appDocument().paths['/v1/models/{name}/deployments'] as any).post.summary as string;
    for (const s of STRATEGIES) assert.ok(summary.includes(`\`${s.name}\` (${s.summary})`), summary);
  });

  it("routes each registered strategy's traffic as its policy says: the share the new version answers, and the share it scores without answering", () => {
    for (const s of STRATEGIES) {
      for (const share of SHARES) {
        let answered = 0;
        let mirrored = 0;
        for (const draw of DRAWS) {
          const d = s.traffic.route(share, draw);
          if (d.answeredBy === 'candidate') answered++;
          if (d.mirrored) { mirrored++; assert.equal(d.answeredBy, 'production', 'a mirrored request is answered by production'); }
        }
        assert.equal(answered / 100, s.traffic.answered(share), `${s.name} at ${share}%: answered`);
        assert.equal(mirrored / 100, s.traffic.mirrored(share), `${s.name} at ${share}%: mirrored`);
        // a strategy that replaces production has nothing to route beside: every request is the new version's
        if (s.traffic.replacesProduction) assert.equal(answered, DRAWS.length, s.name);
      }
    }
  });

  it('routes the strategies of today as their names promise', () => {
    const at30 = (name: string) => { const t = strategyOf(name).traffic; return [t.answered(30), t.mirrored(30), t.replacesProduction]; };
    assert.deepEqual(at30('blue-green'), [100, 0, true], 'blue-green: every request to the new version at once');
    assert.deepEqual(at30('canary'), [30, 0, false], 'canary: the share answered by the new version');
    assert.deepEqual(at30('shadow'), [0, 30, false], 'shadow: the share mirrored, production answers all');
  });

  it('draws a routing key to one place in the traffic, so one caller stays on one side of a split, and spreads keys evenly', () => {
    assert.equal(requestDraw('user-42'), requestDraw('user-42'));
    const draws = Array.from({ length: 20_000 }, (_, i) => requestDraw(`user-${i}`));
    assert.ok(draws.every((d) => d >= 0 && d < 100));
    const below30 = draws.filter((d) => d < 30).length / draws.length;
    assert.ok(Math.abs(below30 - 0.3) < 0.015, `share of keys below 30: ${below30}`);
    const unkeyed = Array.from({ length: 1000 }, () => requestDraw(undefined));
    assert.ok(unkeyed.every((d) => d >= 0 && d < 100) && new Set(unkeyed).size > 990, 'without a key, at random');
  });
});

describe('the store and strategy names', () => {
  let db: TestDatabase;
  before(async () => { db = await createTestDatabase(); });
  after(async () => { await db.close(); });

  it('keeps no list of strategies of its own: a route may name a strategy added after the schema', async () => {
    const dataset = 'd'.repeat(64);
    await db.pool.query("INSERT INTO datasets (id, source_uri, source_kind, row_count, columns, byte_size) VALUES ($1, 'file:///x.csv', 'file', 1, '[]', 1)", [dataset]);
    const v = await registerVersion(db.pool, { modelName: 'routed', runId: 'run-1', onnxDigest: 'e'.repeat(64), signature: { task: 'binary', features: [], classes: ['a', 'b'], output: 'probabilities' }, metrics: {}, params: {}, datasetId: dataset });
    await setRoute(db.pool, { modelName: 'routed', version: v.version, mode: 'ab-test', percent: 50, rolloutId: 'rollout-routed-ab-test-1' });
    assert.deepEqual((await listRoutes(db.pool)).map((r) => [r.modelName, r.mode, r.percent]), [['routed', 'ab-test', 50]]);
    const { rows } = await db.pool.query("SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = 'model_routes'::regclass AND contype = 'c'");
    assert.ok(rows.some((r) => /percent/.test(r.def)), 'the share is still checked');
  });
});
