/**
 * JSON documents holding records: an array, or an object with the records under items, data, results or
 * records. A paged API is followed page by page: the next page is the transport's link (an HTTP Link
 * header, rel="next") or else the page's own next, next_page, nextPage or links.next field.
 */
import { RecordCollector } from '../../ml/jsonl';
import { DataFormatError } from '../../ml/table';
import { ByteSource, readWholeText } from '../byte-source';
import { defineFormat } from './format';

/** Largest page read into memory at once (a JSON document is parsed whole). */
export const MAX_JSON_PAGE_BYTES = 512 * 1024 * 1024;

/** Fields under which paged JSON APIs commonly return their records. */
const RECORD_FIELDS = ['items', 'data', 'results', 'records'];

/** The records of one page: the page itself when it is an array, else its first record field. */
function recordsOf(document: unknown): unknown[] | undefined {
  if (Array.isArray(document)) return document;
  if (document && typeof document === 'object') {
    for (const field of RECORD_FIELDS) {
      const value = (document as Record<string, unknown>)[field];
      if (Array.isArray(value)) return value;
    }
  }
  return undefined;
}

/** A next-page link in a page's body. */
function bodyNext(document: unknown): string | undefined {
  if (!document || typeof document !== 'object' || Array.isArray(document)) return undefined;
  const d = document as Record<string, unknown>;
  const links = d.links as Record<string, unknown> | undefined;
  const next = d.next ?? d.next_page ?? d.nextPage ?? links?.next;
  return typeof next === 'string' && next !== '' ? next : undefined;
}

export const json = defineFormat({
  name: 'json',
  extensions: ['.json'],
  // application/json is the API's own request type (express.json reads such bodies): uploads say ?format=json
  mediaTypes: [],
  maxBytes: MAX_JSON_PAGE_BYTES,
  async parse(first, onProgress) {
    const collector = new RecordCollector();
    let page: ByteSource | undefined = first;
    for (let number = 1; page; number++) {
      const text = await readWholeText(page, MAX_JSON_PAGE_BYTES);
      let document: unknown;
      try {
        document = JSON.parse(text);
      } catch (err) {
        throw new DataFormatError(`page ${number} of ${first.name} is not valid JSON: ${(err as Error).message}`);
      }
      const records = recordsOf(document);
      if (!records) throw new DataFormatError(`page ${number} of ${first.name} holds no records: expected a JSON array, or an object with ${RECORD_FIELDS.join(', ')}`);
      records.forEach((record, k) => collector.add(record, `page ${number}, record ${k + 1}`));
      onProgress?.({ rows: collector.count });
      page = await page.next?.(bodyNext(document));
    }
    return collector.build(`${first.name} holds no records`);
  },
});
