/**
 * The fast reader for the plainest and commonest CSV: a header, then only numbers and empty cells, no
 * quotes, no spaces. Blocks of the file are parsed on every core by compiled WebAssembly
 * (`wasm/numeric-csv.as.ts`) into columns; numbers are converted exactly (one correctly rounded
 * operation, or JavaScript's own `Number` for the rare long or far-out ones), so the table is bit for
 * bit what the platform's parser makes of the same bytes. Any file outside that subset is declined
 * (undefined) at the first cell that leaves it, and the caller reads it with DuckDB or the platform's
 * parser, which handle and word everything else.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import { csvHeader, RecordSplitter } from '../ml/csv';
import { KernelFamily, RowThreads } from '../ml/row-threads';
import { Table } from '../ml/table';
import { WASM } from './numeric-csv-wasm';

/** Most bytes a thread parses at once (less for a small file); its columns take 8 times as much (a block of empty cells). */
const BLOCK = 2 << 20;
const SMALLEST_BLOCK = 64 << 10;
/**
 * Room for the cells of a block that need JavaScript's conversion: one per 16 bytes (such a cell is
 * usually 17 or more). A block with more, or with more than a quarter of its cells so, is declined:
 * DuckDB reads such a file faster than JavaScript converts its cells one by one.
 */
const SLOW_PER_BYTE = 1 / 16;
const MOST_SLOW_SHARE = 0.25;
const PAGE = 65_536;

interface ParseBlocks {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  cols: number;
  /** Rows a block's columns hold, and cells it may leave to JavaScript. */
  capacity: number;
  slowCapacity: number;
  /** Per block: the byte address of its input, columns, slow cells, present counts and state. */
  input: Int32Array;
  out: Int32Array;
  slow: Int32Array;
  present: Int32Array;
  state: Int32Array;
  /** Per block: its length in bytes (set by the reader), then the parse's result code. */
  length: Int32Array;
  code: Int32Array;
}

interface NumericCsvWasm {
  parseLines(src: number, len: number, cols: number, out: number, capacity: number, slow: number, slowCapacity: number, present: number, state: number): number;
}

/**
 * This thread's instance of the parse loop on the reader's memory. A copy of gbdt-kernels' `wasmOf`,
 * by necessity: helper threads run these functions' source text, where an import would not resolve.
 */
function csvWasmOf(s: ParseBlocks): NumericCsvWasm {
  const cache: WeakMap<ParseBlocks, NumericCsvWasm> = ((globalThis as { csvWasm?: WeakMap<ParseBlocks, NumericCsvWasm> }).csvWasm ??= new WeakMap());
  let kernels = cache.get(s);
  if (kernels === undefined) {
    kernels = new WebAssembly.Instance(s.module, { env: { memory: s.memory } }).exports as unknown as NumericCsvWasm;
    cache.set(s, kernels);
  }
  return kernels;
}

/** Parses block `chunk` (one block a chunk). */
function parseBlock(s: ParseBlocks, args: Float64Array, from: number, to: number, chunk: number): void {
  s.code[chunk] = csvWasmOf(s).parseLines(s.input[chunk], s.length[chunk], s.cols, s.out[chunk], s.capacity, s.slow[chunk], s.slowCapacity, s.present[chunk], s.state[chunk]);
}

const PARSE = 0;
const family = new KernelFamily<ParseBlocks>([parseBlock], [csvWasmOf]);
let compiled: WebAssembly.Module | undefined;

/**
 * One memory, after the module's page: two input regions of `blocks` blocks each (one is parsed while
 * the next is read into the other), and per block its columns (room for a block of twice the usual
 * size: blocks are cut at line ends near their share of a region), slow cells, counts and state.
 */
function blockMemory(blocks: number, cols: number, block: number): { s: ParseBlocks; regions: Uint8Array[] } {
  const capacity = Math.ceil((2 * block) / cols) + 1;
  const slowCapacity = Math.ceil(block * SLOW_PER_BYTE);
  const sizes = { out: 8 * capacity * cols, slow: 16 * slowCapacity, present: 4 * cols, state: 8 };
  const perBlock = Object.values(sizes).reduce((a, b) => a + Math.ceil(b / 8) * 8, 0);
  const region = blocks * block;
  const pages = Math.ceil((PAGE + 2 * region + blocks * perBlock) / PAGE);
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  const shared = (n: number) => new Int32Array(new SharedArrayBuffer(4 * n));
  const s: ParseBlocks = {
    module: (compiled ??= new WebAssembly.Module(WASM)), memory, cols, capacity, slowCapacity,
    input: shared(blocks), out: shared(blocks), slow: shared(blocks), present: shared(blocks), state: shared(blocks), length: shared(blocks), code: shared(blocks),
  };
  let at = PAGE + 2 * region;
  for (let b = 0; b < blocks; b++) {
    for (const [name, size] of Object.entries(sizes)) { s[name as keyof typeof sizes][b] = at; at += Math.ceil(size / 8) * 8; }
  }
  return { s, regions: [0, 1].map((r) => new Uint8Array(memory.buffer, PAGE + r * region, region)) };
}

/**
 * A CSV file of numbers with a plain header as a table, or undefined when the file is anything else
 * (then another reader takes it). Parses `threads` blocks at a time (a few milliseconds), the event
 * loop free between them while the next region is read.
 */
export async function readNumericCsv(file: string, threads = os.availableParallelism()): Promise<Table | undefined> {
  const handle = await fs.open(file, 'r');
  try {
    const size = (await handle.stat()).size;
    const head = Buffer.alloc(Math.min(size, 1 << 20));
    await handle.read(head, 0, head.length, 0);
    const headerEnd = head.indexOf(0x0a);
    if (headerEnd < 0 || head.subarray(0, headerEnd).includes(0x22)) return undefined; // no data, or a quoted header
    let names: string[];
    try {
      names = csvHeader(new RecordSplitter().push(new TextDecoder('utf-8', { fatal: true }).decode(head.subarray(0, headerEnd + 1))));
    } catch {
      return undefined;
    }
    // one column: blank lines are rows of one missing cell to some readers and nothing to others
    if (names.length < 2) return undefined;
    return await parseBody(handle, size, headerEnd + 1, names, Math.max(1, threads));
  } finally {
    await handle.close();
  }
}

async function parseBody(handle: fs.FileHandle, size: number, start: number, names: string[], blocks: number): Promise<Table | undefined> {
  const cols = names.length;
  // blocks no bigger than the file needs: a small file takes a small memory
  const block = Math.min(BLOCK, Math.max(SMALLEST_BLOCK, Math.ceil((size - start) / blocks)));
  const { s, regions } = blockMemory(blocks, cols, block);
  const threads = new RowThreads(family, s, blocks);
  const present = new Float64Array(cols);
  let columns: Float64Array[] = [];
  let rows = 0;
  let reading: Promise<{ length: number; next: number; last: boolean }> | undefined;
  /** Reads the region's bytes from `position`: its whole lines, and where the next read starts. */
  const readRegion = async (region: Uint8Array, position: number) => {
    const { bytesRead } = await handle.read(region, 0, Math.min(region.length, size - position), position);
    const last = position + bytesRead >= size;
    const length = last ? bytesRead : region.lastIndexOf(0x0a, bytesRead - 1) + 1;
    return { length, next: position + length, last };
  };
  try {
    let current = 0;
    let read = await readRegion(regions[0], start);
    for (;;) {
      const { length, next, last } = read;
      if (length === 0) return undefined; // a line longer than a region
      const region = regions[current];
      // the blocks: cut at the first line end after each one's share of the region
      let count = 0;
      for (let from = 0; from < length; count++) {
        const cut = region.indexOf(0x0a, from + Math.ceil((length - from) / (blocks - count)) - 1);
        const to = count === blocks - 1 || cut < 0 || cut >= length ? length : cut + 1;
        if (to - from > 2 * block) return undefined; // more than a block's columns hold
        s.input[count] = region.byteOffset + from;
        s.length[count] = to - from;
        new Int32Array(s.memory.buffer, s.present[count], cols).fill(0);
        from = to;
      }
      // the next region is read while this one is parsed
      reading = last ? undefined : readRegion(regions[1 - current], next);
      threads.runItems(PARSE, count);
      for (let b = 0; b < count; b++) {
        if (s.code[b] !== 0) return undefined;
        const state = new Int32Array(s.memory.buffer, s.state[b], 2);
        const blockRows = state[0];
        if (state[1] > MOST_SLOW_SHARE * blockRows * cols) return undefined;
        if (rows + blockRows > (columns[0]?.length ?? 0)) columns = grown(columns, cols, rows + blockRows, ((size - start) / (next - start)) * (rows + blockRows));
        const out = new Float64Array(s.memory.buffer, s.out[b], s.capacity * cols);
        for (let c = 0; c < cols; c++) columns[c].set(out.subarray(c * s.capacity, c * s.capacity + blockRows), rows);
        // the cells the block left to JavaScript: long mantissas and far exponents
        const slow = new Int32Array(s.memory.buffer, s.slow[b], 4 * state[1]);
        for (let k = 0; k < state[1]; k++) {
          const value = Number(Buffer.from(s.memory.buffer, s.input[b] + slow[4 * k + 2], slow[4 * k + 3] - slow[4 * k + 2]).toString('latin1'));
          if (!Number.isFinite(value)) return undefined; // a column with 1e999 is not numbers to the platform
          columns[slow[4 * k + 1]][rows + slow[4 * k]] = value;
        }
        const counts = new Int32Array(s.memory.buffer, s.present[b], cols);
        for (let c = 0; c < cols; c++) present[c] += counts[c];
        rows += blockRows;
      }
      if (!reading) break;
      read = await reading;
      current = 1 - current;
    }
  } finally {
    threads.release();
    await reading?.catch(() => undefined); // the file closes after its last read
  }
  // a column with no number in it: what kind it is, the other readers decide
  if (rows === 0 || present.some((n) => n === 0)) return undefined;
  return { rowCount: rows, columns: names.map((name, c) => ({ name, kind: 'number', values: columns[c].subarray(0, rows) })) };
}

/** Columns with room for at least `needed` rows (`estimate` when larger), the rows so far copied. */
function grown(columns: Float64Array[], cols: number, needed: number, estimate: number): Float64Array[] {
  const length = Math.ceil(Math.max(needed, estimate * 1.02, (columns[0]?.length ?? 0) * 1.5));
  return Array.from({ length: cols }, (_, c) => {
    const bigger = new Float64Array(length);
    if (columns[c]) bigger.set(columns[c]);
    return bigger;
  });
}
