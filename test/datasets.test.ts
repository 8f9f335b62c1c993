/**
 * Dataset versions in Parquet: tables go to Parquet and back exactly (numbers bit for bit, missing
 * cells, text of any kind), a version's id is the same for the same data whatever format it came in,
 * only the rows and columns asked for are read, versions stored as CSV before Parquet still load, and a
 * damaged file is an error that names the version rather than wrong rows.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { datasetDigest } from '../src/datasets/canonical-digest';
import { duckdb, sqlString } from '../src/datasets/duckdb';
import { readParquet, writeParquet } from '../src/datasets/parquet-table';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SourceError } from '../src/ingest/source-error';
import { SourceRefused, sourcePolicy } from '../src/ingest/source-policy';
import { readSource, SourceContext, sourceWatermark } from '../src/ingest/sources';
import { parseCsv, toCanonicalCsv } from '../src/ml/csv';
import { createRng } from '../src/ml/random';
import type { Table } from '../src/ml/table';
import { ArtifactError, LocalArtifactStore } from '../src/store/artifacts';
import { DatasetNotFound, getDataset, loadDatasetTable, saveDataset, storeDatasetTable } from '../src/store/datasets';
import { createTestDatabase, TestDatabase } from './helpers/database';
import { testSources } from './helpers/sources';
import { S3TestServer, startS3Server } from './helpers/s3';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-datasets-'));

/** Every cell of two tables equal: numbers bit for bit (NaN as missing), text by value. */
function assertSameTable(actual: Table, expected: Table): void {
  assert.equal(actual.rowCount, expected.rowCount);
  assert.deepEqual(actual.columns.map((c) => [c.name, c.kind]), expected.columns.map((c) => [c.name, c.kind]));
  expected.columns.forEach((e, j) => {
    const a = actual.columns[j];
    for (let r = 0; r < expected.rowCount; r++) {
      if (e.kind === 'number' && a.kind === 'number') assert.ok(Object.is(a.values[r], e.values[r]) || (Number.isNaN(a.values[r]) && Number.isNaN(e.values[r])) || (a.values[r] === 0 && e.values[r] === 0), `${e.name}[${r}]: ${a.values[r]} vs ${e.values[r]}`);
      else if (e.kind === 'string' && a.kind === 'string') assert.equal(a.codes[r] < 0 ? null : a.dictionary[a.codes[r]], e.codes[r] < 0 ? null : e.dictionary[e.codes[r]], `${e.name}[${r}]`);
    }
  });
}

/** A table of `rows` rows: awkward numbers, missing cells, and text with quotes, commas, newlines and non-ASCII. */
function awkwardTable(rows: number): Table {
  const rng = createRng(3);
  const specials = [0, -0, 5e-324, 1.7976931348623157e308, -1e-300, 0.1 + 0.2, 123456789012345680, NaN];
  const words = ['a', 'b, with a comma', '"quoted"', 'line\nbreak', 'ünïcødé', '  padded  ', '日本語'];
  const lines = ['x,y,t'];
  for (let r = 0; r < rows; r++) {
    const x = r < specials.length ? specials[r] : (rng() - 0.5) * 10 ** Math.floor(rng() * 20 - 10);
    const y = rng() < 0.1 ? '' : String(Math.floor(rng() * 1000));
    const t = rng() < 0.1 ? '' : words[Math.floor(rng() * words.length)];
    lines.push(`${Number.isNaN(x) ? '' : String(x)},${y},"${t.trim().replace(/"/g, '""')}"`);
  }
  return parseCsv(lines.join('\n') + '\n');
}

describe('tables in Parquet', () => {
  it('go to Parquet and back exactly, across many DuckDB vectors', async () => {
    const table = awkwardTable(10_000);
    const file = path.join(dir, 'awkward.parquet');
    await writeParquet(table, file);
    assertSameTable(await readParquet(file), table);
    assert.equal(toCanonicalCsv(await readParquet(file)), toCanonicalCsv(table));
  });

  it('come back in the file\'s order, every time, from a file of many row groups read on every core', async () => {
    const file = path.join(dir, 'ordered.parquet');
    const connection = await duckdb();
    try {
      await connection.run(`COPY (SELECT i::DOUBLE AS i, 'v' || (i % 1000) AS t FROM range(300000) r(i)) TO ${sqlString(file)} (FORMAT parquet, ROW_GROUP_SIZE 2048)`);
    } finally {
      connection.closeSync();
    }
    for (let run = 0; run < 5; run++) {
      const table = await readParquet(file);
      const i = table.columns[0];
      assert.ok(i.kind === 'number');
      const firstOut = i.values.findIndex((v, r) => v !== r);
      assert.equal(firstOut, -1, `run ${run}: row ${firstOut} holds ${i.values[firstOut]}`);
      const part = (await readParquet(file, { offset: 250_000, limit: 10 })).columns[0];
      assert.ok(part.kind === 'number');
      assert.deepEqual([...part.values], Array.from({ length: 10 }, (_, k) => 250_000 + k));
    }
  });

  it('read only the columns and rows asked for', async () => {
    const table = awkwardTable(5_000);
    const file = path.join(dir, 'slice.parquet');
    await writeParquet(table, file);
    const part = await readParquet(file, { columns: ['t', 'x'], offset: 4_000, limit: 300 });
    assert.equal(part.rowCount, 300);
    assert.deepEqual(part.columns.map((c) => c.name), ['x', 't']);
    const x = part.columns[0];
    const original = table.columns[0];
    assert.ok(x.kind === 'number' && original.kind === 'number');
    for (let r = 0; r < 300; r++) assert.ok(Object.is(x.values[r], original.values[4_000 + r]) || (Number.isNaN(x.values[r]) && Number.isNaN(original.values[4_000 + r])));
    assert.equal((await readParquet(file, { offset: 4_990 })).rowCount, 10);
  });

  it('keep an empty table\'s columns', async () => {
    const empty = parseCsv('a,b\n');
    const file = path.join(dir, 'empty.parquet');
    await writeParquet(empty, file);
    const back = await readParquet(file);
    assert.equal(back.rowCount, 0);
    assert.deepEqual(back.columns.map((c) => c.name), ['a', 'b']);
  });
});

describe('a dataset version\'s id', () => {
  it('is the same for the same data from CSV, JSON Lines and Parquet', async () => {
    const csv = path.join(dir, 'same.csv');
    fs.writeFileSync(csv, 'age,plan,score\n31,basic,0.5\n,pro,1e3\n47,,-2\n');
    const jsonl = path.join(dir, 'same.jsonl');
    fs.writeFileSync(jsonl, '{"age":31,"plan":"basic","score":0.5}\n{"age":null,"plan":"pro","score":1000}\n{"age":47,"plan":null,"score":-2}\n');
    const parquet = path.join(dir, 'same.parquet');
    const connection = await duckdb();
    try {
      await connection.run(`COPY (SELECT * FROM read_csv(${sqlString(csv)}, header = true)) TO ${sqlString(parquet)} (FORMAT parquet)`);
    } finally {
      connection.closeSync();
    }
    const ids = await Promise.all([csv, jsonl, parquet].map(async (uri) => datasetDigest((await readSource({ uri }, testSources())).table)));
    assert.equal(new Set(ids).size, 1, JSON.stringify(ids));
  });

  it('does not depend on the order of a text column\'s dictionary, and changes with any cell', () => {
    const table = parseCsv('c,n\nb,1\na,2\nb,3\n');
    const text = table.columns[0];
    assert.ok(text.kind === 'string');
    const reordered: Table = { ...table, columns: [{ ...text, dictionary: ['a', 'b', 'unused'], codes: Int32Array.from(text.codes, (c) => (text.dictionary[c] === 'a' ? 0 : 1)) }, table.columns[1]] };
    assert.equal(datasetDigest(reordered), datasetDigest(table));
    for (const other of ['c,n\nb,1\na,2\nb,4\n', 'c,n\nb,1\nb,2\na,3\n', 'c,m\nb,1\na,2\nb,3\n', 'c,n\nb,1\na,2\n,3\n', 'c,n\nb,1\na,2\nb,\n']) {
      assert.notEqual(datasetDigest(parseCsv(other)), datasetDigest(table), other);
    }
    // a number and the same digits as text are different data
    assert.notEqual(datasetDigest(parseCsv('c\n1\n2\n')), datasetDigest(parseCsv('c\n1\nx\n')));
  });
});

describe('dataset versions in the store', () => {
  let db: TestDatabase;
  const artifacts = new LocalArtifactStore(path.join(dir, 'artifacts'));
  before(async () => { db = await createTestDatabase(); });
  after(async () => { await db?.close(); });

  it('are stored once as Parquet and read back whole or in part', async () => {
    const table = awkwardTable(3_000);
    const stored = await storeDatasetTable(db.pool, artifacts, table, { sourceUri: 'awkward.csv', sourceKind: 'file' });
    const again = await storeDatasetTable(db.pool, artifacts, table, { sourceUri: 'awkward-copy.csv', sourceKind: 'file' });
    assert.equal(again.datasetId, stored.datasetId);
    const version = (await getDataset(db.pool, stored.datasetId))!;
    assert.equal(version.storage.format, 'parquet');
    assert.notEqual(version.storage.digest, version.id);
    assert.equal(version.byteSize, fs.statSync(await artifacts.getFile(version.storage.digest)).size);
    assertSameTable(await loadDatasetTable(db.pool, artifacts, stored.datasetId), table);
    assert.equal((await loadDatasetTable(db.pool, artifacts, stored.datasetId, { columns: ['y'], limit: 10 })).columns.length, 1);
  });

  it('stored as canonical CSV before Parquet still load', async () => {
    const csv = 'a,b\n1,x\n2,\n';
    const digest = await artifacts.put(Buffer.from(csv));
    await saveDataset(db.pool, { id: digest, sourceUri: 'old.csv', sourceKind: 'file', rowCount: 2, columns: [{ name: 'a', type: 'number' }, { name: 'b', type: 'string' }], byteSize: csv.length, storage: { format: 'csv', digest }, statistics: [] });
    assert.equal(toCanonicalCsv(await loadDatasetTable(db.pool, artifacts, digest)), csv);
    assert.equal((await loadDatasetTable(db.pool, artifacts, digest, { offset: 1 })).rowCount, 1);
  });

  it('an unknown version or a damaged file is an error, never other rows', async () => {
    await assert.rejects(loadDatasetTable(db.pool, artifacts, 'f'.repeat(64)), DatasetNotFound);
    const stored = await storeDatasetTable(db.pool, artifacts, parseCsv('a\n1\n2\n3\n'), { sourceUri: 'damaged.csv', sourceKind: 'file' });
    const file = await artifacts.getFile((await getDataset(db.pool, stored.datasetId))!.storage.digest);
    fs.chmodSync(file, 0o644);
    fs.appendFileSync(file, 'x');
    await assert.rejects(loadDatasetTable(db.pool, artifacts, stored.datasetId), (err: Error) => err instanceof ArtifactError && /corrupted/.test(err.message));
  });
});

describe('local files read by DuckDB', () => {
  const ctx = testSources();
  const writeParquetFile = async (file: string, sql: string) => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const connection = await duckdb();
    try {
      await connection.run(`COPY (${sql}) TO ${sqlString(file)} (FORMAT parquet)`);
    } finally {
      connection.closeSync();
    }
  };

  it('a folder of Parquet files is one source, hive-style folders becoming columns, in a stable order', async () => {
    const folder = path.join(dir, 'sales');
    await writeParquetFile(path.join(folder, 'region=north', 'part-0.parquet'), 'SELECT 1 AS amount, \'a\' AS item UNION ALL SELECT 2, \'b\'');
    await writeParquetFile(path.join(folder, 'region=south', 'part-0.parquet'), 'SELECT 3 AS amount, \'c\' AS item');
    fs.writeFileSync(path.join(folder, 'README.txt'), 'not data');
    const { table } = await readSource({ uri: folder }, ctx);
    assert.equal(toCanonicalCsv(table), 'amount,item,region\n1,a,north\n2,b,north\n3,c,south\n');
    // the same folder read twice is the same dataset version
    assert.equal(datasetDigest((await readSource({ uri: folder, format: 'parquet' }, ctx)).table), datasetDigest(table));
  });

  it('a folder whose files differ in columns, a truncated file, an empty folder and a folder named as CSV are refused, naming the problem', async () => {
    const mixed = path.join(dir, 'mixed');
    await writeParquetFile(path.join(mixed, 'a.parquet'), 'SELECT 1 AS x');
    await writeParquetFile(path.join(mixed, 'b.parquet'), 'SELECT 1 AS x, 2 AS y');
    await assert.rejects(readSource({ uri: mixed }, ctx), /the files of a folder must have the same columns, but a\.parquet has \(x INTEGER\) and b\.parquet has \(x INTEGER, y INTEGER\)/);
    const broken = path.join(dir, 'broken');
    await writeParquetFile(path.join(broken, 'a.parquet'), 'SELECT 1 AS x');
    const whole = fs.readFileSync(path.join(broken, 'a.parquet'));
    fs.writeFileSync(path.join(broken, 'b.parquet'), whole.subarray(0, whole.length - 10));
    await assert.rejects(readSource({ uri: broken }, ctx), /b\.parquet is not a readable Parquet file/);
    fs.mkdirSync(path.join(dir, 'nothing'));
    await assert.rejects(readSource({ uri: path.join(dir, 'nothing') }, ctx), /is a folder with no \.parquet file in it/);
    await assert.rejects(readSource({ uri: mixed, format: 'csv' }, ctx), /data path is a folder: .*a folder is read as Parquet files/);
  });

  it('a symbolic link inside a folder is not followed out of the data root', async () => {
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-outside-'));
    await writeParquetFile(path.join(outside, 'secret.parquet'), 'SELECT \'s3cr3t\' AS x');
    const folder = path.join(dir, 'linked');
    await writeParquetFile(path.join(folder, 'own.parquet'), 'SELECT \'mine\' AS x');
    fs.symlinkSync(path.join(outside, 'secret.parquet'), path.join(folder, 'secret.parquet'));
    fs.symlinkSync(outside, path.join(folder, 'more'));
    const { table } = await readSource({ uri: folder }, ctx);
    assert.equal(toCanonicalCsv(table), 'x\nmine\n');
  });

  it('a CSV file reads into exactly the table the platform\'s own parser gives, and malformed files keep its errors', async () => {
    const cases: Record<string, string> = {
      mixed: 'a,b,c,d,e\n1,x , NA ,5,0x1A\n2, y,3,,7\n,"z, ""q""",?,7,8\n',
      underscores: 'a,b,c\n1,new_york,2\n1_000,x,3\n',
      quoted: 'id,note,amount\r\n1,"line one\nline two",0.5\r\n2,"naïve ""café""",1e3\r\n',
      zips: 'id,zip\n1,00042\n2,SW1A 1AA\n3,00007\n',
      padded: 'a,b\n 1 ,2\n NA ,3\n',
    };
    for (const [name, text] of Object.entries(cases)) {
      const file = path.join(dir, `${name}.csv`);
      fs.writeFileSync(file, text);
      assert.equal(toCanonicalCsv((await readSource({ uri: file }, ctx)).table), toCanonicalCsv(parseCsv(text)), name);
    }
    const malformed: [string, RegExp][] = [
      ['a,b\n1,2\n3\n', /malformed CSV: line 3 has 1 fields; the header has 2/],
      ['a,b\n1,"2\n', /the quoted field that opens on line 2 is never closed/],
      ['a,b\n1,2,3\n', /line 2 has 3 fields; the header has 2/],
      ['a,a\n1,2\n', /CSV header repeats the column name "a"/],
    ];
    for (const [text, error] of malformed) {
      const file = path.join(dir, 'malformed.csv');
      fs.writeFileSync(file, text);
      await assert.rejects(readSource({ uri: file }, ctx), error);
    }
    const latin = path.join(dir, 'latin.csv');
    fs.writeFileSync(latin, Buffer.from('a,b\n1,caf\xe9\n', 'latin1'));
    await assert.rejects(readSource({ uri: latin }, ctx), /is not valid UTF-8 text/);
  });
});

describe('objects in S3-compatible storage (a real S3 server: moto)', () => {
  let s3: S3TestServer;
  let client: S3Client;
  let ctx: SourceContext;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-s3-source-'));
  before(async () => {
    s3 = await startS3Server();
    for (const bucket of ['lake', 'private', 'platform-artifacts']) await s3.createBucket(bucket);
    client = new S3Client({ region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true, credentials: s3.credentials });
    const put = (bucket: string, key: string, body: Buffer | string) => client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    await put('lake', 'sales/2026.csv', 'amount,item\n1,a\n2,b\n');
    const parquet = path.join(dir, 's3.parquet');
    await writeParquet(parseCsv('amount,item\n1,a\n2,b\n'), parquet);
    await put('lake', 'sales/2026.parquet', fs.readFileSync(parquet));
    await put('private', 'secret.csv', 'a,b\n1,2\n');
    await put('platform-artifacts', 'sha256/ab/x', 'a,b\n1,2\n');
    ctx = {
      policy: sourcePolicy({ dataRoots: [dir], dataDir, urlAllow: [], s3: { buckets: ['lake', 'platform-artifacts'], artifactBucket: 'platform-artifacts', endpoint: s3.endpoint, region: 'us-east-1', credentials: s3.credentials } }),
      connectionUrl: async () => undefined,
    };
  });
  after(async () => {
    client?.destroy();
    await s3?.stop();
  });

  it('reads a CSV and a Parquet object into the same dataset version, and fingerprints them for new data', async () => {
    const fromCsv = await readSource({ uri: 's3://lake/sales/2026.csv' }, ctx);
    const fromParquet = await readSource({ uri: 's3://lake/sales/2026.parquet' }, ctx);
    assert.equal(fromCsv.kind, 's3');
    assert.equal(datasetDigest(fromCsv.table), datasetDigest(fromParquet.table));
    assert.equal(toCanonicalCsv(fromCsv.table), 'amount,item\n1,a\n2,b\n');
    assert.match(await sourceWatermark({ uri: 's3://lake/sales/2026.csv' }, ctx) ?? '', /^s3:/);
    assert.deepEqual(fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('mlops-s3-download-')), [], 'the downloads are removed');
  });

  it('refuses buckets not listed, the artifact bucket even when listed, and says when an object is missing', async () => {
    await assert.rejects(readSource({ uri: 's3://private/secret.csv' }, ctx), (e: Error) => e instanceof SourceRefused && e.setting === 'MLOPS_S3_SOURCE_BUCKETS' && /bucket "private" is not one data sources may read/.test(e.message));
    await assert.rejects(readSource({ uri: 's3://platform-artifacts/sha256/ab/x' }, ctx), /holds the platform's artifacts and is never a data source/);
    await assert.rejects(readSource({ uri: 's3://lake/' }, ctx), /is not an S3 object URI/);
    await assert.rejects(readSource({ uri: 's3://lake/nope.csv' }, ctx), (e: Error) => e instanceof SourceError && !e.retryable && /does not exist/.test(e.message));
    const none = { ...ctx, policy: { ...ctx.policy, s3: undefined } };
    await assert.rejects(readSource({ uri: 's3://lake/sales/2026.csv' }, none), /an admin lists it in MLOPS_S3_SOURCE_BUCKETS/);
  });
});
