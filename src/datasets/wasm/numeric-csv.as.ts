// AssemblyScript: the parse loop of the numeric CSV reader (src/datasets/numeric-csv.ts), compiled to
// WebAssembly by `npm run build:kernels` into src/datasets/numeric-csv-wasm.ts.
//
// It reads only the plainest CSV: unquoted cells that are empty or numbers spelt
// -?digits[.digits][(e|E)[+-]digits], every line with the same number of cells, lines ending in \n or
// \r\n. Anything else makes it decline, and the file goes to the reader that handles everything.

import { POW5_128 } from './powers-of-five.table.as';

/** Exact powers of ten: every one up to 1e22 is a float64 with no rounding. */
const POW10: StaticArray<f64> = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
  1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

/** What `parseLines` returns: the block parsed, or why it declined. */
const OK = 0, NOT_PLAIN = 1, BLANK_LINE = 2, RAGGED = 3, TOO_MANY_SLOW = 4;

const COMMA: u8 = 44, NEWLINE: u8 = 10, RETURN: u8 = 13, MINUS: u8 = 45, DOT: u8 = 46;

// @ts-ignore: decorator
@inline function isDigit(c: u32): bool { return c - 48 < 10; }

/** The high 64 bits of the 128-bit product a * b. */
// @ts-ignore: decorator
@inline function mulHigh(a: u64, b: u64): u64 {
  const a0 = a & 0xffffffff, a1 = a >> 32, b0 = b & 0xffffffff, b1 = b >> 32;
  const p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0;
  const mid = (p00 >> 32) + (p01 & 0xffffffff) + (p10 & 0xffffffff);
  return a1 * b1 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
}

/**
 * mantissa * 10^exponent correctly rounded, for a mantissa of at most 19 digits (not 0), by the
 * Eisel-Lemire algorithm (Lemire, "Number Parsing at a Gigabyte per Second", 2021: the 128-bit product
 * with a power of five, rounded to nearest even), or NaN where that product cannot decide (a
 * near-halfway case) or the result is not a normal or subnormal number: the caller converts those.
 */
function eiselLemire(mantissa: u64, exponent: i32): f64 {
  if (exponent < -342 || exponent > 308) return NaN;
  const lz = <i32>clz(mantissa);
  const w = mantissa << <u64>lz;
  const index = <i32>(2 * (exponent + 342));
  const powHigh = unchecked(POW5_128[index]), powLow = unchecked(POW5_128[index + 1]);
  let high = mulHigh(w, powHigh);
  let low = w * powHigh;
  if ((high & 0x1ff) == 0x1ff) {
    // the truncated power may have cost a carry into the bits kept: add the product with its low word
    const second = mulHigh(w, powLow);
    low += second;
    if (second > low) high++;
  }
  // the product may still be short by less than a unit in its low word; where that could reach the bits kept, decline
  if (low == 0xffffffffffffffff && (exponent < -27 || exponent > 55)) return NaN;
  const upper = <i32>(high >> 63);
  const shift = upper + 64 - 52 - 3;
  let m = high >> <u64>shift;
  let power2 = ((((152170 + 65536) * exponent) >> 16) + 63) + upper - lz + 1023;
  if (power2 <= 0) return NaN; // subnormal: rare enough to leave to the caller
  // an exact tie (only where 5^q fits the product exactly) rounds to even
  if (low <= 1 && exponent >= -4 && exponent <= 23 && (m & 3) == 1 && (m << <u64>shift) == high) m &= ~(<u64>1);
  m += m & 1;
  m >>= 1;
  if (m >= (<u64>2 << 52)) { m = <u64>1 << 52; power2++; }
  m &= ~(<u64>1 << 52);
  if (power2 >= 0x7ff) return NaN;
  return reinterpret<f64>((<u64>power2 << 52) | m);
}

/**
 * Parses the whole lines of `cols` cells in bytes [src, src + len) (the block ends at a line's end, or
 * at the end of the file) into columns: cell (row, c) at out + 8 * (c * capacity + row), an empty cell
 * as NaN. `capacity` must be at least len / cols, the most lines the block can hold. A number is
 * converted by one exactly rounded operation where that is exact (Clinger), else by Eisel-Lemire; one
 * with more than 19 significant digits, a near-halfway one, or one out of the normal range is not: its
 * row, column, first and end byte go to `slow` (four i32s each, at most `slowCapacity` cells) for the
 * caller to convert. Counts of present cells per column are added to
 * `present` (i32s). Writes the rows parsed to state[0] and the slow cells to state[1].
 */
export function parseLines(src: usize, len: i32, cols: i32, out: usize, capacity: i32, slow: usize, slowCapacity: i32, present: usize, state: usize): i32 {
  const end = src + <usize>len;
  let p = src;
  let row = 0, slowCount = 0;
  while (p < end) {
    if (load<u8>(p) == NEWLINE || (load<u8>(p) == RETURN && p + 1 < end && load<u8>(p + 1) == NEWLINE)) return BLANK_LINE;
    for (let c = 0; c < cols; c++) {
      const start = p;
      const cell = out + ((<usize>c * <usize>capacity + <usize>row) << 3);
      let ch: u32 = p < end ? load<u8>(p) : NEWLINE;
      if (ch == COMMA || ch == NEWLINE || ch == RETURN) {
        store<f64>(cell, NaN);
      } else {
        const negative = ch == MINUS;
        if (negative) { p++; ch = p < end ? load<u8>(p) : NEWLINE; }
        let mantissa: u64 = 0;
        let digits = 0, exponent = 0;
        let any = false, inexact = false;
        while (isDigit(ch)) {
          any = true;
          const d = <u64>(ch - 48);
          if (digits < 19) { if (mantissa != 0 || d != 0) { mantissa = mantissa * 10 + d; digits++; } }
          else { exponent++; if (d != 0) inexact = true; }
          p++; ch = p < end ? load<u8>(p) : NEWLINE;
        }
        if (ch == DOT) {
          p++; ch = p < end ? load<u8>(p) : NEWLINE;
          while (isDigit(ch)) {
            any = true;
            const d = <u64>(ch - 48);
            if (digits < 19) { if (mantissa != 0 || d != 0) { mantissa = mantissa * 10 + d; digits++; } exponent--; }
            else if (d != 0) inexact = true;
            p++; ch = p < end ? load<u8>(p) : NEWLINE;
          }
        }
        if (!any) return NOT_PLAIN;
        if (ch == 101 || ch == 69) { // e, E
          p++; ch = p < end ? load<u8>(p) : NEWLINE;
          let sign = 1;
          if (ch == 43 || ch == MINUS) { if (ch == MINUS) sign = -1; p++; ch = p < end ? load<u8>(p) : NEWLINE; }
          if (!isDigit(ch)) return NOT_PLAIN;
          let e = 0;
          while (isDigit(ch)) { if (e < 100000) e = e * 10 + <i32>(ch - 48); p++; ch = p < end ? load<u8>(p) : NEWLINE; }
          exponent += sign * e;
        }
        if (ch != COMMA && ch != NEWLINE && ch != RETURN) return NOT_PLAIN;
        let value: f64 = 0;
        if (mantissa == 0 && !inexact) value = 0;
        else if (!inexact && mantissa <= (<u64>1 << 53) && exponent >= -22 && exponent <= 22) {
          // one exactly rounded operation on exact operands: the correctly rounded value (Clinger)
          value = exponent < 0 ? <f64>mantissa / unchecked(POW10[-exponent]) : <f64>mantissa * unchecked(POW10[exponent]);
        } else if (!inexact && !isNaN(value = eiselLemire(mantissa, exponent))) {
          // converted
        } else {
          if (slowCount >= slowCapacity) return TOO_MANY_SLOW;
          const at = slow + (<usize>slowCount << 4);
          store<i32>(at, row);
          store<i32>(at, c, 4);
          store<i32>(at, <i32>(start - src), 8);
          store<i32>(at, <i32>(p - src), 12);
          slowCount++;
        }
        store<f64>(cell, negative ? -value : value);
        const counter = present + (<usize>c << 2);
        store<i32>(counter, load<i32>(counter) + 1);
      }
      // the cell's end: a comma between cells, the line's end after the last
      if (c + 1 < cols) {
        if (ch != COMMA) return RAGGED;
        p++;
      } else {
        if (ch == RETURN) { p++; ch = p < end ? load<u8>(p) : NEWLINE; if (ch != NEWLINE) return NOT_PLAIN; }
        if (ch == COMMA) return RAGGED;
        p++; // the newline, or past the end of the file's last line
      }
    }
    row++;
  }
  store<i32>(state, row);
  store<i32>(state, slowCount, 4);
  return OK;
}
