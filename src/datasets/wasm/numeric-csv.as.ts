// AssemblyScript: the parse loop of the numeric CSV reader (src/datasets/numeric-csv.ts), compiled to
// WebAssembly by `npm run build:kernels` into src/datasets/numeric-csv-wasm.ts.
//
// It reads only the plainest CSV: unquoted cells that are empty or numbers spelt
// -?digits[.digits][(e|E)[+-]digits], every line with the same number of cells, lines ending in \n or
// \r\n. Anything else makes it decline, and the file goes to the reader that handles everything.

/** Exact powers of ten: every one up to 1e22 is a float64 with no rounding. */
const POW10: StaticArray<f64> = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
  1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

/** What `parseLines` returns: the block parsed, or why it declined. */
const OK = 0, NOT_PLAIN = 1, BLANK_LINE = 2, RAGGED = 3, TOO_MANY_SLOW = 4;

const COMMA: u8 = 44, NEWLINE: u8 = 10, RETURN: u8 = 13, MINUS: u8 = 45, DOT: u8 = 46;

// @ts-ignore: decorator
@inline function isDigit(c: u32): bool { return c - 48 < 10; }

/**
 * Parses the whole lines of `cols` cells in bytes [src, src + len) (the block ends at a line's end, or
 * at the end of the file) into columns: cell (row, c) at out + 8 * (c * capacity + row), an empty cell
 * as NaN. `capacity` must be at least len / cols, the most lines the block can hold. A number with more
 * than 19 significant digits or a decimal exponent past 22 is not converted here (that needs more than
 * one exactly rounded operation): its row, column, first and end byte go to `slow` (four i32s each, at
 * most `slowCapacity` cells) for the caller to convert. Counts of present cells per column are added to
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
