/**
 * Data formats: the registry every format name derives from, and Parquet (the binary format) read from
 * real files under the data roots, over HTTP and as uploads through a running stack, into the same
 * tables and dataset versions as the same data in CSV. Malformed files fail clearly and save nothing.
 */
import assert from 'node:assert/strict';
import { DuckDBInstance } from '@duckdb/node-api';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { jsonSchemaOf } from '../src/api/openapi-json-schema';
import { buildOpenApiDocument } from '../src/api/openapi';
import { dataSourceSchema } from '../src/api/pipeline-requests';
import { datasetUploadedSchema } from '../src/api/response-schemas';
import { FORMAT_NAMES, FORMATS, formatOf, formatOfMediaType } from '../src/ingest/formats';
import { parquet } from '../src/ingest/formats/parquet';
import { fileBytes, readWhole } from '../src/ingest/byte-source';
import { SourceError } from '../src/ingest/source-error';
import { readSource } from '../src/ingest/sources';
import { httpTransport } from '../src/ingest/transports/http';
import { parseCsv } from '../src/ml/csv';
import { DataFormatError, Table } from '../src/ml/table';
import { ADMIN_AUTH, ApiStack, startApiStack } from './helpers/api-stack';
import { BREAST_CANCER } from './helpers/pipeline-env';
import { testSources } from './helpers/sources';

type Cell = string | number | bigint | boolean | null;
type ColumnData = { name: string; data: Cell[]; type?: string };

/** A Parquet file's bytes, written by hyparquet-writer (an ES module, hence import()). */
async function parquetBytes(columnData: ColumnData[], o: { rowGroupSize?: number; codec?: string } = {}): Promise<Buffer> {
  const { parquetWriteBuffer } = await import('hyparquet-writer');
  const compressors = { GZIP: (input: Uint8Array) => zlib.gzipSync(input) };
  return Buffer.from(parquetWriteBuffer({ columnData, ...o, compressors } as Parameters<typeof parquetWriteBuffer>[0]));
}

/** The same columns as CSV text, cells spelled as a spreadsheet would (null is an empty cell). */
function csvOf(columns: ColumnData[]): string {
  const quote = (v: Cell) => (v === null ? '' : /[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));
  const rows = columns[0].data.map((_, i) => columns.map((c) => quote(c.data[i])).join(','));
  return [columns.map((c) => c.name).join(','), ...rows].join('\n') + '\n';
}

/** The breast cancer data as Parquet: numbers as doubles, the label as strings. */
async function cancerParquet(): Promise<Buffer> {
  const table = parseCsv(fs.readFileSync(BREAST_CANCER, 'utf8'));
  return parquetBytes(table.columns.map((c) => (c.kind === 'number'
    ? { name: c.name, data: Array.from(c.values, (v) => (Number.isNaN(v) ? null : v)), type: 'DOUBLE' }
    : { name: c.name, data: Array.from(c.codes, (k) => (k < 0 ? null : c.dictionary[k])), type: 'STRING' })));
}

/**
 * Columns with what typing can trip on: integers (also 64-bit), doubles with nulls, booleans, text that
 * reads as numbers until a late row group (its early cells keep their spelling, "00007"), and text
 * with commas and quotes.
 */
function awkwardColumns(rows: number): ColumnData[] {
  const at = (f: (i: number) => Cell) => Array.from({ length: rows }, (_, i) => f(i));
  return [
    { name: 'id', data: at((i) => i), type: 'INT32' },
    { name: 'big', data: at((i) => BigInt(i) * 1_000_000_007n), type: 'INT64' },
    { name: 'amount', data: at((i) => (i % 9 === 0 ? null : i * 0.37)), type: 'DOUBLE' },
    { name: 'flag', data: at((i) => (i % 5 === 0 ? null : i % 2 === 0)), type: 'BOOLEAN' },
    { name: 'zip', data: at((i) => (i === rows - 3 ? 'SW1A 1AA' : String(i % 1000).padStart(5, '0'))), type: 'STRING' },
    { name: 'note', data: at((i) => (i % 7 === 0 ? `says "hi", ${i}` : i % 11 === 0 ? null : `plain ${i}`)), type: 'STRING' },
  ];
}

describe('the format registry', () => {
  it('names each format once; extensions and content types choose at most one', () => {
    assert.deepEqual(FORMAT_NAMES, FORMATS.map((f) => f.name));
    for (const key of ['name', 'extensions', 'mediaTypes'] as const) {
      const all = FORMATS.flatMap((f) => f[key]);
      assert.equal(new Set(all).size, all.length, key);
    }
    for (const f of FORMATS) for (const type of f.mediaTypes) assert.equal(formatOfMediaType(`${type.toUpperCase()}; charset=utf-8`), f);
    assert.equal(formatOfMediaType('application/pdf'), undefined);
  });

  it('infers the format from the extension, ignoring case, query and fragment; CSV otherwise', () => {
    for (const f of FORMATS) for (const extension of f.extensions) {
      assert.equal(formatOf(`/data/export${extension.toUpperCase()}`), f);
      assert.equal(formatOf(`https://example.com/export${extension}?page=2#top`), f);
    }
    assert.equal(formatOf('/data/customers.json.csv').name, 'csv');
    assert.equal(formatOf('https://example.com/export?id=7').name, 'csv');
    assert.equal(formatOf('/data/no-extension').name, 'csv');
  });

  it('refuses an unknown format in a pipeline request, naming the known ones', () => {
    const parsed = dataSourceSchema.safeParse({ uri: '/data/x.xlsx', format: 'xlsx' });
    assert.ok(!parsed.success);
    assert.match(parsed.error.issues[0].message, new RegExp(`"xlsx" is not a known format; known: ${FORMAT_NAMES.join(', ')}`));
    for (const format of FORMAT_NAMES) assert.ok(dataSourceSchema.safeParse({ uri: '/data/x', format }).success, format);
  });

  it('documents the formats in OpenAPI from the registry: request enum, upload parameter and types, upload answer', () => {
    const request = jsonSchemaOf(dataSourceSchema) as { properties: { format: { enum: string[] } } };
    assert.deepEqual(request.properties.format.enum, FORMAT_NAMES);
    assert.deepEqual((jsonSchemaOf(datasetUploadedSchema, 'output') as { properties: { format: { enum: string[] } } }).properties.format.enum, FORMAT_NAMES);
    const upload = (buildOpenApiDocument() as any).paths['/v1/datasets'].post;
    assert.deepEqual(upload.parameters.find((p: { name: string }) => p.name === 'format').schema.enum, FORMAT_NAMES);
    for (const type of FORMATS.flatMap((f) => f.mediaTypes)) assert.ok(type in upload.requestBody.content, type);
  });
});

describe('Parquet', () => {
  let dir: string;
  let server: http.Server;
  let base: string;
  const served: Record<string, Buffer> = {};
  const ctx = testSources({ urlAllow: ['127.0.0.1'] });
  const write = (name: string, bytes: Buffer | string) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, bytes);
    return file;
  };
  const read = async (uri: string, format?: 'parquet'): Promise<Table> => (await readSource({ uri, ...(format ? { format } : {}) }, ctx)).table;
  const refusedAs = (pattern: RegExp) => (e: Error) => e instanceof DataFormatError && pattern.test(e.message);

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-parquet-'));
    server = http.createServer((req, res) => {
      const body = served[req.url ?? ''];
      res.writeHead(body ? 200 : 404, { 'content-type': 'application/octet-stream' });
      res.end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(() => {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reads into the same table as the same data in CSV, across row groups, from a file and over http', async () => {
    const columns = awkwardColumns(250);
    const bytes = await parquetBytes(columns, { rowGroupSize: 100 });
    const fromCsv = await read(write('same.csv', csvOf(columns)));
    const fromParquet = await read(write('same.parquet', bytes));
    assert.deepEqual(fromParquet, fromCsv);
    assert.deepEqual(fromParquet.columns.map((c) => `${c.name}:${c.kind}`), ['id:number', 'big:number', 'amount:number', 'flag:string', 'zip:string', 'note:string']);
    const zip = fromParquet.columns[4];
    assert.ok(zip.kind === 'string' && zip.dictionary.includes('00007'), 'early cells keep their spelling after the column turns to text');
    // by extension, and by name where the URL has none
    served['/same.parquet'] = bytes;
    served['/export?id=7'] = bytes;
    assert.deepEqual(await read(`${base}/same.parquet`), fromCsv);
    assert.deepEqual(await read(`${base}/export?id=7`, 'parquet'), fromCsv);
    assert.deepEqual(fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('mlops-download-')), [], 'the downloads are removed');
  });

  it('refuses truncated, corrupt and non-Parquet files with a message naming the file', async () => {
    const bytes = await parquetBytes(awkwardColumns(50));
    await assert.rejects(read(write('truncated.parquet', bytes.subarray(0, bytes.length - 20))), refusedAs(/truncated\.parquet is not a readable Parquet file/));
    await assert.rejects(read(write('empty.parquet', Buffer.alloc(0))), refusedAs(/empty\.parquet is not a readable Parquet file/));
    await assert.rejects(read(write('csv.parquet', 'a,b\n1,2\n')), refusedAs(/csv\.parquet is not a readable Parquet file/));
    const corrupt = Buffer.from(bytes);
    for (let i = 8; i < corrupt.length - 200; i++) corrupt[i] = (i * 131) & 255;
    await assert.rejects(read(write('corrupt.parquet', corrupt)), refusedAs(/corrupt\.parquet (is not a readable Parquet file|holds)/));
  });

  it('refuses column types a table cannot hold, naming the column', async () => {
    const cases: [ColumnData, RegExp][] = [
      [{ name: 'signed_up', data: [new Date(0) as unknown as Cell, null], type: 'TIMESTAMP' }, /column "signed_up" is of type TIMESTAMP/],
      [{ name: 'payload', data: [{ a: 1 } as unknown as Cell, null], type: 'JSON' }, /column "payload" is of type JSON/],
    ];
    for (const [column, pattern] of cases) {
      const file = write(`${column.name}.parquet`, await parquetBytes([{ name: 'id', data: [1, 2], type: 'INT32' }, column]));
      await assert.rejects(read(file), refusedAs(pattern));
    }
    const binary = write('binary.parquet', await parquetBytes([{ name: 'blob', data: [new Uint8Array([0x4a, 0xe9]) as unknown as Cell], type: 'BYTE_ARRAY' }]));
    await assert.rejects(read(binary), refusedAs(/binary\.parquet holds text that is not valid UTF-8/));
    // GZIP: a local file is read by DuckDB, which takes every codec; bytes held in memory (an upload) by hyparquet, which does not
    const gzip = write('gzip.parquet', await parquetBytes([{ name: 'id', data: [1, 2], type: 'INT32' }], { codec: 'GZIP' }));
    assert.deepEqual(await read(gzip), { rowCount: 2, columns: [{ name: 'id', kind: 'number', values: new Float64Array([1, 2]) }] });
    const inMemory = { ...fileBytes(gzip, { name: 'gzip.parquet', size: fs.statSync(gzip).size }), localPath: undefined };
    await assert.rejects(parquet.parse(inMemory), refusedAs(/gzip\.parquet is compressed with GZIP; Parquet is read uncompressed or compressed with Snappy/));
  });

  it('is read whole only up to its limit: a file is refused by its size, a download as soon as it passes it', async () => {
    const bytes = await parquetBytes(awkwardColumns(50));
    const file = write('limit.parquet', bytes);
    await assert.rejects(readWhole(fileBytes(file, { name: 'limit.parquet', size: bytes.length }), 100), refusedAs(/limit\.parquet is \d+ bytes; its format is read whole, at most 100 bytes/));
    served['/limit.parquet'] = bytes;
    await assert.rejects(httpTransport.open(`${base}/limit.parquet`, ctx.policy, { maxBytes: 100 }), (e: SourceError) => !e.retryable && /larger than 100 bytes/.test(e.message));
    assert.deepEqual(fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('mlops-download-')), [], 'the partial download is removed');
  });
});

describe('Parquet through the API', () => {
  let stack: ApiStack;
  const upload = async (body: Buffer | string, query: string, type = 'application/vnd.apache.parquet') => {
    const response = await fetch(`${stack.api.url}/v1/datasets${query}`, { method: 'POST', headers: { ...ADMIN_AUTH, 'content-type': type }, body });
    return { status: response.status, body: (await response.json()) as any };
  };
  const datasets = async () => Number((await stack.stores.pool.query('SELECT count(*) FROM datasets')).rows[0].count);
  const start = (model: string, data: unknown) =>
    stack.call('POST', '/v1/pipelines', { model, data, target: 'diagnosis', approval: { mode: 'auto', thresholds: { auc: 0.5 } } });

  before(async () => {
    stack = await startApiStack({ env: { MLOPS_TASK_QUEUE: 'formats' } });
  });
  after(async () => {
    await stack.close();
  });

  it('an upload and a file under a data root train and deploy, as the same dataset version as the CSV', async () => {
    const bytes = await cancerParquet();
    const uploaded = await upload(bytes, '?name=cancer');
    assert.equal(uploaded.status, 201, JSON.stringify(uploaded.body));
    assert.equal(uploaded.body.format, 'parquet');
    assert.equal(uploaded.body.rowCount, 569);
    const asCsv = await upload(fs.readFileSync(BREAST_CANCER), '', 'text/csv');
    assert.equal(asCsv.body.id, uploaded.body.id, 'the same rows are the same dataset version, whatever their format');
    const file = path.join(stack.files, 'cancer.parquet');
    fs.writeFileSync(file, bytes);
    const run = await start('cancer-parquet', { uri: file });
    assert.equal(run.status, 202, JSON.stringify(run.body));
    const done = await stack.waitRun(run.body.id, ['deployed']);
    assert.equal(done.datasetId, uploaded.body.id);
  });

  it('a malformed or unsupported Parquet file is a 400 or a failed run that says why, and nothing is saved', async () => {
    const before = await datasets();
    const bytes = await cancerParquet();
    const truncated = await upload(bytes.subarray(0, bytes.length / 2), '');
    assert.equal(truncated.status, 400);
    assert.match(truncated.body.error.message, /the uploaded parquet file is not a readable Parquet file/);
    const dated = await upload(await parquetBytes([{ name: 'when', data: [new Date(0) as unknown as Cell], type: 'TIMESTAMP' }]), '?format=parquet', 'application/octet-stream');
    assert.equal(dated.status, 400);
    assert.match(dated.body.error.message, /column "when" is of type TIMESTAMP/);
    const file = path.join(stack.files, 'truncated.parquet');
    fs.writeFileSync(file, bytes.subarray(0, bytes.length - 100));
    const run = await start('cancer-truncated', { uri: file });
    assert.equal(run.status, 202, JSON.stringify(run.body));
    const failed = await stack.waitRun(run.body.id, ['failed']);
    assert.match(failed.error, /truncated\.parquet is not a readable Parquet file/);
    assert.equal(await datasets(), before, 'no dataset version was stored');
  });

  it('a Parquet bomb (a quarter MB claiming 150 million rows) is a 400 before it is read, and the API process keeps its memory', async () => {
    const bomb = path.join(stack.files, 'bomb.parquet');
    const connection = await (await DuckDBInstance.create(':memory:')).connect();
    try {
      await connection.run(`COPY (SELECT 1.0::DOUBLE AS x FROM range(150000000)) TO '${bomb}' (FORMAT parquet)`);
    } finally {
      connection.closeSync();
    }
    const before = await datasets();
    const rssBefore = process.memoryUsage().rss;
    const refused = await upload(fs.readFileSync(bomb), '?format=parquet');
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    assert.match(refused.body.error.message, /claims 150000000 rows of 1 column \(at least 1\.1 GiB once read\) in \d+ bytes: over 1000 times its size/);
    assert.ok(process.memoryUsage().rss - rssBefore < 512 * 2 ** 20, 'the rows were never decoded');
    // the same file named as a source fails the run the same way, before a worker decodes it
    const run = await start('cancer-bomb', { uri: bomb });
    const failed = await stack.waitRun(run.body.id, ['failed']);
    assert.match(failed.error, /claims 150000000 rows/);
    assert.equal(await datasets(), before, 'no dataset version was stored');
    fs.rmSync(bomb);
  });

  it('an unknown format is a 400 naming the known ones; a JSON document uploads with ?format=json', async () => {
    const known = new RegExp(`"xlsx" is not a known format; known: ${FORMAT_NAMES.join(', ')}`);
    const run = await start('cancer-xlsx', { uri: path.join(stack.files, 'cancer.xlsx'), format: 'xlsx' });
    assert.equal(run.status, 400);
    assert.match(run.body.error.message, known);
    const uploaded = await upload('a,b\n1,2\n', '?format=xlsx', 'text/csv');
    assert.equal(uploaded.status, 400);
    assert.match(uploaded.body.error.message, known);
    const records = JSON.stringify([{ x: 1, y: 'a' }, { x: 2, y: 'b' }]);
    const document = await upload(records, '?format=json', 'application/octet-stream');
    assert.equal(document.status, 201, JSON.stringify(document.body));
    assert.equal(document.body.rowCount, 2);
    const asJsonRequest = await upload(records, '?format=json', 'application/json');
    assert.equal(asJsonRequest.status, 400);
    assert.match(asJsonRequest.body.error.message, /not a JSON request/);
  });
});
