/** Comma-separated values with a header row (RFC 4180 quoting), streamed: see src/ml/csv.ts. */
import { parseCsvStream } from '../../ml/csv';
import { utf8Text } from '../byte-source';
import { defineFormat } from './format';

export const csv = defineFormat({
  name: 'csv',
  extensions: ['.csv'],
  mediaTypes: ['text/csv'],
  async parse(source, onProgress) {
    const table = await parseCsvStream(() => utf8Text(source));
    onProgress?.({ rows: table.rowCount });
    return table;
  },
});
