/**
 * The pieces of batch scoring that need no stack: part files (CSV quoting, exact numbers in both
 * formats, missing values, a Parquet chunk's columns passed through beside its predictions), the output folder (a retried part replaces its own, publishing is all or
 * nothing and refuses an output that appeared meanwhile), chunk ranges and the fit check.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { parseCsv } from '../src/ml/csv';
import type { Table } from '../src/ml/table';
import { readParquetRows, tableCsv, writePart } from '../src/batch/part-files';
import { duckdb } from '../src/datasets/duckdb';
import { withParquetRows } from '../src/datasets/parquet-table';
import { OutputExists, partFile, publishOutput, readManifest, stagingFolder, writePartFile } from '../src/batch/output-folder';
import { unscorableBecause } from '../src/batch/score-table';
import { chunkRanges, MAX_CHUNKS } from '../src/workflows/batch-scoring';
import type { ModelSignature } from '../src/domain/model-version';

const AWKWARD = [0.1 + 0.2, 5e-324, 1e-310, Number.MAX_VALUE, -1.5e300, 123456789.12345679, 1 / 3, NaN, 0, 2 ** 53 + 2];
const TEXTS = ['plain', 'a,b', 'say "hi"', 'line\nbreak', ' edge ', 'héllo ✓', null];

function awkwardTable(): Table {
  const n = AWKWARD.length;
  const dictionary = TEXTS.filter((t): t is string => t !== null);
  return {
    rowCount: n,
    columns: [
      { name: 'x', kind: 'number', values: Float64Array.from(AWKWARD) },
      { name: 'label, "quoted"', kind: 'string', dictionary, codes: Int32Array.from({ length: n }, (_, i) => (TEXTS[i % TEXTS.length] === null ? -1 : dictionary.indexOf(TEXTS[i % TEXTS.length]!))) },
    ],
  };
}

describe('batch part files', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-batch-parts-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('when a chunk is written as CSV, then fields are quoted as RFC 4180 says and every number reads back exactly', () => {
    const csv = tableCsv(awkwardTable());
    assert.ok(csv.startsWith('x,"label, ""quoted"""\r\n'));
    assert.ok(csv.includes('"say ""hi"""') && csv.includes('"line\nbreak"') && csv.includes('" edge "') && csv.includes('"a,b"'));
    const back = parseCsv(csv);
    const x = back.columns[0];
    assert.equal(x.kind, 'number');
    AWKWARD.forEach((v, i) => (Number.isNaN(v) ? assert.ok(Number.isNaN(x.values[i])) : assert.equal(x.values[i], v, `row ${i}`)));
  });

  it('when a chunk is written as Parquet, then numbers are bit-exact doubles, text is unchanged and missing values are nulls', async () => {
    const file = path.join(dir, 'p.parquet');
    await writePart(awkwardTable(), file, 'parquet');
    const rows = await readParquetRows(file);
    assert.equal(rows.length, AWKWARD.length);
    rows.forEach((row, i) => {
      assert.equal(row.x, Number.isNaN(AWKWARD[i]) ? null : AWKWARD[i], `row ${i}`);
      assert.equal(row['label, "quoted"'], TEXTS[i % TEXTS.length]);
    });
  });

  it('when a chunk of a Parquet input gets its predictions beside it, then every input cell passes through exactly, in order, across row groups', async () => {
    // many small row groups, so the chunk spans several and DuckDB scans them on several threads
    const input = path.join(dir, 'input.parquet');
    const n = 60_000;
    const x = Float64Array.from({ length: n }, (_, i) => (i % 97 === 0 ? NaN : AWKWARD[i % AWKWARD.length] + i));
    const text = { dictionary: TEXTS.filter((t): t is string => t !== null), codes: Int32Array.from({ length: n }, (_, i) => (i % 7 === 6 ? -1 : i % 6)) };
    const big: Table = { rowCount: n, columns: [
      { name: 'x', kind: 'number', values: x },
      { name: 'label, "quoted"', kind: 'string', ...text },
      { name: 'row_id', kind: 'number', values: Float64Array.from({ length: n }, (_, i) => i) },
    ] };
    await writePart(big, path.join(dir, 'whole.parquet'), 'parquet');
    const connection = await duckdb();
    await connection.run(`COPY (SELECT * EXCLUDE (file_row_number) FROM read_parquet('${path.join(dir, 'whole.parquet')}', file_row_number = true) ORDER BY file_row_number) TO '${input}' (FORMAT parquet, ROW_GROUP_SIZE 2048)`);
    connection.closeSync();
    const [offset, limit] = [12_345, 30_000];
    const file = path.join(dir, 'beside.parquet');
    await withParquetRows(input, offset, limit, async (rows) => {
      assert.equal(rows.rowCount, limit);
      const ids = await rows.read(['row_id']);
      assert.deepEqual(ids.columns.map((c) => c.name), ['row_id'], 'only the columns asked for');
      const values = (ids.columns[0] as { values: Float64Array }).values;
      assert.ok(values.every((v, i) => v === offset + i), 'the rows in the file order');
      // the "prediction": the row's id doubled, so a row out of place shows
      await writePart({ rowCount: limit, columns: [{ name: 'doubled', kind: 'number', values: values.map((v) => 2 * v) }] }, file, 'parquet', rows);
    });
    const written = await readParquetRows(file);
    assert.equal(written.length, limit);
    assert.deepEqual(Object.keys(written[0]), ['x', 'label, "quoted"', 'row_id', 'doubled'], "the input's columns, then the new ones");
    written.forEach((row, r) => {
      const i = offset + r;
      assert.equal(row.row_id, i);
      assert.equal(row.doubled, 2 * i);
      assert.equal(row.x, Number.isNaN(x[i]) ? null : x[i], `row ${i}: x`);
      assert.equal(row['label, "quoted"'], text.codes[i] < 0 ? null : text.dictionary[text.codes[i]], `row ${i}: text`);
    });
  });

  it('when a part is written twice (a retried chunk), then the second replaces the first and nothing else is left', async () => {
    const staging = stagingFolder(path.join(dir, 'out'), 'job-1');
    const first = await writePartFile(staging, 3, 'csv', awkwardTable());
    const again = await writePartFile(staging, 3, 'csv', awkwardTable());
    assert.deepEqual(again, first);
    assert.deepEqual(fs.readdirSync(staging), [partFile(3, 'csv')]);
  });

  it('when the output is published, then it appears whole with its manifest; a repeat answers the same digest; an output that appeared meanwhile is refused', async () => {
    const output = path.join(dir, 'published');
    const staging = stagingFolder(output, 'job-2');
    const part = await writePartFile(staging, 0, 'parquet', awkwardTable());
    fs.writeFileSync(path.join(staging, 'part-00001.parquet.abc.tmp'), 'left by a killed attempt');
    const manifest = { job: 'job-2', model: 'm', version: 1, onnxDigest: 'a'.repeat(64), datasetId: 'b'.repeat(64), format: 'parquet' as const, rows: part.rows, columns: ['x'], parts: [{ file: part.file, rows: part.rows, sha256: part.sha256, bytes: part.bytes }] };
    const { digest } = await publishOutput(staging, output, manifest);
    assert.ok(!fs.existsSync(staging));
    assert.deepEqual(fs.readdirSync(output).sort(), ['_SUCCESS', '_manifest.json', 'part-00000.parquet']);
    assert.equal((await readManifest(output))!.job, 'job-2');
    assert.equal((await publishOutput(staging, output, manifest)).digest, digest, 'a retried finish answers the same digest');

    const taken = path.join(dir, 'taken');
    const otherStaging = stagingFolder(taken, 'job-3');
    await writePartFile(otherStaging, 0, 'csv', awkwardTable());
    fs.mkdirSync(taken);
    fs.writeFileSync(path.join(taken, 'mine.txt'), 'someone else\'s');
    await assert.rejects(publishOutput(otherStaging, taken, { ...manifest, job: 'job-3', format: 'csv', parts: [] }), OutputExists);
    assert.deepEqual(fs.readdirSync(taken), ['mine.txt'], 'the existing folder is untouched');
  });

  it('when rows are split into chunks, then the ranges cover every row once and never exceed the chunk cap', () => {
    for (const [rows, size] of [[0, 10], [1, 10], [10, 10], [11, 10], [5690, 1000], [10_000_000, 1000]] as const) {
      const ranges = chunkRanges(rows, size);
      assert.ok(ranges.length <= MAX_CHUNKS);
      let next = 0;
      for (const r of ranges) { assert.equal(r.offset, next); assert.ok(r.limit > 0); next += r.limit; }
      assert.equal(next, rows);
    }
    assert.equal(chunkRanges(10_000_000, 1000).length, MAX_CHUNKS, 'too many small chunks become fewer larger ones');
  });

  it('when the input does not fit the version, then the reason names the columns', () => {
    const signature: ModelSignature = { task: 'binary', features: ['a', 'b', 'plan'], numeric: ['a', 'b'], categorical: ['plan'], classes: ['no', 'yes'], output: 'probabilities' };
    const cols = (columns: Table['columns']) => columns;
    const num = (name: string) => ({ name, kind: 'number' as const, values: new Float64Array(0) });
    const text = (name: string) => ({ name, kind: 'string' as const, codes: new Int32Array(0), dictionary: [] });
    assert.equal(unscorableBecause(signature, cols([num('a'), num('b'), text('plan')])), undefined);
    assert.match(unscorableBecause(signature, cols([num('a'), text('plan')]))!, /"b" is missing/);
    assert.match(unscorableBecause(signature, cols([num('a'), text('b'), text('plan')]))!, /"b" holds text/);
    assert.match(unscorableBecause(signature, cols([num('a'), num('b'), text('plan'), num('prediction')]))!, /already has column "prediction"/);
  });
});
