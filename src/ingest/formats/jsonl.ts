/** JSON Lines: one JSON object per line, streamed: see src/ml/jsonl.ts. */
import { parseJsonLinesStream } from '../../ml/jsonl';
import { utf8Text } from '../byte-source';
import { defineFormat } from './format';

export const jsonl = defineFormat({
  name: 'jsonl',
  extensions: ['.jsonl', '.ndjson'],
  mediaTypes: ['application/x-ndjson', 'application/jsonl', 'application/x-jsonlines', 'application/jsonlines'],
  async parse(source, onProgress) {
    const table = await parseJsonLinesStream(utf8Text(source));
    onProgress?.({ rows: table.rowCount });
    return table;
  },
});
