/**
 * CSV ingest of 1M rows x 30 numeric columns (default): our reader (CSV text -> typed-array columns)
 * against pandas.read_csv, each in a fresh process, on the same file in the same run.
 *
 *   python3 -m pip install --target /tmp/pyref pandas      # once
 *   PYTHONPATH=/tmp/pyref node --import tsx bench/ingest.ts [rows] [cols]
 *
 * Reports seconds, rows/s and peak resident memory; for ours also the heap against the size of the
 * columns themselves (target: at most ~4x). Figures: bench/RESULTS.md.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readSource } from '../src/ingest/sources';
import { sourcePolicy } from '../src/ingest/source-policy';
import { createRng } from '../src/ml/random';

async function measureOurs(file: string): Promise<void> {
  const started = process.hrtime.bigint();
  // the benchmark's own file, read under a policy whose one root is its folder
  const policy = sourcePolicy({ dataRoots: [path.dirname(file)], dataDir: path.join(path.dirname(file), '.no-data-dir'), urlAllow: [] });
  const { table } = await readSource({ uri: file }, { policy, connectionUrl: async () => undefined });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const columnarBytes = table.columns.reduce((s, c) => s + (c.kind === 'number' ? c.values.byteLength : c.codes.byteLength), 0);
  const memory = process.memoryUsage();
  process.stdout.write(JSON.stringify({
    seconds, rows: table.rowCount, cols: table.columns.length,
    maxRssMB: process.resourceUsage().maxRSS / 1024, heapUsedMB: memory.heapUsed / 2 ** 20, arrayBuffersMB: memory.arrayBuffers / 2 ** 20, columnarMB: columnarBytes / 2 ** 20,
  }));
}

async function main(): Promise<void> {
  if (process.argv[2] === '--measure') return measureOurs(process.argv[3]);
  const rows = Number(process.argv[2] ?? 1_000_000);
  const cols = Number(process.argv[3] ?? 30);
  const file = path.join(os.tmpdir(), `bench-ingest-${rows}x${cols}.csv`);
  if (!fs.existsSync(file)) {
    const rng = createRng(7);
    const out = fs.openSync(file, 'w');
    fs.writeSync(out, Array.from({ length: cols }, (_, j) => `f${j}`).join(',') + '\n');
    let chunk: string[] = [];
    for (let i = 0; i < rows; i++) {
      chunk.push(Array.from({ length: cols }, () => (rng() * 1000 - 500).toFixed(4)).join(','));
      if (chunk.length === 10_000) { fs.writeSync(out, chunk.join('\n') + '\n'); chunk = []; }
    }
    if (chunk.length) fs.writeSync(out, chunk.join('\n') + '\n');
    fs.closeSync(out);
  }
  const size = fs.statSync(file).size / 2 ** 20;
  const ours = spawnSync(process.execPath, ['--import', 'tsx', '--max-old-space-size=8192', __filename, '--measure', file], { encoding: 'utf8' });
  if (ours.status !== 0) throw new Error(ours.stderr);
  const o = JSON.parse(ours.stdout);
  const py = spawnSync('python3', ['-c', `
import json, resource, sys, time
import pandas as pd
t = time.perf_counter(); df = pd.read_csv(sys.argv[1]); s = time.perf_counter() - t
print(json.dumps({"seconds": s, "rows": len(df), "maxRssMB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "pandas": pd.__version__}))
`, file], { encoding: 'utf8' });
  const p = py.status === 0 ? JSON.parse(py.stdout) : undefined;
  console.log(`CSV ingest, ${rows} x ${cols} numeric (${size.toFixed(0)} MiB file), ${os.cpus().length} cores`);
  console.log(`  ours:   ${o.seconds.toFixed(2)} s, ${(rows / o.seconds / 1000).toFixed(0)}k rows/s, peak RSS ${o.maxRssMB.toFixed(0)} MiB; heap ${o.heapUsedMB.toFixed(0)} MiB + buffers ${o.arrayBuffersMB.toFixed(0)} MiB for ${o.columnarMB.toFixed(0)} MiB of columns`);
  if (p) console.log(`  pandas ${p.pandas}: ${p.seconds.toFixed(2)} s, ${(rows / p.seconds / 1000).toFixed(0)}k rows/s, peak RSS ${p.maxRssMB.toFixed(0)} MiB\n  time ratio ours/pandas: ${(o.seconds / p.seconds).toFixed(2)}x`);
  else console.log(`  pandas not run: ${py.stderr.trim().split('\n').pop()}`);
}

main().catch((err) => { console.error(err); process.exitCode = 1; });
