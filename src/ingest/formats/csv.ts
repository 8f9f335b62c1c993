/**
 * Comma-separated values with a header row (RFC 4180 quoting). A local file of plain numbers is read by
 * compiled WebAssembly on every core (src/datasets/numeric-csv.ts); another local file by DuckDB on
 * every core when it can read it exactly as the platform's parser would (src/datasets/duckdb-sources.ts);
 * otherwise, and for downloads and uploads, the platform's streaming parser reads it (src/ml/csv.ts) and
 * words any error. All three give the same table for the same bytes.
 */
import { readCsvFile } from '../../datasets/duckdb-sources';
import { readNumericCsv } from '../../datasets/numeric-csv';
import { parseCsvStream } from '../../ml/csv';
import { utf8Text } from '../byte-source';
import { defineFormat } from './format';

export const csv = defineFormat({
  name: 'csv',
  extensions: ['.csv'],
  mediaTypes: ['text/csv'],
  async parse(source, onProgress) {
    const fast = source.localPath ? (await readNumericCsv(source.localPath)) ?? (await readCsvFile(source.localPath)) : undefined;
    const table = fast ?? await parseCsvStream(() => utf8Text(source));
    onProgress?.({ rows: table.rowCount });
    return table;
  },
});
