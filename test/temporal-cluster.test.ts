/**
 * The platform on a real Temporal cluster: the server built from source by scripts/temporal-cluster.sh,
 * frontend, history, matching and worker as four processes on their own PostgreSQL, reached through
 * TEMPORAL_ADDRESS like any self-hosted cluster. A pipeline runs end to end through two platform
 * workers (one of them `mlops worker` in its own process) and two API replicas, and the standalone Web
 * UI shows it; then the same over mutual TLS (certificates made here with openssl), where clients
 * without a certificate, with one from another CA, or without TLS are refused and start nothing. Then
 * TEMPORAL_API_KEY: a TLS gRPC endpoint of our own records what both connection kinds (the API's
 * client and the worker's native connection) send. Last, the configuration as the server renders it
 * for docker-compose.yml.
 *
 * The first run builds the Temporal server (minutes; scripts/test-full.sh builds it before the suite).
 */
import assert from 'node:assert/strict';
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http2 from 'node:http2';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { Client, Connection, TLSConfig, WorkflowNotFoundError } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import YAML from 'yaml';
import { loadConfig } from '../src/config';
import { RunningApi, startApi } from '../src/stack/runtime';
import { connectionOptions } from '../src/temporal';
import { PlatformStack, startPlatform } from './helpers/api-stack';
import { CertFiles, makeCa, makeLeaf } from './helpers/certificates';
import { eventually } from './helpers/eventually';
import { BREAST_CANCER } from './helpers/pipeline-env';
import { REPO_ROOT } from './helpers/temporal';

const run = promisify(execFile);
Runtime.install({ logger: new DefaultLogger('WARN') });
const SCRIPT = path.join(REPO_ROOT, 'scripts', 'temporal-cluster.sh');
// Ports 18300-18324 (the script's layout from its base); one cluster at a time in this file.
const PORT_BASE = 18300;

const [header, first] = fs.readFileSync(BREAST_CANCER, 'utf8').split('\n');
const instance = Object.fromEntries(header.split(',').map((h, i) => [h, first.split(',')[i]]).filter(([h]) => h !== 'diagnosis').map(([h, v]) => [h, Number(v)]));

/** Runs the cluster script; returns the variables its `export` lines set. */
async function cluster(stateDir: string, args: string[], env: Record<string, string> = {}): Promise<Record<string, string>> {
  const { stdout } = await run('bash', [SCRIPT, ...args], {
    env: { ...process.env, TEMPORAL_CLUSTER_DIR: stateDir, TEMPORAL_CLUSTER_PORT_BASE: String(PORT_BASE), ...env },
    timeout: 20 * 60_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  return Object.fromEntries([...stdout.matchAll(/^export ([A-Z_]+)=(.*)$/gm)].map((m) => [m[1], m[2]]));
}

async function pids(stateDir: string): Promise<Record<string, number>> {
  const { stdout } = await run('bash', [SCRIPT, 'pids'], { env: { ...process.env, TEMPORAL_CLUSTER_DIR: stateDir } });
  return Object.fromEntries(stdout.trim().split('\n').filter(Boolean).map((l) => { const [name, pid] = l.split(' '); return [name, Number(pid)]; }));
}

/** A pipeline through one replica, auto-approved, watched through the other, then served by both. */
async function pipelineThroughTwoReplicas(stack: PlatformStack, second: RunningApi): Promise<string> {
  const started = await stack.call('POST', '/v1/pipelines', { model: 'cancer', data: { uri: BREAST_CANCER }, target: 'diagnosis', approval: { mode: 'auto', thresholds: { auc: 0.9 } } });
  assert.equal(started.status, 202, JSON.stringify(started.body));
  const done = await eventually(`run ${started.body.id} to end`, async () => {
    const r = await stack.call('GET', `/v1/pipelines/${started.body.id}`, undefined, { base: second.url });
    return ['deployed', 'rejected', 'failed'].includes(r.body?.state) ? r.body : undefined;
  }, { everyMs: 250 });
  assert.equal(done.state, 'deployed', JSON.stringify(done));
  assert.ok(done.metrics.auc > 0.95, JSON.stringify(done.metrics));
  for (const api of [stack.api, second]) {
    const predicted = await eventually('the deployed model to answer', async () => {
      const r = await stack.call('POST', '/v1/models/cancer/predict', { instances: [instance] }, { base: api.url });
      return r.status === 200 ? r.body : undefined;
    });
    assert.equal(predicted.model.version, done.modelVersion);
    assert.equal(predicted.predictions.length, 1);
  }
  return started.body.id as string;
}

describe('a four-process Temporal cluster built from source (scripts/temporal-cluster.sh)', () => {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-cluster-'));
  let env: Record<string, string> = {};
  let stack: PlatformStack | undefined;
  let second: RunningApi | undefined;
  let secondWorker: ChildProcess | undefined;

  before(async () => {
    env = await cluster(stateDir, ['start']);
  });

  after(async () => {
    if (secondWorker && secondWorker.exitCode === null) {
      const exited = new Promise((resolve) => secondWorker!.once('exit', resolve));
      secondWorker.kill('SIGTERM');
      await exited;
    }
    await second?.stop();
    await stack?.close();
    await cluster(stateDir, ['stop']);
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('runs frontend, history, matching and worker as separate processes, and prints where the frontend is', async () => {
    assert.equal(env.TEMPORAL_ADDRESS, `127.0.0.1:${PORT_BASE}`);
    assert.equal(env.TEMPORAL_NAMESPACE, 'default');
    const running = await pids(stateDir);
    assert.deepEqual(Object.keys(running).sort(), ['frontend', 'history', 'matching', 'postgresql', 'ui', 'worker']);
    assert.equal(new Set(Object.values(running)).size, 6, JSON.stringify(running));
    for (const service of ['frontend', 'history', 'matching', 'worker']) {
      assert.ok(fs.statSync(path.join(stateDir, `${service}.log`)).isFile(), `${service} has its own log`);
    }
  });

  it('a pipeline runs end to end through two platform workers and two API replicas connected by TEMPORAL_ADDRESS; the Web UI shows it', async () => {
    stack = await startPlatform({ env: { TEMPORAL_ADDRESS: env.TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE: env.TEMPORAL_NAMESPACE, MLOPS_TASK_QUEUE: `cluster-${randomBytes(3).toString('hex')}` } });
    const endpoints = { temporalAddress: env.TEMPORAL_ADDRESS, temporalUiUrl: 'http://ui.test', databaseUrl: stack.db.url };
    second = await startApi(stack.config, endpoints, stack.stores, () => undefined);
    // a second worker: `mlops worker` in a process of its own on the same queue, store and artifacts
    const { NODE_TEST_CONTEXT: _runner, ...parentEnv } = process.env;
    secondWorker = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'src', 'cli.ts'), 'worker'], {
      cwd: REPO_ROOT,
      stdio: 'ignore',
      env: {
        ...parentEnv, TEMPORAL_ADDRESS: env.TEMPORAL_ADDRESS, DATABASE_URL: stack.db.url, MLOPS_DATA_DIR: stack.dataDir,
        MLOPS_TASK_QUEUE: stack.config.temporal.taskQueue, MLOPS_DATA_ROOTS: stack.config.sources.dataRoots.join(','),
      },
    });
    const pollers = await eventually('both workers to poll the queue', async () => {
      const { pollers: seen } = await stack!.api.client.workflowService.describeTaskQueue({
        namespace: 'default', taskQueue: { name: stack!.config.temporal.taskQueue }, taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
      });
      const identities = new Set((seen ?? []).map((p) => p.identity));
      return identities.size >= 2 ? identities : undefined;
    }, { everyMs: 500, timeoutMs: 90_000 });
    assert.ok([...pollers].some((identity) => identity?.startsWith(`${secondWorker!.pid}@`)), JSON.stringify([...pollers]));
    const id = await pipelineThroughTwoReplicas(stack, second);
    // the standalone Web UI (ui-server) serves the UI and reads this run from the frontend
    assert.equal(env.TEMPORAL_UI_URL, `http://127.0.0.1:${PORT_BASE + 30}`);
    assert.match(await (await fetch(`${env.TEMPORAL_UI_URL}/`)).text(), /<!doctype html>/i);
    const described = await fetch(`${env.TEMPORAL_UI_URL}/api/v1/namespaces/default/workflows/${id}`);
    assert.equal(described.status, 200);
    assert.equal(((await described.json()) as any).workflowExecutionInfo.status, 'WORKFLOW_EXECUTION_STATUS_COMPLETED');
  });

  it('refuses an unknown service, a certificate without its key, and a second cluster on the same ports, saying why', async () => {
    const refusal = async (args: string[], env: Record<string, string>, dir = stateDir) => {
      const err = await cluster(dir, args, env).then(() => undefined, (e: { stderr?: string }) => e);
      assert.ok(err, `${args.join(' ')} was accepted`);
      return String(err.stderr);
    };
    assert.match(await refusal(['restart', 'scheduler'], {}), /unknown service "scheduler": frontend, history, matching, worker, ui or postgresql/);
    const other = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-cluster-other-'));
    try {
      assert.match(await refusal(['start'], { TEMPORAL_CLUSTER_TLS_CERT: '/etc/hostname' }, other), /TEMPORAL_CLUSTER_TLS_CERT and TEMPORAL_CLUSTER_TLS_KEY go together/);
      assert.match(await refusal(['start'], {}, other), new RegExp(`port ${PORT_BASE} is in use`));
    } finally {
      fs.rmSync(other, { recursive: true, force: true });
    }
    // the running cluster was not touched
    assert.deepEqual(Object.keys(await pids(stateDir)).sort(), ['frontend', 'history', 'matching', 'postgresql', 'ui', 'worker']);
  });

  it('restart <service> kills one service with SIGKILL and starts it again; the cluster answers again', async () => {
    const before = await pids(stateDir);
    await cluster(stateDir, ['restart', 'frontend']);
    const afterRestart = await pids(stateDir);
    assert.notEqual(afterRestart.frontend, before.frontend);
    assert.throws(() => process.kill(before.frontend, 0), /ESRCH/, 'the old frontend process is gone');
    assert.equal(afterRestart.history, before.history, 'only the named service was restarted');
    const client = new Client({ connection: await Connection.connect({ address: env.TEMPORAL_ADDRESS }), namespace: 'default' });
    try {
      const listed = await eventually('the restarted frontend to list workflows', async () => {
        const ids: string[] = [];
        try { for await (const w of client.workflow.list({ query: 'WorkflowType = "trainingPipeline"' })) ids.push(w.workflowId); } catch { return undefined; }
        return ids.length > 0 ? ids : undefined;
      }, { everyMs: 500, timeoutMs: 60_000 });
      assert.ok(listed.some((id) => id.startsWith('train-cancer-')), JSON.stringify(listed));
    } finally {
      await client.connection.close();
    }
  });
});

describe('mutual TLS to the cluster\'s frontend', () => {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-cluster-tls-'));
  const certDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-certs-'));
  let ca: CertFiles;
  let client: CertFiles;
  let stranger: CertFiles;
  let address = '';
  let uiUrl = '';
  let stack: PlatformStack | undefined;
  let second: RunningApi | undefined;

  before(async () => {
    ca = makeCa(certDir, 'test-ca');
    const server = makeLeaf(certDir, ca, 'frontend');
    client = makeLeaf(certDir, ca, 'platform');
    stranger = makeLeaf(certDir, makeCa(certDir, 'other-ca'), 'stranger');
    const env = await cluster(stateDir, ['start'], {
      TEMPORAL_CLUSTER_TLS_CERT: server.cert, TEMPORAL_CLUSTER_TLS_KEY: server.key, TEMPORAL_CLUSTER_TLS_CA: ca.cert,
    });
    address = env.TEMPORAL_ADDRESS;
    uiUrl = env.TEMPORAL_UI_URL;
    assert.equal(env.TEMPORAL_TLS_CA, ca.cert);
    assert.equal(env.TEMPORAL_TLS_SERVER_NAME, 'localhost');
  });

  after(async () => {
    await second?.stop();
    await stack?.close();
    await cluster(stateDir, ['stop']);
    fs.rmSync(stateDir, { recursive: true, force: true });
    fs.rmSync(certDir, { recursive: true, force: true });
  });

  it('a pipeline runs end to end over mTLS: worker, API replicas and schedules all connect with the client certificate', async () => {
    stack = await startPlatform({
      env: {
        TEMPORAL_ADDRESS: address, MLOPS_TASK_QUEUE: `mtls-${randomBytes(3).toString('hex')}`,
        TEMPORAL_TLS_CA: ca.cert, TEMPORAL_TLS_CERT: client.cert, TEMPORAL_TLS_KEY: client.key, TEMPORAL_TLS_SERVER_NAME: 'localhost',
      },
    });
    second = await startApi(stack.config, { temporalAddress: address, temporalUiUrl: 'http://ui.test', databaseUrl: stack.db.url }, stack.stores, () => undefined);
    await pipelineThroughTwoReplicas(stack, second);
    // the deployment gave the model its monitor schedule, created over the same mTLS connection
    const schedule = await eventually('the monitor schedule', async () => {
      for await (const s of second!.client.schedule.list()) if (s.scheduleId.includes('cancer')) return s.scheduleId;
      return undefined;
    }, { timeoutMs: 30_000, everyMs: 500 });
    assert.match(schedule, /cancer/);
    // the Web UI reaches the frontend over mTLS too (with the cluster's certificate)
    const namespaces = await fetch(`${uiUrl}/api/v1/namespaces`);
    assert.equal(namespaces.status, 200);
    assert.ok(((await namespaces.json()) as any).namespaces.some((n: { namespaceInfo: { name: string } }) => n.namespaceInfo.name === 'default'));
  });

  /** Starts a workflow with the given connection settings; the id it tried, and the error. */
  const tryToStart = async (tls: TLSConfig | false) => {
    const id = `intruder-${randomBytes(4).toString('hex')}`;
    // no retry interceptor: a refusal is final here, and the default retries would take a minute
    const connection = Connection.lazy({ address, tls, connectTimeout: '5 seconds', interceptors: [] });
    try {
      await new Client({ connection, namespace: 'default' }).workflow.start('trainingPipeline', { taskQueue: 'intruders', workflowId: id, args: [] });
      return { id, error: undefined };
    } catch (err) {
      return { id, error: err as Error };
    } finally {
      await connection.close();
    }
  };

  it('refuses a client without a certificate, one whose certificate another CA signed, and one without TLS; none of them starts a workflow', async () => {
    const caPem = fs.readFileSync(ca.cert);
    const attempts = {
      'no certificate': await tryToStart({ serverRootCACertificate: caPem, serverNameOverride: 'localhost' }),
      'another CA\'s certificate': await tryToStart({ serverRootCACertificate: caPem, serverNameOverride: 'localhost', clientCertPair: { crt: fs.readFileSync(stranger.cert), key: fs.readFileSync(stranger.key) } }),
      'plain gRPC': await tryToStart(false),
    };
    for (const [what, attempt] of Object.entries(attempts)) assert.ok(attempt.error, `${what}: the start was accepted`);
    // the worker's native connection is refused too without a certificate
    await assert.rejects(NativeConnection.connect({ address, tls: { serverRootCACertificate: caPem, serverNameOverride: 'localhost' } }));

    const admitted = await Connection.connect(connectionOptions({ address, tls: loadConfig({ TEMPORAL_ADDRESS: address, TEMPORAL_TLS_CA: ca.cert, TEMPORAL_TLS_CERT: client.cert, TEMPORAL_TLS_KEY: client.key, TEMPORAL_TLS_SERVER_NAME: 'localhost' }).temporal.tls }));
    try {
      const admittedClient = new Client({ connection: admitted, namespace: 'default' });
      for (const [what, attempt] of Object.entries(attempts)) {
        await assert.rejects(admittedClient.workflow.getHandle(attempt.id).describe(), WorkflowNotFoundError, `${what}: ${attempt.id} exists`);
      }
    } finally {
      await admitted.close();
    }
  });
});

describe('TEMPORAL_API_KEY (Temporal Cloud)', () => {
  const certDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-certs-'));
  let server: http2.Http2SecureServer;
  let address = '';
  let ca: CertFiles;
  const seen: { path: string; authorization?: string; encrypted: boolean }[] = [];
  // the refused connections may keep their HTTP/2 sessions open; closing the server waits for them
  const sessions = new Set<http2.ServerHttp2Session>();

  before(async () => {
    ca = makeCa(certDir, 'capture-ca');
    const leaf = makeLeaf(certDir, ca, 'capture');
    // A TLS HTTP/2 endpoint that records each gRPC call's path and authorization metadata, then
    // refuses it as a server without the key would (UNAUTHENTICATED). Temporal Cloud itself cannot be reached here.
    server = http2.createSecureServer({ cert: fs.readFileSync(leaf.cert), key: fs.readFileSync(leaf.key) });
    server.on('session', (session) => sessions.add(session));
    server.on('stream', (stream, headers) => {
      seen.push({ path: String(headers[':path']), authorization: headers.authorization as string | undefined, encrypted: (stream.session?.socket as { encrypted?: boolean } | undefined)?.encrypted === true });
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '16', 'grpc-message': 'captured' }, { endStream: true });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    address = `127.0.0.1:${(server.address() as { port: number }).port}`;
  });

  after(async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const session of sessions) session.destroy();
    await closed;
    fs.rmSync(certDir, { recursive: true, force: true });
  });

  it('is sent as "authorization: Bearer <key>" over TLS by the client connection and by the worker\'s native connection', async () => {
    const key = `cloud-key-${randomBytes(8).toString('hex')}`;
    const config = loadConfig({ TEMPORAL_ADDRESS: address, TEMPORAL_API_KEY: key, TEMPORAL_TLS_CA: ca.cert, TEMPORAL_TLS_SERVER_NAME: 'localhost' });
    const target = { address, tls: config.temporal.tls, apiKey: config.temporal.apiKey };

    seen.length = 0;
    await assert.rejects(Connection.connect(connectionOptions(target)));
    assert.ok(seen.length > 0, 'the client reached the endpoint');
    assert.ok(seen.every((s) => s.authorization === `Bearer ${key}` && s.encrypted), JSON.stringify(seen));
    assert.match(seen[0].path, /^\/temporal\.api\.workflowservice\.v1\.WorkflowService\//);

    seen.length = 0;
    await assert.rejects(NativeConnection.connect(connectionOptions(target)));
    assert.ok(seen.length > 0, 'the native connection reached the endpoint');
    assert.ok(seen.every((s) => s.authorization === `Bearer ${key}` && s.encrypted), JSON.stringify(seen));
  });

  it('switches TLS on by itself (the key must not travel in clear), with the system\'s CAs when no CA is given', () => {
    const config = loadConfig({ TEMPORAL_ADDRESS: 'my-ns.a1b2c.tmprl.cloud:7233', TEMPORAL_NAMESPACE: 'my-ns.a1b2c', TEMPORAL_API_KEY: 'k' });
    assert.deepEqual(config.temporal.tls, {});
    assert.deepEqual(connectionOptions({ address: config.temporal.address!, tls: config.temporal.tls, apiKey: config.temporal.apiKey }), { address: 'my-ns.a1b2c.tmprl.cloud:7233', tls: {}, apiKey: 'k' });
  });
});

describe('deploy/temporal/cluster.yaml, the one configuration', () => {
  const server = path.join(REPO_ROOT, '.cache', 'tools', 'temporal-server-v1.29.1', 'temporal-server');

  before(async () => {
    await run('bash', [SCRIPT, 'build'], { timeout: 20 * 60_000 });
  });

  /** The configuration the server reads with these variables (its own render-config; passwords show as ******). */
  const rendered = async (env: Record<string, string>) => {
    const { stdout } = await run(server, ['--root', '/', '--config', path.join(REPO_ROOT, 'deploy', 'temporal'), '--env', 'cluster', 'render-config'], { env: { PATH: process.env.PATH, ...env } });
    return YAML.parse(stdout);
  };

  it('renders docker-compose.yml\'s temporal service: the compose network\'s PostgreSQL, every address open in the container, metrics for Prometheus, the mounted dynamic config', async () => {
    const compose = YAML.parse(fs.readFileSync(path.join(REPO_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true });
    const service = compose.services.temporal;
    // Compose's interpolation, for the forms the service uses: ${NAME:?message} and ${NAME:-default}
    const interpolate = (v: string) => v.replace(/\$\{([A-Z_]+):[?-]([^}]*)\}/g, (_m, name: string) => (name === 'POSTGRES_TEMPORAL_PASSWORD' ? 'p@ss"word: #1' : ''));
    const env = Object.fromEntries(Object.entries(service.environment as Record<string, string>).map(([k, v]) => [k, interpolate(String(v))]));
    const config = await rendered({ ...env, TEMPORAL_CLUSTER_BROADCAST_ADDRESS: '172.18.0.5' });
    for (const store of ['default', 'visibility']) {
      const sql = config.persistence.datastores[store].sql;
      assert.equal(sql.connectAddr, 'temporal-postgresql:5432');
      assert.equal(sql.user, 'temporal');
      assert.equal(sql.password, '******', 'a password with quotes, a colon and a hash still parses as one string');
    }
    for (const name of ['frontend', 'history', 'matching', 'worker']) assert.equal(config.services[name].rpc.bindOnIP, '0.0.0.0', name);
    assert.equal(config.services.frontend.rpc.grpcPort, Number(service.ports[0].split(':').at(-1)), 'the published port is the frontend\'s');
    assert.equal(config.global.membership.broadcastAddress, '172.18.0.5');
    assert.equal(config.global.metrics.prometheus.listenAddress, '0.0.0.0:8000');
    const mount = service.volumes.find((v: string) => v.startsWith('./deploy/temporal:')).split(':')[1];
    assert.equal(config.dynamicConfigClient.filepath, `${mount}/dynamicconfig.yaml`);
    assert.equal(config.global.tls.frontend.server.certFile ?? '', '', 'no TLS unless asked');
  });

  it('with the TLS variables, the frontend requires client certificates from the CA, and the internal worker presents the frontend\'s', async () => {
    const config = await rendered({ TEMPORAL_CLUSTER_TLS_CERT: '/tls/frontend.pem', TEMPORAL_CLUSTER_TLS_KEY: '/tls/frontend.key', TEMPORAL_CLUSTER_TLS_CA: '/tls/ca.pem' });
    assert.deepEqual(
      { cert: config.global.tls.frontend.server.certFile, required: config.global.tls.frontend.server.requireClientAuth, cas: config.global.tls.frontend.server.clientCaFiles },
      { cert: '/tls/frontend.pem', required: true, cas: ['/tls/ca.pem'] },
    );
    assert.equal(config.global.tls.systemWorker.certFile, '/tls/frontend.pem');
    assert.deepEqual(config.global.tls.systemWorker.client.rootCaFiles, ['/tls/ca.pem']);
    assert.equal(config.global.tls.systemWorker.client.serverName, 'localhost');
  });
});
