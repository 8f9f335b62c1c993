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
import { startEmbeddedStack } from './embedded-stack';

const DATASETS = path.join(__dirname, '..', 'datasets');
const CASES = [
  { model: 'cancer', file: 'breast-cancer-wisconsin.csv', target: 'diagnosis' },
  { model: 'iris', file: 'iris.csv', target: 'species' },
  { model: 'iris-width', file: 'iris.csv', target: 'petal_width' },
];

async function main(): Promise<void> {
  const setup = Date.now();
  const { api, close } = await startEmbeddedStack();
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
    await close();
  }
}

main().catch((err) => { console.error(err); process.exitCode = 1; });
