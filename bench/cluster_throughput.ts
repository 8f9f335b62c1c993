/**
 * Pipelines per minute sustained by two platform workers, on the Temporal cluster of
 * scripts/temporal-cluster.sh and on the Temporal CLI dev server: the chaos suite's deployment (two
 * `mlops worker` processes, two `mlops api` replicas behind the round-robin proxy) with a fixed number of
 * pipelines in flight (a new one starts as soon as one ends), each on the bundled breast cancer data and
 * its own model, counted over a fixed window after a warm-up.
 *
 *   node --import tsx bench/cluster_throughput.ts [cluster|dev] [--concurrency 6] [--seconds 180]
 *
 * Without a target it measures both, one after the other. The dev server runs as `mlops up` starts it
 * (a SQLite file in WAL mode), with the platform's metadata on a PostgreSQL of scripts/start-postgres.sh.
 * Ports: 18460-18499 (the chaos suite's range; do not run it beside the suite). Figures: bench/RESULTS.md.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { quantileSorted } from '../src/ml/statistics';
import { cancerInstance, ChaosPlatform, deployServedModel, startChaosPlatform } from '../test/chaos/platform';
import { BREAST_CANCER } from '../test/helpers/pipeline-env';
import { REPO_ROOT, TOOLS_DIR } from '../test/helpers/temporal';
import { startDevServer } from '../src/stack/temporal-dev-server';
import { findTemporalCli } from '../src/stack/temporal-cli';

const FINAL = ['deployed', 'rejected', 'failed'];
const DEV_PG = { port: '18494', dir: '/tmp/mlops-chaos-bench-pg' };
const DEV_TEMPORAL_PORT = 18495;

/** Keeps `concurrency` pipelines in flight for `seconds` after `warmup`; returns what ended in the window. */
async function sustain(platform: ChaosPlatform, label: string, concurrency: number, seconds: number, warmup = 30): Promise<{ perMinute: number; ended: number; failed: number; p50: number; p95: number }> {
  const begin = Date.now();
  const windowStart = begin + warmup * 1000;
  const windowEnd = windowStart + seconds * 1000;
  const durations: number[] = [];
  let ended = 0;
  let failed = 0;
  let n = 0;
  const lane = async () => {
    while (Date.now() < windowEnd) {
      const t0 = Date.now();
      const started = await platform.call('POST', '/v1/pipelines', { model: `${label}-${++n}`, data: { uri: BREAST_CANCER }, target: 'diagnosis', approval: { mode: 'auto' } });
      if (started.status !== 202) throw new Error(`start refused: ${started.status} ${JSON.stringify(started.body)}`);
      let state = 'running';
      while (!FINAL.includes(state)) {
        await new Promise((r) => setTimeout(r, 200));
        state = (await platform.call('GET', `/v1/pipelines/${started.body.id}`)).body?.state ?? 'running';
      }
      const t1 = Date.now();
      if (t1 >= windowStart && t1 < windowEnd) {
        ended++;
        if (state !== 'deployed') failed++;
        durations.push((t1 - t0) / 1000);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  durations.sort((a, b) => a - b);
  return { perMinute: (ended / seconds) * 60, ended, failed, p50: quantileSorted(durations, 0.5), p95: quantileSorted(durations, 0.95) };
}

async function measure(target: 'cluster' | 'dev', concurrency: number, seconds: number): Promise<void> {
  const t0 = Date.now();
  let platform: ChaosPlatform;
  let stopDev = async () => undefined as void;
  if (target === 'cluster') {
    platform = await startChaosPlatform();
  } else {
    // the dev server as `mlops up` starts it (a SQLite file in WAL mode), and a PostgreSQL like the cluster's
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-bench-dev-'));
    const cliPath = await findTemporalCli({ cliPath: process.env.TEMPORAL_CLI_PATH, toolsDir: TOOLS_DIR });
    const temporal = await startDevServer({ cliPath, dataDir: dir, port: DEV_TEMPORAL_PORT, uiPort: 0, namespace: 'default', headless: true });
    const env = { ...process.env, PG_TEST_PORT: DEV_PG.port, PG_TEST_DIR: DEV_PG.dir };
    const url = /TEST_DATABASE_URL=(\S+)/.exec(execFileSync(path.join(REPO_ROOT, 'scripts', 'start-postgres.sh'), { env, encoding: 'utf8' }))![1];
    stopDev = async () => {
      await temporal.stop();
      execFileSync(path.join(REPO_ROOT, 'scripts', 'stop-postgres.sh'), [DEV_PG.dir], { stdio: 'inherit' });
      fs.rmSync(DEV_PG.dir, { recursive: true, force: true });
      fs.rmSync(dir, { recursive: true, force: true });
    };
    platform = await startChaosPlatform({ temporalAddress: temporal.address, databaseAdminUrl: url }).catch(async (err) => { await stopDev(); throw err; });
  }
  try {
    console.log(`${target}: up in ${((Date.now() - t0) / 1000).toFixed(1)} s (${os.cpus().length} cores)`);
    await deployServedModel(platform, 'served', BREAST_CANCER, cancerInstance(BREAST_CANCER));
    const r = await sustain(platform, target, concurrency, seconds);
    console.log(`${target}: ${r.perMinute.toFixed(1)} pipelines/min with ${concurrency} in flight over ${seconds} s (${r.ended} ended, ${r.failed} not deployed); start to end p50 ${r.p50.toFixed(1)} s, p95 ${r.p95.toFixed(1)} s`);
  } finally {
    await platform.close();
    await stopDev();
  }
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { concurrency: { type: 'string', default: '6' }, seconds: { type: 'string', default: '180' } } });
  const targets = positionals.length > 0 ? positionals : ['cluster', 'dev'];
  for (const t of targets) {
    if (t !== 'cluster' && t !== 'dev') throw new Error(`unknown target "${t}": cluster or dev`);
    await measure(t, Number(values.concurrency), Number(values.seconds));
  }
}

main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
