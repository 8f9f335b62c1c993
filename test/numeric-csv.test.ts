/**
 * The WebAssembly reader for CSV files of plain numbers (src/datasets/numeric-csv.ts): the table it
 * gives is bit for bit the platform's parser's, on one thread and on several, across many blocks; a
 * file outside its subset is declined and read by the other readers as before.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readNumericCsv } from '../src/datasets/numeric-csv';
import { readSource } from '../src/ingest/sources';
import { parseCsv } from '../src/ml/csv';
import { createRng } from '../src/ml/random';
import { Table } from '../src/ml/table';
import { testSources } from './helpers/sources';

/** Every column the same name and kind, every number the same bit for bit (Object.is: -0 and NaN too). */
function assertSameTable(actual: Table | undefined, expected: Table): void {
  assert.ok(actual, 'the reader took the file');
  assert.equal(actual.rowCount, expected.rowCount);
  assert.deepEqual(actual.columns.map((c) => `${c.name}:${c.kind}`), expected.columns.map((c) => `${c.name}:${c.kind}`));
  actual.columns.forEach((column, c) => {
    const want = expected.columns[c];
    assert.ok(column.kind === 'number' && want.kind === 'number');
    for (let i = 0; i < want.values.length; i++) {
      if (!Object.is(column.values[i], want.values[i])) assert.fail(`${column.name}, row ${i}: ${column.values[i]} where the platform's parser reads ${want.values[i]}`);
    }
  });
}

/** A number as a person or a program may have written it: every spelling the reader converts itself or hands to JavaScript. */
function spelling(rng: () => number, i: number): string {
  const v = (rng() - 0.5) * 10 ** Math.floor(rng() * 12 - 6);
  switch (i % 24) { // 8, 9 and 10 are converted by JavaScript, 0 mostly by Eisel-Lemire
    case 0: return String(v); // shortest round trip: often 16-17 digits
    case 1: return v.toFixed(4);
    case 2: return v.toExponential(3);
    case 3: return v.toExponential(3).toUpperCase().replace('E+', 'E');
    case 4: return String(Math.round(v * 1000));
    case 5: return rng() < 0.5 ? '-0' : '-0.000';
    case 6: return `00${Math.floor(rng() * 100)}.${Math.floor(rng() * 1000)}`;
    case 7: return rng() < 0.5 ? '' : '.5'; // a missing cell, or no integer part
    case 8: return `${Math.floor(rng() * 9) + 1}e-${300 + Math.floor(rng() * 20)}`; // far exponents: JavaScript, down to subnormals
    case 9: return '9007199254740993'; // 2^53 + 1: past the exact mantissas
    case 10: return '123456789012345678901234.5e-3'; // more than 19 digits
    case 11: return `${Math.floor(rng() * 1000)}.`;
    default: return v.toFixed(i % 7);
  }
}

describe('numeric CSV reader (WebAssembly)', () => {
  let dir: string;
  const file = (name: string, text: string | Buffer) => { const p = path.join(dir, name); fs.writeFileSync(p, text); return p; };

  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-numeric-csv-')); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads every spelling of a number exactly as the platform parser does, on one thread and on two, across many blocks', async () => {
    const rng = createRng(11);
    const cols = 6;
    const lines = [Array.from({ length: cols }, (_, c) => `x${c}`).join(',')];
    // about 11 MiB: three 4 MiB blocks, two rounds on two threads
    for (let r = 0; r < 180_000; r++) lines.push(Array.from({ length: cols }, (_, c) => spelling(rng, r + c)).join(','));
    const text = lines.join('\n') + '\n';
    const expected = parseCsv(text);
    assert.ok(expected.columns.every((c) => c.kind === 'number'));
    const p = file('spellings.csv', text);
    assertSameTable(await readNumericCsv(p, 1), expected);
    assertSameTable(await readNumericCsv(p, 2), expected);
  });

  it('converts random mantissas of 1 to 19 digits at exponents from -340 to 279, and near-halfway spellings, as Number does', async () => {
    const rng = createRng(5);
    const f64 = new Float64Array(1), words = new Uint32Array(f64.buffer);
    const cells: string[] = [];
    for (let i = 0; i < 200_000; i++) {
      if (i % 2 === 0) {
        let m = String(1 + Math.floor(rng() * 9));
        for (let j = Math.floor(rng() * 19); j > 0; j--) m += Math.floor(rng() * 10);
        cells.push(`${m}e${Math.floor(rng() * 620) - 340}`);
      } else {
        // a random double's 17 digits with the last one moved: between two doubles, near a halfway point
        words[0] = (rng() * 2 ** 32) >>> 0;
        words[1] = (0x00100000 + rng() * 0x7fc00000) >>> 0;
        const digits = f64[0].toExponential(16);
        cells.push(digits.replace(/(\d)e/, (_, d) => `${(Number(d) + 1 + Math.floor(rng() * 8)) % 10}e`));
      }
    }
    const lines = ['a,b,c,d'];
    for (let i = 0; i < cells.length; i += 4) lines.push(cells.slice(i, i + 4).join(','));
    const table = await readNumericCsv(file('random.csv', lines.join('\n') + '\n'));
    assert.ok(table, 'the reader took the file');
    cells.forEach((cell, i) => {
      const column = table.columns[i % 4];
      assert.ok(column.kind === 'number');
      if (!Object.is(column.values[Math.floor(i / 4)], Number(cell))) assert.fail(`${cell}: ${column.values[Math.floor(i / 4)]}, where Number gives ${Number(cell)}`);
    });
  });

  it('takes CRLF line ends and a last line with no line end', async () => {
    const text = 'a,b\r\n1,2.5\r\n-3,\r\n4e2,5';
    assertSameTable(await readNumericCsv(file('crlf.csv', text)), parseCsv(text));
  });

  it('declines every file outside plain numbers, and the other readers read it as before', async () => {
    const ctx = testSources();
    const outside: Record<string, string> = {
      quoted: 'a,b\n1,"2"\n',
      text: 'a,b\n1,2\n3,x\n',
      spaces: 'a,b\n1, 2\n',
      missingSpelt: 'a,b\n1,NA\n2,3\n',
      blankLine: 'a,b\n1,2\n\n3,4\n',
      fewerCells: 'a,b\n1,2\n3\n',
      moreCells: 'a,b\n1,2\n3,4,5\n',
      plusSign: 'a,b\n+1,2\n',
      infinite: 'a,b\n1e999,2\n',
      noNumbers: 'a,b\n1,\n2,\n',
      lonelyCr: 'a,b\r1,2\r',
      underscore: 'a,b\n1_000,2\n',
      headerOnly: 'a,b\n',
      oneColumn: 'a\n1\n2\n',
      quotedHeader: '"a,x",b\n1,2\n',
    };
    for (const [name, text] of Object.entries(outside)) {
      const p = file(`${name}.csv`, text);
      assert.equal(await readNumericCsv(p), undefined, `${name} is declined`);
      let platform: Table | Error, read: Table | Error;
      try { platform = parseCsv(text); } catch (err) { platform = err as Error; }
      try { read = (await readSource({ uri: p }, ctx)).table; } catch (err) { read = err as Error; }
      if (platform instanceof Error) assert.ok(read instanceof Error, `${name}: the platform parser refuses it, and so does the source`);
      else {
        assert.ok(!(read instanceof Error), `${name}: read by the other readers (${read instanceof Error ? read.message : ''})`);
        assert.deepEqual(read.columns.map((c) => `${c.name}:${c.kind}`), platform.columns.map((c) => `${c.name}:${c.kind}`), name);
      }
    }
  });

  it('declines a file that is not UTF-8 text, and a line longer than a block', async () => {
    assert.equal(await readNumericCsv(file('latin1.csv', Buffer.from('a,b\n1,2\n3,\xe9\n', 'latin1'))), undefined);
    assert.equal(await readNumericCsv(file('long-line.csv', `a,b\n1,${'1'.repeat(5 << 20)}\n`)), undefined);
  });

  it('a local numeric CSV source, read by this reader first, gives the table of the platform parser', async () => {
    const text = 'f0,f1,y\n' + Array.from({ length: 5000 }, (_, i) => `${(i * 0.37).toFixed(3)},${i % 7 === 0 ? '' : -i},${i % 2}`).join('\n') + '\n';
    const { table } = await readSource({ uri: file('source.csv', text) }, testSources());
    assertSameTable(table, parseCsv(text));
  });
});
