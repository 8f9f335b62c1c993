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

/** Why a request naming `asked` as its format is refused. */
export function unknownFormat(asked: unknown): string {
  return `${JSON.stringify(asked)} is not a known format; known: ${FORMAT_NAMES.join(', ')}`;
}

/** The format called `name`, if one is. */
export function findFormat(name: unknown): DataFormat | undefined {
  return FORMATS.find((f) => f.name === name);
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
