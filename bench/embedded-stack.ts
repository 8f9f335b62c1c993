/**
 * The embedded stack in the benchmark's own process (Temporal dev server, PostgreSQL, worker, API) on a
 * fresh data directory and free ports, for the end-to-end benchmarks; `close` stops all of it.
 * With `separateWorker`, the worker is an `mlops worker` process instead, as deployed, which `killWorker`
 * kills with SIGKILL and starts again (the resumability runs).
 */
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { ApiClient } from '../src/cli/api-client';
import { loadConfig } from '../src/config';
import { ensureAdminKey, openStores, startApi, startInfrastructure, startWorker } from '../src/stack/runtime';

export interface EmbeddedStack {
  api: ApiClient;
  /** SIGKILLs the worker process and starts a new one (only with `separateWorker`). */
  killWorker(): Promise<void>;
  /** The worker process's peak resident memory so far in bytes (VmHWM), or undefined in process. */
  workerPeakRss(): number | undefined;
  close(): Promise<void>;
}

export async function startEmbeddedStack(env: Record<string, string> = {}, separateWorker = false): Promise<EmbeddedStack> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-bench-'));
  const base = 12_000 + (process.pid % 3_000) * 4; // below the ephemeral range Temporal picks from
  const config = loadConfig({
    MLOPS_DATA_DIR: dataDir, MLOPS_TEMPORAL_PORT: String(base), MLOPS_TEMPORAL_UI_PORT: String(base + 1),
    MLOPS_PGLITE_PORT: String(base + 2), MLOPS_API_PORT: String(base + 3), TEMPORAL_CLI_PATH: process.env.TEMPORAL_CLI_PATH, MLOPS_LOG_LEVEL: 'warn', ...env,
  });
  const infra = await startInfrastructure(config, () => undefined);
  const stores = await openStores(config, infra.databaseUrl);
  const workerEnv = { ...process.env, ...env, TEMPORAL_ADDRESS: infra.temporalAddress, DATABASE_URL: infra.databaseUrl, MLOPS_DATA_DIR: dataDir };
  const spawnWorker = (): ChildProcess => spawn(process.execPath, [...process.execArgv, path.join(__dirname, '..', 'src', 'cli.ts'), 'worker'], { env: workerEnv, stdio: ['ignore', 'ignore', 'inherit'] });
  let child = separateWorker ? spawnWorker() : undefined;
  const inProcess = separateWorker ? undefined : await startWorker(config, infra, stores);
  const apiServer = await startApi(config, infra, stores, () => undefined);
  const exited = (proc: ChildProcess) => new Promise((r) => (proc.exitCode !== null || proc.signalCode !== null ? r(undefined) : proc.once('exit', r)));
  return {
    api: new ApiClient(apiServer.url, ensureAdminKey(config)),
    async killWorker() {
      if (!child) throw new Error('killWorker needs the stack started with separateWorker');
      child.kill('SIGKILL');
      await exited(child);
      child = spawnWorker();
    },
    workerPeakRss() {
      if (!child?.pid) return undefined;
      const line = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmHWM:'));
      return line ? Number(line.replace(/\D/g, '')) * 1024 : undefined;
    },
    async close() {
      await apiServer.stop();
      if (child) { child.kill('SIGTERM'); await exited(child); }
      if (inProcess) { inProcess.worker.shutdown(); await inProcess.done; }
      await stores.pool.end();
      await infra.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
