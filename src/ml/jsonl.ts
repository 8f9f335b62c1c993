/** JSON Lines in: one JSON object per line, read into the same columnar table as CSV. */
import { ColumnBuilder, DataFormatError, Table } from './table';

/**
 * Collects JSON records into a table, straight into column builders (no rows are kept). Columns are the
 * union of keys in first-seen order; numbers, strings and booleans become cells, null or an absent key a
 * missing value; nested objects and arrays are refused with the record's place in the message.
 */
export class RecordCollector {
  private builders: ColumnBuilder[] = [];
  private position = new Map<string, number>();
  private rows = 0;

  get count(): number {
    return this.rows;
  }

  add(record: unknown, where: string): void {
    if (record === null || typeof record !== 'object' || Array.isArray(record)) throw new DataFormatError(`${where} is not a JSON object`);
    const filled = this.builders.length > 0 ? new Uint8Array(this.builders.length) : undefined;
    for (const [key, value] of Object.entries(record as Record<string, unknown>)) {
      if (value !== null && typeof value === 'object') throw new DataFormatError(`${where}, field "${key}" holds a nested ${Array.isArray(value) ? 'array' : 'object'}`);
      let j = this.position.get(key);
      if (j === undefined) {
        // a key first seen now: earlier records lacked it
        j = this.builders.length;
        const builder = new ColumnBuilder(key);
        for (let r = 0; r < this.rows; r++) builder.add(null);
        this.builders.push(builder);
        this.position.set(key, j);
      } else if (filled) {
        filled[j] = 1;
      }
      this.builders[j].add(value === null || value === undefined ? null : String(value));
    }
    if (filled) for (let j = 0; j < filled.length; j++) if (!filled[j]) this.builders[j].add(null);
    this.rows++;
  }

  build(emptyMessage: string): Table {
    if (this.builders.length === 0) throw new DataFormatError(emptyMessage);
    return { rowCount: this.rows, columns: this.builders.map((b) => b.build()) };
  }
}

/** Parses JSON Lines: one JSON object per line. */
export function parseJsonLines(text: string): Table {
  const reader = new JsonLinesReader();
  reader.push(text, true);
  return reader.end();
}

/** Parses JSON Lines arriving in chunks; a line may span chunks (JSON text holds no raw line breaks). */
export async function parseJsonLinesStream(chunks: AsyncIterable<string>): Promise<Table> {
  const reader = new JsonLinesReader();
  for await (const chunk of chunks) reader.push(chunk, false);
  reader.push('', true);
  return reader.end();
}

class JsonLinesReader {
  private readonly collector = new RecordCollector();
  private carry = '';
  private line = 0;

  push(chunk: string, final: boolean): void {
    let text = this.carry + chunk;
    if (this.line === 0 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    const lines = text.split('\n');
    this.carry = final ? '' : lines.pop()!;
    for (const raw of lines) {
      this.line++;
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (line.trim() === '') continue;
      let record: unknown;
      try {
        record = JSON.parse(line);
      } catch (err) {
        throw new DataFormatError(`malformed JSON Lines: line ${this.line}: ${(err as Error).message}`);
      }
      this.collector.add(record, `malformed JSON Lines: line ${this.line}`);
    }
  }

  end(): Table {
    return this.collector.build('JSON Lines input holds no records');
  }
}
