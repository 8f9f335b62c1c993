/** Feature matrices: row-major Float64Array, NaN for missing values. */
export interface Matrix {
  rows: number;
  cols: number;
  data: Float64Array;
}
