/**
 * The whole platform in this process for HTTP tests: a real Temporal dev server (or the Temporal
 * frontend the test's env names in TEMPORAL_ADDRESS, with its TLS settings), a metadata store, a worker
 * running every activity, and the API on a free port, with a small JSON client for it.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Config, loadConfig } from '../../src/config';
import { ApiOptions, openStores, RunningApi, startApi, startWorker, Stores } from '../../src/stack/runtime';
import { startTracing } from '../../src/telemetry/tracing';
import { Backend, createTestDatabase, TestDatabase } from './database';
import { eventually } from './eventually';
import { startTemporal } from './temporal';
import { TEST_DATA_ROOTS } from './sources';

/** A pipeline run in one of these states will not change again. */
const FINAL_STATES = ['deployed', 'rejected', 'failed'];

export interface Reply { status: number; body: any; headers: Headers }

/** The admin key of every test stack; `call` sends it unless the request sets its own Authorization. */
export const TEST_ADMIN_KEY = 'test-admin-key-0123456789abcdef';
export const ADMIN_AUTH = { authorization: `Bearer ${TEST_ADMIN_KEY}` };

export interface ApiStack extends PlatformStack {
  temporal: TestWorkflowEnvironment;
}

export interface PlatformStack {
  db: TestDatabase;
  stores: Stores;
  api: RunningApi;
  config: Config;
  dataDir: string;
  /** A folder for the test's data files, under the stack's data roots (the data dir is not readable as a source). */
  files: string;
  /**
   * A JSON request to the API (or to `base`): the body as JSON, or `raw` text as it is. Sent with the
   * admin key unless `headers` has an Authorization of its own or `anonymous` is set.
   */
  call(method: string, url: string, body?: unknown, o?: { raw?: string; headers?: Record<string, string>; base?: string; anonymous?: boolean }): Promise<Reply>;
  /** Polls a pipeline run until its state is one of `states` and returns its status; a run that ends otherwise fails the test. */
  waitRun(id: string, states: string[]): Promise<any>;
  close(): Promise<void>;
}

export async function startApiStack(o: { backend?: Backend; env: Record<string, string>; api?: ApiOptions }): Promise<ApiStack> {
  const temporal = await startTemporal();
  try {
    const platform = await startPlatform({ ...o, env: { ...o.env, TEMPORAL_ADDRESS: temporal.address } });
    return { ...platform, temporal, close: async () => { await platform.close(); await temporal.teardown(); } };
  } catch (err) {
    await temporal.teardown();
    throw err;
  }
}

/** The platform on the Temporal frontend that `env` names (TEMPORAL_ADDRESS and its TLS settings). */
export async function startPlatform(o: { backend?: Backend; env: Record<string, string>; api?: ApiOptions }): Promise<PlatformStack> {
  const db = await createTestDatabase(o.backend);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-api-'));
  const files = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-files-'));
  // the API's log (a line per request) goes to a file in the data dir: quiet test output, and read at close
  const logFile = path.join(dataDir, 'mlops.log');
  const config = loadConfig({ MLOPS_DATA_DIR: dataDir, MLOPS_API_PORT: '0', MLOPS_ADMIN_KEY: TEST_ADMIN_KEY, MLOPS_DATA_ROOTS: TEST_DATA_ROOTS.join(','), MLOPS_LOG_FILE: logFile, ...o.env });
  if (!config.temporal.address) throw new Error('startPlatform needs TEMPORAL_ADDRESS in env');
  const endpoints = { temporalAddress: config.temporal.address, temporalUiUrl: 'http://ui.test', databaseUrl: db.url };
  const stores = await openStores(config, db.url);
  // on when the env names an OTLP endpoint (test/telemetry.test.ts)
  const tracing = startTracing(config.telemetry);
  const worker = await startWorker(config, endpoints, stores, { customTraining: true, tracing });
  const api = await startApi(config, endpoints, stores, () => undefined, { ...o.api, tracing });
  const stack: PlatformStack = {
    db, stores, api, config, dataDir, files,
    async call(method, url, body, c = {}) {
      const auth = c.anonymous || Object.keys(c.headers ?? {}).some((h) => h.toLowerCase() === 'authorization') ? {} : ADMIN_AUTH;
      const response = await fetch(`${c.base ?? api.url}${url}`, {
        method,
        headers: { ...auth, ...(body !== undefined || c.raw !== undefined ? { 'content-type': 'application/json' } : {}), ...c.headers },
        body: c.raw ?? (body === undefined ? undefined : JSON.stringify(body)),
      });
      const text = await response.text();
      const json = (response.headers.get('content-type') ?? '').includes('json');
      return { status: response.status, body: text ? (json ? JSON.parse(text) : text) : undefined, headers: response.headers };
    },
    async waitRun(id, states) {
      let last: any;
      const run = await eventually(() => `run ${id} to be ${states.join(' or ')}; last: ${JSON.stringify(last)}`, async () => {
        last = (await stack.call('GET', `/v1/pipelines/${id}`)).body;
        return states.includes(last?.state) || FINAL_STATES.includes(last?.state) ? last : undefined;
      }, { everyMs: 150 });
      assert.ok(states.includes(run.state), JSON.stringify(run));
      return run;
    },
    async close() {
      await api.stop();
      worker.worker.shutdown();
      await worker.done;
      await tracing?.shutdown();
      await stores.pool.end();
      await db.close();
      // every test on this stack sent the admin key with nearly every request: no log line may show it
      const leaked = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').split('\n').filter((l) => l.includes(TEST_ADMIN_KEY)) : [];
      fs.rmSync(dataDir, { recursive: true, force: true });
      assert.deepEqual(leaked, [], 'the admin key in the API log');
      fs.rmSync(files, { recursive: true, force: true });
    },
  };
  return stack;
}
