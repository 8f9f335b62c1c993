/**
 * The platform laid out as a small production deployment, for the chaos suite and the cluster benchmark:
 * the Temporal cluster of scripts/temporal-cluster.sh (frontend, history, matching and worker as four
 * processes on their own PostgreSQL, which also holds the platform's metadata database, so restarting it
 * hits both), two `mlops worker` processes, two `mlops api` processes, and a round-robin proxy in front of
 * the APIs. Every part is a real process that a test can kill with SIGKILL and start again.
 *
 * With `temporalAddress`, the same platform runs on that Temporal server instead (the dev server, for the
 * benchmark's comparison) and on a PostgreSQL of the caller's (`databaseAdminUrl`).
 *
 * Ports: the range 18460-18499. The cluster takes its base 18460 and the ports the script lays out from it
 * (up to +30, the Web UI at 18490); the API replicas listen on 18491 and 18492, the proxy on 18493.
 */
import assert from 'node:assert/strict';
import { ChildProcess, execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { promisify } from 'node:util';
import { Client as PgClient, Pool } from 'pg';
import { Client, Connection } from '@temporalio/client';
import { createPool } from '../../src/store/db';
import { migrate } from '../../src/store/migrations';
import { eventually } from '../helpers/eventually';
import { startRoundRobinProxy, RoundRobinProxy } from '../helpers/round-robin-proxy';
import { REPO_ROOT } from '../helpers/temporal';
import { startMlopsProcess } from '../helpers/worker-process';

const run = promisify(execFile);
const SCRIPT = path.join(REPO_ROOT, 'scripts', 'temporal-cluster.sh');
export const CLUSTER_PORT_BASE = 18460;
const API_PORTS = [18491, 18492];
const PROXY_PORT = 18493;
export const CHAOS_ADMIN_KEY = 'chaos-admin-key-0123456789abcdef';
export const TASK_QUEUE = 'chaos';

export interface Reply { status: number; body: any; upstream?: string }

export interface ApiReplica { url: string; process: ChildProcess }

export interface ChaosPlatform {
  /** The cluster's state dir (undefined on another Temporal server). */
  clusterDir?: string;
  proxy: RoundRobinProxy;
  apis: ApiReplica[];
  workers: ChildProcess[];
  /** The test's own connections: the metadata database and Temporal. */
  pool: Pool;
  temporal: Client;
  /** The platform's data dir (artifacts under artifacts/), shared by every process as a volume would be. */
  dataDir: string;
  /** A folder under the data roots for the test's input files. */
  files: string;
  /** A JSON request through the proxy (or to `base`), with the admin key. */
  call(method: string, url: string, body?: unknown, o?: { base?: string; headers?: Record<string, string> }): Promise<Reply>;
  /** Runs scripts/temporal-cluster.sh on this platform's cluster. */
  cluster(...args: string[]): Promise<void>;
  /** Starts one more `mlops worker`; resolves once it polls the task queue. */
  startWorker(): Promise<ChildProcess>;
  /** Kills one process with SIGKILL and waits until it is gone. */
  kill9(child: ChildProcess): Promise<void>;
  /** Starts API replica `i` again on its port (after a kill); resolves when it is ready. */
  startApi(i: number): Promise<ApiReplica>;
  close(): Promise<void>;
}

async function untilExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise((resolve) => child.once('exit', resolve));
}

/**
 * `prepareDataDir` runs before any process starts (a test mounts a small filesystem there), and
 * `releaseDataDir` after every process stopped and before the folder is removed (it unmounts it).
 */
export interface ChaosPlatformOptions { temporalAddress?: string; databaseAdminUrl?: string; prepareDataDir?: (dataDir: string) => void; releaseDataDir?: (dataDir: string) => void }

export async function startChaosPlatform(o: ChaosPlatformOptions = {}): Promise<ChaosPlatform> {
  const clusterDir = o.temporalAddress ? undefined : fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-chaos-cluster-'));
  const cluster = async (...args: string[]) => {
    if (!clusterDir) throw new Error('no cluster: this platform runs on another Temporal server');
    await run('bash', [SCRIPT, ...args], {
      env: { ...process.env, TEMPORAL_CLUSTER_DIR: clusterDir, TEMPORAL_CLUSTER_PORT_BASE: String(CLUSTER_PORT_BASE) },
      timeout: 20 * 60_000, maxBuffer: 16 * 1024 * 1024,
    });
  };
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-chaos-data-'));
  const files = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-chaos-files-'));
  const children: ChildProcess[] = [];
  let pool: Pool | undefined;
  let temporal: Client | undefined;
  let proxy: RoundRobinProxy | undefined;

  const close = async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await Promise.all(children.map(untilExit));
    await proxy?.close();
    await temporal?.connection.close().catch(() => undefined);
    await pool?.end().catch(() => undefined);
    if (clusterDir) { await cluster('stop').catch(() => undefined); fs.rmSync(clusterDir, { recursive: true, force: true }); }
    o.releaseDataDir?.(dataDir);
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(files, { recursive: true, force: true });
  };

  try {
    if (clusterDir) {
      // the state dir goes with close(): keep the end of the setup log in the error
      await cluster('start').catch((err: Error) => {
        const setup = path.join(clusterDir, 'setup.log');
        const tail = fs.existsSync(setup) ? fs.readFileSync(setup, 'utf8').split('\n').slice(-15).join('\n') : '';
        throw new Error(`${err.message}\nthe end of setup.log:\n${tail}`);
      });
    }
    const temporalAddress = o.temporalAddress ?? `127.0.0.1:${CLUSTER_PORT_BASE}`;
    const admin = o.databaseAdminUrl ?? `postgres://postgres@127.0.0.1:${CLUSTER_PORT_BASE + 20}/postgres`;
    const name = `mlops_chaos_${randomBytes(4).toString('hex')}`;
    const adminClient = new PgClient({ connectionString: admin });
    await adminClient.connect();
    await adminClient.query(`CREATE DATABASE ${name}`);
    await adminClient.end();
    const databaseUrl = Object.assign(new URL(admin), { pathname: `/${name}` }).toString();
    pool = createPool(databaseUrl);
    await migrate(pool); // once, before four processes would race to
    o.prepareDataDir?.(dataDir);
    temporal = new Client({ connection: await Connection.connect({ address: temporalAddress }), namespace: 'default' });

    const env = {
      TEMPORAL_ADDRESS: temporalAddress, TEMPORAL_NAMESPACE: 'default', DATABASE_URL: databaseUrl, MLOPS_DATA_DIR: dataDir,
      MLOPS_DATA_ROOTS: [files, path.join(REPO_ROOT, 'datasets')].join(','), MLOPS_TASK_QUEUE: TASK_QUEUE, MLOPS_ADMIN_KEY: CHAOS_ADMIN_KEY,
      // every process must seal and open connection secrets with the same key
      MLOPS_ENCRYPTION_KEY: randomBytes(32).toString('base64'), MLOPS_CODE_VERSION: 'chaos',
    };
    // CHAOS_LOGS=<dir> keeps every worker's and replica's output there (<name>.log), for a failure's story
    const logs = process.env.CHAOS_LOGS ? path.resolve(process.env.CHAOS_LOGS) : undefined;
    if (logs) fs.mkdirSync(logs, { recursive: true });
    const logFile = (name: string) => (logs ? path.join(logs, `${name}.log`) : undefined);
    let workerCount = 0;
    const startWorker = async () => {
      const name = `worker-${++workerCount}`;
      const child = startMlopsProcess('worker', name, env, { logFile: logFile(name) });
      children.push(child);
      await eventually(`worker ${child.pid} to poll the task queue`, async () => {
        assert.equal(child.exitCode, null, `worker ${child.pid} exited`);
        const { pollers } = await temporal!.workflowService.describeTaskQueue({ namespace: 'default', taskQueue: { name: TASK_QUEUE } }).catch(() => ({ pollers: [] }));
        return (pollers ?? []).some((p) => p.identity?.startsWith(`${child.pid}@`)) ? true : undefined;
      }, { timeoutMs: 120_000, everyMs: 500 });
      return child;
    };
    const apis: ApiReplica[] = [];
    const startApi = async (i: number) => {
      const url = `http://127.0.0.1:${API_PORTS[i]}`;
      const child = startMlopsProcess('api', `api-${i + 1}`, { ...env, MLOPS_API_PORT: String(API_PORTS[i]) }, { logFile: logFile(`api-${i + 1}`) });
      children.push(child);
      await eventually(`API replica ${url} to be ready`, async () => {
        assert.equal(child.exitCode, null, `API replica ${url} exited`);
        const r = await fetch(`${url}/readyz`).catch(() => undefined);
        return r?.ok ? true : undefined;
      }, { timeoutMs: 120_000, everyMs: 300 });
      apis[i] = { url, process: child };
      return apis[i];
    };
    // one at a time: each start bundles the workflow code or loads the ONNX runtime, both CPU-bound
    const workers = [await startWorker(), await startWorker()];
    await startApi(0);
    await startApi(1);
    proxy = await startRoundRobinProxy(apis.map((a) => a.url), { port: PROXY_PORT });

    const platform: ChaosPlatform = {
      clusterDir, proxy, apis, workers, pool, temporal, dataDir, files, cluster, startWorker, startApi,
      async call(method, url, body, c = {}) {
        const response = await fetch(`${c.base ?? proxy!.url}${url}`, {
          method,
          headers: { authorization: `Bearer ${CHAOS_ADMIN_KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...c.headers },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(60_000),
        });
        const text = await response.text();
        let parsed: unknown = text;
        try { parsed = text ? JSON.parse(text) : undefined; } catch { /* not JSON: kept as text */ }
        return { status: response.status, body: parsed, upstream: response.headers.get('x-upstream') ?? undefined };
      },
      async kill9(child) {
        child.kill('SIGKILL');
        await untilExit(child);
      },
      close,
    };
    return platform;
  } catch (err) {
    await close();
    throw err;
  }
}

/** The first row of the bundled breast cancer data as a prediction instance (features only). */
export function cancerInstance(file: string): Record<string, number> {
  const [header, first] = fs.readFileSync(file, 'utf8').split('\n');
  const cells = first.split(',');
  return Object.fromEntries(header.split(',').map((h, i) => [h, Number(cells[i])] as const).filter(([h]) => h !== 'diagnosis'));
}

/**
 * Deploys `model` from the bundled breast cancer data before any load, and waits until both replicas
 * serve it: the model the steady predictions ask.
 */
export async function deployServedModel(platform: ChaosPlatform, model: string, data: string, instance: Record<string, number>): Promise<void> {
  const started = await platform.call('POST', '/v1/pipelines', { model, data: { uri: data }, target: 'diagnosis', approval: { mode: 'auto' } });
  assert.equal(started.status, 202, JSON.stringify(started.body));
  const done = await eventually(`the ${model} run to end`, async () => {
    const r = await platform.call('GET', `/v1/pipelines/${started.body.id}`);
    return ['deployed', 'rejected', 'failed'].includes(r.body?.state) ? r.body : undefined;
  }, { everyMs: 500 });
  assert.equal(done.state, 'deployed', JSON.stringify(done));
  for (const api of platform.apis) {
    await eventually(`${api.url} to serve ${model}`, async () => {
      const r = await platform.call('POST', `/v1/models/${model}/predict`, { instances: [instance] }, { base: api.url });
      return r.status === 200 ? true : undefined;
    });
  }
}

/**
 * The platform of one test file: started before its tests, with the model the load predicts from
 * deployed as `served` (trained on `data`, asked with `instance`), and closed after them. Call it in a
 * describe; the tests read `suite.platform`.
 */
export function chaosPlatformPerSuite(data: string, instance: Record<string, number>, options: ChaosPlatformOptions = {}): { readonly platform: ChaosPlatform } {
  const suite = {} as { platform: ChaosPlatform };
  before(async () => {
    suite.platform = await startChaosPlatform(options);
    await deployServedModel(suite.platform, 'served', data, instance);
  });
  after(async () => { await suite.platform?.close(); });
  return suite;
}
