import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { createPipelineActivities } from '../src/activities';
import { Readable } from 'node:stream';
import { SourceError } from '../src/ingest/source-error';
import { saveDownload } from '../src/ingest/transports/save-download';
import { withShownSource } from '../src/usecases/catalog';
import { readSource, redactUri } from '../src/ingest/sources';
import { parseCsv, parseCsvStream, toCanonicalCsv } from '../src/ml/csv';
import { parseJsonLines, parseJsonLinesStream } from '../src/ml/jsonl';
import { createRng } from '../src/ml/random';
import { LocalArtifactStore } from '../src/store/artifacts';
import { getDataset } from '../src/store/datasets';
import { createTestDatabase, TestDatabase } from './helpers/database';
import { testSources } from './helpers/sources';
import { createRepositories } from '../src/store/repositories';

const CSV = 'a,b,label\n1,x,yes\n2,y,no\n3.5,,yes\n';

/**
 * A CSV larger than several 1 MiB read chunks, with what chunk edges can break: quoted fields holding
 * line breaks and quotes, multi-byte characters, CRLF line ends, and a column that turns from numbers
 * to text only near the end (its early cells keep their spelling, e.g. "007").
 */
function awkwardCsv(rows: number): string {
  const lines = ['id,zip,note,amount'];
  for (let i = 0; i < rows; i++) {
    const zip = i === rows - 3 ? 'SW1A 1AA' : String(i % 1000).padStart(5, '0');
    const note = i % 7 === 0 ? `"line one\nline two, with ""quotes"" ${i}"` : i % 5 === 0 ? `naïve café ✓ ${i}` : `plain ${i}`;
    lines.push(`${i},${zip},${note},${(i * 0.37).toFixed(2)}`);
  }
  return lines.join('\r\n') + '\r\n';
}

async function* chunked(text: string, rng: () => number): AsyncIterable<string> {
  for (let i = 0; i < text.length;) {
    const size = 1 + Math.floor(rng() * 200);
    yield text.slice(i, i + size);
    i += size;
  }
}

describe('data sources and ingestion', () => {
  let db: TestDatabase;
  let warehouse: TestDatabase;
  let server: http.Server;
  let base: string;
  let dir: string;
  let statusFor500 = 500;
  let largeCsv = '';
  // loopback is allowed for this file's own server; the source database is a plain one, not the platform's
  let ctx: ReturnType<typeof testSources>;

  before(async () => {
    db = await createTestDatabase();
    warehouse = await createTestDatabase(undefined, { migrate: false });
    ctx = testSources({ urlAllow: ['127.0.0.1'], connections: { warehouse: warehouse.url, platform: db.url } });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-sources-'));
    fs.writeFileSync(path.join(dir, 'data.csv'), CSV);
    // the same table, spelled differently: CRLF, quotes, a trailing zero
    fs.writeFileSync(path.join(dir, 'same.csv'), 'a,b,label\r\n1.0,"x",yes\r\n2,y,no\r\n3.5,NA,yes\r\n');
    fs.writeFileSync(path.join(dir, 'broken.csv'), 'a,b\n1,2,3\n');
    fs.writeFileSync(path.join(dir, 'latin1.csv'), Buffer.from('name,y\nJos\xe9,1\n', 'latin1'));
    fs.writeFileSync(path.join(dir, 'bom.csv'), '\ufeffa,label\n1,yes\n');
    fs.writeFileSync(path.join(dir, 'quote.csv'), 'a,b\n1,"unterminated\n');
    fs.writeFileSync(path.join(dir, 'data.jsonl'), '{"a": 1, "b": "x", "label": "yes"}\n{"a": 2, "b": "y", "label": "no"}\n\n{"label": "yes", "a": 3.5, "b": null}\n');
    fs.writeFileSync(path.join(dir, 'nested.jsonl'), '{"a": 1}\n{"a": {"deep": true}}\n');
    server = http.createServer((req, res) => {
      if (req.url === '/data.csv') { res.writeHead(200); res.end(CSV); return; }
      if (req.url === '/large.csv') { res.writeHead(200); res.end(largeCsv); return; }
      if (req.url === '/flaky.csv') { res.writeHead(statusFor500); res.end(); return; }
      if (req.url === '/api/customers?page=1') { res.writeHead(200, { 'content-type': 'application/json' }); res.end(JSON.stringify({ items: [{ a: 1, b: 'x', label: 'yes' }], next: '/api/customers?page=2' })); return; }
      if (req.url === '/api/customers?page=2') { res.writeHead(200, { link: '</api/customers?page=3>; rel="next"' }); res.end(JSON.stringify([{ a: 2, b: 'y', label: 'no' }])); return; }
      if (req.url === '/api/customers?page=3') { res.writeHead(200); res.end(JSON.stringify({ data: [{ label: 'yes', a: 3.5, b: null }] })); return; }
      if (req.url === '/api/loop') { res.writeHead(200); res.end(JSON.stringify({ items: [{ a: 1 }], next: '/api/loop' })); return; }
      if (req.url === '/api/broken') { res.writeHead(200); res.end('{"items": [ '); return; }
      res.writeHead(404); res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    await warehouse.pool.query('CREATE TABLE customers (age integer, plan text, spend numeric, churned boolean)');
    await warehouse.pool.query("INSERT INTO customers VALUES (31, 'pro', 12.5, true), (45, 'free', 0, false), (NULL, 'pro', 3.25, false)");
  });
  after(async () => {
    server.close();
    await db.close();
    await warehouse.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reads CSV from a path, a file:// URL and http', async () => {
    for (const uri of [path.join(dir, 'data.csv'), `file://${path.join(dir, 'data.csv')}`, `${base}/data.csv`]) {
      const { table } = await readSource({ uri }, ctx);
      assert.equal(table.rowCount, 3);
      assert.deepEqual(table.columns.map((c) => `${c.name}:${c.kind}`), ['a:number', 'b:string', 'label:string']);
    }
  });

  it('reads the rows of a PostgreSQL query, typing columns like CSV', async () => {
    const { kind, table } = await readSource({ connection: 'warehouse', query: 'SELECT age, plan, spend, churned FROM customers ORDER BY spend DESC' }, ctx);
    assert.equal(kind, 'postgres');
    assert.equal(table.rowCount, 3);
    assert.deepEqual(table.columns.map((c) => `${c.name}:${c.kind}`), ['age:number', 'plan:string', 'spend:number', 'churned:string']);
    const age = table.columns[0];
    assert.ok(age.kind === 'number' && age.values[0] === 31 && Number.isNaN(age.values[1]) && age.values[2] === 45);
  });

  it('fetches a large query result in cursor batches, reporting progress after each', async () => {
    const progress: number[] = [];
    const { table } = await readSource({ connection: 'warehouse', query: 'SELECT g AS id, g % 7 AS bucket, (g % 2)::text AS flag FROM generate_series(1, 25000) AS g' }, ctx, (p) => { if (p.rows !== undefined) progress.push(p.rows); });
    assert.equal(table.rowCount, 25_000);
    assert.deepEqual(progress, [10_000, 20_000, 25_000]);
    const id = table.columns[0];
    assert.ok(id.kind === 'number' && id.values[0] === 1 && id.values[24_999] === 25_000);
  });

  it('says whether a failed source is worth retrying', async () => {
    await assert.rejects(readSource({ uri: path.join(dir, 'nope.csv') }, ctx), (e: SourceError) => e.retryable === false && /not found/.test(e.message));
    await assert.rejects(readSource({ uri: `${base}/missing.csv` }, ctx), (e: SourceError) => e.retryable === false && /HTTP 404/.test(e.message));
    await assert.rejects(readSource({ uri: `${base}/flaky.csv` }, ctx), (e: SourceError) => e.retryable === true && /HTTP 500/.test(e.message));
    await assert.rejects(readSource({ connection: 'warehouse', query: ' ' }, ctx), /needs a SQL "query"/);
    await assert.rejects(readSource({ connection: 'warehouse', query: 'SELECT * FROM no_such_table' }, ctx), (e: SourceError) => !e.retryable && /query failed/.test(e.message));
    await assert.rejects(readSource({ connection: 'nobody', query: 'SELECT 1' }, ctx), (e: SourceError) => !e.retryable && /no connection is named "nobody"/.test(e.message));
  });

  it('reads JSON Lines into the same table and content address as the equivalent CSV', async () => {
    const { table } = await readSource({ uri: path.join(dir, 'data.jsonl') }, ctx);
    assert.equal(toCanonicalCsv(table), CSV);
    await assert.rejects(readSource({ uri: path.join(dir, 'nested.jsonl') }, ctx), /line 2, field "a" holds a nested object/);
  });

  it('reads a paged JSON API page by page, by body links and Link headers, into the same table', async () => {
    const progress: number[] = [];
    const { table } = await readSource({ uri: `${base}/api/customers?page=1`, format: 'json' }, ctx, (p) => { if (p.rows !== undefined) progress.push(p.rows); });
    assert.equal(toCanonicalCsv(table), CSV);
    assert.deepEqual(progress, [1, 2, 3]);
    await assert.rejects(readSource({ uri: `${base}/api/loop`, format: 'json' }, ctx), /loops back to/);
    await assert.rejects(readSource({ uri: `${base}/api/broken`, format: 'json' }, ctx), /page 1 of .* is not valid JSON/);
    fs.writeFileSync(path.join(dir, 'records.json'), JSON.stringify({ records: [{ a: 1, b: 'x', label: 'yes' }, { a: 2, b: 'y', label: 'no' }, { a: 3.5, label: 'yes' }] }));
    assert.equal(toCanonicalCsv((await readSource({ uri: path.join(dir, 'records.json') }, ctx)).table), CSV);
  });

  it('reads a byte-order mark as nothing and refuses other encodings and broken quoting clearly', async () => {
    const { table } = await readSource({ uri: path.join(dir, 'bom.csv') }, ctx);
    assert.deepEqual(table.columns.map((c) => c.name), ['a', 'label']);
    await assert.rejects(readSource({ uri: path.join(dir, 'latin1.csv') }, ctx), /latin1\.csv is not valid UTF-8 text/);
    await assert.rejects(readSource({ uri: path.join(dir, 'quote.csv') }, ctx), /malformed CSV: .*[Qq]uote/);
  });

  it('streams CSV and JSON Lines cut at any point into the same table as a whole read', async () => {
    const text = awkwardCsv(300);
    const whole = parseCsv(text);
    assert.equal(whole.rowCount, 300);
    const zip = whole.columns[1];
    assert.ok(zip.kind === 'string' && zip.dictionary.includes('00007'), 'early cells keep their spelling after the column turns to text');
    for (const seed of [1, 2, 3]) {
      const rng = createRng(seed);
      assert.deepEqual(await parseCsvStream(() => chunked(text, rng)), whole, `chunking ${seed}`);
    }
    const jsonl = Array.from({ length: 50 }, (_, i) => JSON.stringify({ id: i, note: `é ${i}`, ...(i > 40 ? { late: 'x' } : {}) })).join('\r\n');
    assert.deepEqual(await parseJsonLinesStream(chunked(jsonl, createRng(4))), parseJsonLines(jsonl));
    await assert.rejects(parseCsvStream(() => chunked('a,b\n1,"never closed\n2,3\n', createRng(5))), /quoted field that opens on line 2 is never closed/);
  });

  it('reads a file larger than its read chunks, from disk and over http, without holding its text', async () => {
    const text = awkwardCsv(60_000); // about 2.5 MiB: three 1 MiB chunks
    assert.ok(Buffer.byteLength(text) > 2 * 1024 * 1024);
    const file = path.join(dir, 'large.csv');
    fs.writeFileSync(file, text);
    largeCsv = text;
    const expected = parseCsv(text);
    const progress: number[] = [];
    // a local file is read by DuckDB, which reports the rows at the end; a download reports its bytes as they arrive
    const rows: number[] = [];
    const fromFile = await readSource({ uri: file }, ctx, (p) => { if (p.rows !== undefined) rows.push(p.rows); });
    assert.deepEqual(fromFile.table, expected);
    assert.deepEqual(rows, [60_000]);
    assert.deepEqual((await readSource({ uri: `${base}/large.csv` }, ctx, (p) => { if (p.bytes !== undefined) progress.push(p.bytes); })).table, expected);
    assert.ok(progress.length >= 3 && progress.at(-1) === Buffer.byteLength(text), `progress ${progress}`);
    assert.deepEqual(fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('mlops-download-')), [], 'the downloaded copy is removed');
  });

  it('a download that never ends stops before it fills the disk, as a failure no retry mends', async () => {
    // a source that streams for ever; the disk is "full" 32 MiB from now (the reserve set just below the free space)
    const forever = new Readable({ read() { this.push(Buffer.alloc(1 << 20, 7)); } });
    const free = (await fs.promises.statfs(os.tmpdir())).bavail * (await fs.promises.statfs(os.tmpdir())).bsize;
    const file = path.join(os.tmpdir(), `mlops-endless-${process.pid}`);
    try {
      await assert.rejects(saveDownload(forever, file, 'https://example.com/endless.csv', { keepFreeBytes: free - 32 * 2 ** 20 }), (err: unknown) => {
        assert.ok(err instanceof SourceError && !err.retryable, String(err));
        assert.match(err.message, /https:\/\/example\.com\/endless\.csv was still coming after \d+ bytes, and the worker's disk has \d+ bytes free: a download stops before the last/);
        return true;
      });
      assert.ok(fs.statSync(file).size < 256 * 2 ** 20, 'it stopped near the reserve, not at the end of the disk');
    } finally {
      fs.rmSync(file, { force: true });
    }
  });

  it('never stores a password from a source URI', () => {
    assert.equal(redactUri('postgres://user:secret@db:5432/x'), 'postgres://user:***@db:5432/x');
    // credentials in the query: presigned S3 and GCS URLs, API tokens; other parameters stay as they are
    assert.equal(
      redactUri('https://bucket.s3.amazonaws.com/d.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20261205&X-Amz-Signature=abc123&X-Amz-Security-Token=tok&day=3'),
      'https://bucket.s3.amazonaws.com/d.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=***&X-Amz-Signature=***&X-Amz-Security-Token=***&day=3',
    );
    assert.equal(redactUri('https://api.example.com/rows?api_key=k1&page=2&access_token=t2'), 'https://api.example.com/rows?api_key=***&page=2&access_token=***');
    assert.equal(redactUri('https://storage.googleapis.com/b/o?GoogleAccessId=x&Expires=1&Signature=s'), 'https://storage.googleapis.com/b/o?GoogleAccessId=x&Expires=1&Signature=***');
    // a version's pipeline input, as GET /v1/models/:name/versions/:v shows it (the stored one keeps the URI: retraining reads it)
    const input = { model: 'm', target: 'y', data: { uri: 'https://api.example.com/rows.csv?token=t1&day=3', format: 'csv' } };
    assert.deepEqual(withShownSource(input).data, { uri: 'https://api.example.com/rows.csv?token=***&day=3', format: 'csv' });
    assert.equal(input.data.uri, 'https://api.example.com/rows.csv?token=t1&day=3', 'the stored input is not changed');
    assert.deepEqual(withShownSource({ model: 'm', data: { dataset: 'abc' } }), { model: 'm', data: { dataset: 'abc' } });
  });

  it('stores identical content once, however it was spelled or fetched', async () => {
    const artifacts = new LocalArtifactStore(path.join(dir, 'artifacts'));
    const activities = createPipelineActivities({ pool: db.pool, repos: createRepositories(db.pool), artifacts, sources: ctx });
    const env = new MockActivityEnvironment();
    type Ingested = Awaited<ReturnType<typeof activities.ingestDataset>>;
    const a = (await env.run(activities.ingestDataset, { uri: path.join(dir, 'data.csv') })) as Ingested;
    const b = (await env.run(activities.ingestDataset, { uri: path.join(dir, 'same.csv') })) as Ingested;
    const c = (await env.run(activities.ingestDataset, { uri: `${base}/data.csv` })) as Ingested;
    assert.equal(a.datasetId, b.datasetId);
    assert.equal(a.datasetId, c.datasetId);
    assert.equal((await getDataset(db.pool, a.datasetId))?.rowCount, 3);
    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM datasets');
    assert.equal(rows[0].n, 1);
  });

  it('turns unreadable and malformed data into non-retryable failures', async () => {
    const activities = createPipelineActivities({ pool: db.pool, repos: createRepositories(db.pool), artifacts: new LocalArtifactStore(path.join(dir, 'artifacts')), sources: ctx });
    const env = new MockActivityEnvironment();
    await assert.rejects(env.run(activities.ingestDataset, { uri: path.join(dir, 'broken.csv') }), (e: ApplicationFailure) => e.type === 'DataFormatError' && e.nonRetryable);
    await assert.rejects(env.run(activities.ingestDataset, { uri: `${base}/missing.csv` }), (e: ApplicationFailure) => e.type === 'DataSourceError' && e.nonRetryable);
    statusFor500 = 503;
    await assert.rejects(env.run(activities.ingestDataset, { uri: `${base}/flaky.csv` }), (e: Error) => !(e instanceof ApplicationFailure) && /HTTP 503/.test(e.message));
  });
});
