/**
 * End-to-end latency of the embedded stack: POST /v1/pipelines -> deployed -> first prediction, for
 * each bundled dataset with automatic approval, on a fresh data directory and free ports.
 *
 *   node --import tsx bench/pipeline.ts
 *
 * Figures: bench/RESULTS.md. (Issue A's bar: an unseen dataset served within 60 s.)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { ApiClient } from '../src/cli/api-client';
import { loadConfig } from '../src/config';
import { ensureAdminKey, openStores, startApi, startInfrastructure, startWorker } from '../src/stack/runtime';

const DATASETS = path.join(__dirname, '..', 'datasets');
const CASES = [
  { model: 'cancer', file: 'breast-cancer-wisconsin.csv', target: 'diagnosis' },
  { model: 'iris', file: 'iris.csv', target: 'species' },
  { model: 'iris-width', file: 'iris.csv', target: 'petal_width' },
];

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-bench-'));
  const base = 12_000 + (process.pid % 3_000) * 4; // below the ephemeral range Temporal picks from
  const config = loadConfig({
    MLOPS_DATA_DIR: dataDir, MLOPS_TEMPORAL_PORT: String(base), MLOPS_TEMPORAL_UI_PORT: String(base + 1),
    MLOPS_PGLITE_PORT: String(base + 2), MLOPS_API_PORT: String(base + 3), TEMPORAL_CLI_PATH: process.env.TEMPORAL_CLI_PATH,
  });
  const setup = Date.now();
  const infra = await startInfrastructure(config, () => undefined);
  const stores = await openStores(config, infra.databaseUrl);
  const { worker, done } = await startWorker(config, infra, stores);
  const apiServer = await startApi(config, infra, stores, () => undefined);
  const api = new ApiClient(apiServer.url, ensureAdminKey(config));
  console.log(`embedded stack up in ${((Date.now() - setup) / 1000).toFixed(1)} s (${os.cpus().length} cores)`);
  try {
    for (const c of CASES) {
      const header = fs.readFileSync(path.join(DATASETS, c.file), 'utf8').split('\n')[0].split(',');
      const row = fs.readFileSync(path.join(DATASETS, c.file), 'utf8').split('\n')[1].split(',');
      const instance = Object.fromEntries(header.map((h, j) => [h, Number.isFinite(Number(row[j])) ? Number(row[j]) : row[j]]).filter(([h]) => h !== c.target));
      const t0 = Date.now();
      const { id } = await api.post<{ id: string }>('/v1/pipelines', { model: c.model, data: { uri: path.join(DATASETS, c.file) }, target: c.target, approval: { mode: 'auto' } });
      let state = 'running';
      while (!['deployed', 'rejected', 'failed'].includes(state)) {
        state = (await api.get<{ state: string }>(`/v1/pipelines/${id}`)).state;
        await new Promise((r) => setTimeout(r, 50));
      }
      const deployed = Date.now() - t0;
      await api.post(`/v1/models/${c.model}/predict`, { instances: [instance] });
      console.log(`  ${c.model.padEnd(11)} ${state}: deployed after ${(deployed / 1000).toFixed(2)} s, first prediction after ${((Date.now() - t0) / 1000).toFixed(2)} s`);
    }
  } finally {
    await apiServer.stop();
    worker.shutdown();
    await done;
    await stores.pool.end();
    await infra.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => { console.error(err); process.exitCode = 1; });
