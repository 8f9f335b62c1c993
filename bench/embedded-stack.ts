/**
 * The embedded stack in the benchmark's own process (Temporal dev server, PostgreSQL, worker, API) on a
 * fresh data directory and free ports, for the end-to-end benchmarks; `close` stops all of it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { ApiClient } from '../src/cli/api-client';
import { loadConfig } from '../src/config';
import { ensureAdminKey, openStores, startApi, startInfrastructure, startWorker } from '../src/stack/runtime';

export async function startEmbeddedStack(env: Record<string, string> = {}): Promise<{ api: ApiClient; close(): Promise<void> }> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-bench-'));
  const base = 12_000 + (process.pid % 3_000) * 4; // below the ephemeral range Temporal picks from
  const config = loadConfig({
    MLOPS_DATA_DIR: dataDir, MLOPS_TEMPORAL_PORT: String(base), MLOPS_TEMPORAL_UI_PORT: String(base + 1),
    MLOPS_PGLITE_PORT: String(base + 2), MLOPS_API_PORT: String(base + 3), TEMPORAL_CLI_PATH: process.env.TEMPORAL_CLI_PATH, ...env,
  });
  const infra = await startInfrastructure(config, () => undefined);
  const stores = await openStores(config, infra.databaseUrl);
  const { worker, done } = await startWorker(config, infra, stores);
  const apiServer = await startApi(config, infra, stores, () => undefined);
  return {
    api: new ApiClient(apiServer.url, ensureAdminKey(config)),
    async close() {
      await apiServer.stop();
      worker.shutdown();
      await done;
      await stores.pool.end();
      await infra.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
