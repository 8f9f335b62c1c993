/**
 * Ingest of 1M rows x 30 numeric columns (default), each reader in a fresh process on the same files in
 * the same run: CSV through the platform's source reader (the numeric reader for a local file of plain
 * numbers), through DuckDB (what other local files go through) and through its own streaming parser (what uploads and downloads it cannot hand to DuckDB go through) against
 * pandas.read_csv; then the same rows as Parquet (ZSTD, as dataset versions are stored) through the
 * platform's reader against pyarrow.parquet.read_table.
 *
 *   python3 -m pip install --target /tmp/pyref pandas pyarrow      # once
 *   PYTHONPATH=/tmp/pyref node --import tsx bench/ingest.ts [rows] [cols] [--repr]
 *
 * --repr spells the numbers as pandas' to_csv and JavaScript's String do (16-17 digits), not with 4
 * decimals, and measures CSV only.
 *
 * Reports seconds, rows/s and peak resident memory; for ours also the heap against the size of the
 * columns themselves. Figures: bench/RESULTS.md.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readSource } from '../src/ingest/sources';
import { sourcePolicy } from '../src/ingest/source-policy';
import { createRng } from '../src/ml/random';
import { parseCsvStream } from '../src/ml/csv';
import { fileBytes, utf8Text } from '../src/ingest/byte-source';
import { readParquet, writeParquet } from '../src/datasets/parquet-table';
import { readCsvFile } from '../src/datasets/duckdb-sources';

async function measureOurs(file: string, reader: string): Promise<void> {
  const started = process.hrtime.bigint();
  // the benchmark's own file, read under a policy whose one root is its folder
  const policy = sourcePolicy({ dataRoots: [path.dirname(file)], dataDir: path.join(path.dirname(file), '.no-data-dir'), urlAllow: [] });
  const table = reader === 'streaming'
    ? await parseCsvStream(() => utf8Text(fileBytes(file, { name: file, size: fs.statSync(file).size })))
    : reader === 'duckdb' ? (await readCsvFile(file))!
      : (await readSource({ uri: file }, { policy, connectionUrl: async () => undefined })).table;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const columnarBytes = table.columns.reduce((s, c) => s + (c.kind === 'number' ? c.values.byteLength : c.codes.byteLength), 0);
  const memory = process.memoryUsage();
  process.stdout.write(JSON.stringify({
    seconds, rows: table.rowCount, cols: table.columns.length,
    maxRssMB: process.resourceUsage().maxRSS / 1024, heapUsedMB: memory.heapUsed / 2 ** 20, arrayBuffersMB: memory.arrayBuffers / 2 ** 20, columnarMB: columnarBytes / 2 ** 20,
  }));
}

function ours(file: string, reader: string): any {
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--max-old-space-size=8192', __filename, '--measure', file, reader], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(run.stderr);
  return JSON.parse(run.stdout);
}

function python(code: string, file: string): any {
  const run = spawnSync('python3', ['-c', code, file], { encoding: 'utf8' });
  return run.status === 0 ? JSON.parse(run.stdout) : { error: run.stderr.trim().split('\n').pop() };
}

const PANDAS = `
import json, resource, sys, time
import pandas as pd
t = time.perf_counter(); df = pd.read_csv(sys.argv[1]); s = time.perf_counter() - t
print(json.dumps({"seconds": s, "rows": len(df), "maxRssMB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "version": pd.__version__}))
`;
const PYARROW = `
import json, resource, sys, time
import pyarrow, pyarrow.parquet as pq
t = time.perf_counter(); table = pq.read_table(sys.argv[1]); s = time.perf_counter() - t
print(json.dumps({"seconds": s, "rows": table.num_rows, "maxRssMB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "version": pyarrow.__version__}))
`;

const line = (name: string, r: any, rows: number) => (r.error ? `  ${name}: not run (${r.error})` : `  ${name.padEnd(34)} ${r.seconds.toFixed(2)} s, ${(rows / r.seconds / 1000).toFixed(0)}k rows/s, peak RSS ${r.maxRssMB.toFixed(0)} MiB${r.columnarMB ? ` (columns ${r.columnarMB.toFixed(0)} MiB)` : ''}`);

async function main(): Promise<void> {
  if (process.argv[2] === '--measure') {
    if (process.argv[4] === 'parquet-file') {
      const started = process.hrtime.bigint();
      const table = await readParquet(process.argv[3]);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      process.stdout.write(JSON.stringify({ seconds, rows: table.rowCount, maxRssMB: process.resourceUsage().maxRSS / 1024 }));
      return;
    }
    return measureOurs(process.argv[3], process.argv[4]);
  }
  const repr = process.argv.includes('--repr');
  const [rows, cols] = [Number(process.argv[2] ?? 1_000_000), Number(process.argv[3] ?? 30)].map((v, i) => (Number.isFinite(v) ? v : [1_000_000, 30][i]));
  const file = path.join(os.tmpdir(), `bench-ingest-${rows}x${cols}${repr ? '-repr' : ''}.csv`);
  makeCsv(file, rows, cols, repr);
  const parquetFile = `${file}.parquet`;
  if (!fs.existsSync(parquetFile)) await writeParquet((await readCsvStreamed(file)), parquetFile);
  const size = fs.statSync(file).size / 2 ** 20;
  console.log(`${rows} x ${cols} numeric${repr ? ' (shortest round-trip spellings, 16-17 digits)' : ' (4 decimals)'}: CSV ${size.toFixed(0)} MiB, Parquet (ZSTD) ${(fs.statSync(parquetFile).size / 2 ** 20).toFixed(0)} MiB; ${os.cpus().length} cores`);
  const local = ours(file, 'source');
  const duck = ours(file, 'duckdb');
  const streaming = ours(file, 'streaming');
  const pandas = python(PANDAS, file);
  console.log('CSV');
  console.log(line('ours, a local file (numeric reader)', local, rows));
  console.log(line('ours, DuckDB (other local files)', duck, rows));
  console.log(line('ours, streaming parser', streaming, rows));
  console.log(line(`pandas ${pandas.version ?? ''} read_csv`, pandas, rows));
  if (!pandas.error) console.log(`  ratio ours / pandas: ${(local.seconds / pandas.seconds).toFixed(2)}x; DuckDB path ${(duck.seconds / pandas.seconds).toFixed(2)}x; streaming parser ${(streaming.seconds / pandas.seconds).toFixed(2)}x`);
  if (repr) return;
  const parquet = ours(parquetFile, 'parquet-file');
  const arrow = python(PYARROW, parquetFile);
  console.log('Parquet');
  console.log(line('ours (DuckDB -> typed arrays)', parquet, rows));
  console.log(line(`pyarrow ${arrow.version ?? ''} read_table`, arrow, rows));
  if (!arrow.error) console.log(`  ratio ours / pyarrow: ${(parquet.seconds / arrow.seconds).toFixed(2)}x`);
}

async function readCsvStreamed(file: string) {
  return parseCsvStream(() => utf8Text(fileBytes(file, { name: file, size: fs.statSync(file).size })));
}

function makeCsv(file: string, rows: number, cols: number, repr: boolean): void {
  if (fs.existsSync(file)) return;
  const rng = createRng(7);
  const out = fs.openSync(file, 'w');
  fs.writeSync(out, Array.from({ length: cols }, (_, j) => `f${j}`).join(',') + '\n');
  let chunk: string[] = [];
  for (let i = 0; i < rows; i++) {
    chunk.push(Array.from({ length: cols }, () => (repr ? String(rng() * 1000 - 500) : (rng() * 1000 - 500).toFixed(4))).join(','));
    if (chunk.length === 10_000) { fs.writeSync(out, chunk.join('\n') + '\n'); chunk = []; }
  }
  if (chunk.length) fs.writeSync(out, chunk.join('\n') + '\n');
  fs.closeSync(out);
}

main().catch((err) => { console.error(err); process.exitCode = 1; });
