/**
 * The format registry: one line per format. Everything that names formats is derived from it: the
 * FormatName union (PipelineData, so the workflow's input type), FORMAT_NAMES (the pipeline request's
 * and the upload's enums, hence OpenAPI's), the choice by extension and by upload content type, and
 * the dispatch. Adding a format: a file next to this one (see format.ts and docs/extending.md) and a
 * line here.
 */
import { DataFormat } from './format';
import { csv } from './csv';
import { json } from './json';
import { jsonl } from './jsonl';
import { parquet } from './parquet';

export const FORMATS = [csv, jsonl, json, parquet] as const;

export type FormatName = (typeof FORMATS)[number]['name'];
export const FORMAT_NAMES = FORMATS.map((f) => f.name) as [FormatName, ...FormatName[]];

export type { DataFormat } from './format';

/** What a source is read as when neither its `format` nor its extension says. */
const FALLBACK: DataFormat = csv;

/** The format called `name`; throws for a name no format has (a request the API should have refused). */
export function formatNamed(name: string): DataFormat {
  const format = FORMATS.find((f) => f.name === name);
  if (!format) throw new Error(`no data format is called "${name}"; known: ${FORMAT_NAMES.join(', ')}`);
  return format;
}

/** The format a path or URL's extension names (ignoring any query string or fragment), else CSV. */
export function formatOf(uri: string): DataFormat {
  const path = uri.replace(/[?#].*$/, '').toLowerCase();
  return FORMATS.find((f) => f.extensions.some((extension) => path.endsWith(extension))) ?? FALLBACK;
}

/** The format an upload's content type names, if any. */
export function formatOfMediaType(type: string): DataFormat | undefined {
  const bare = type.split(';')[0].trim().toLowerCase();
  return FORMATS.find((f) => f.mediaTypes.includes(bare));
}
