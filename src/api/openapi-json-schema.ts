/**
 * zod schemas to the JSON Schema (draft 2020-12) that OpenAPI 3.1 embeds, with zod 4's own
 * `z.toJSONSchema` and a few corrections where its output would mislead a reader or a fuzzer.
 */
import { z } from 'zod';

export type JsonSchema = Record<string, unknown>;

export const componentRef = (name: string) => `#/components/schemas/${name}`;

const SAFE_INTEGER = Number.MAX_SAFE_INTEGER;

/**
 * JSON Schema has no regex flags, so a case-insensitive zod regex would be documented as a stricter
 * one (MODEL_NAME is /…/i: the document would refuse "Cancer", which the API accepts). Letters are
 * widened to both cases: a-z ranges inside classes gain A-Z, single letters become [xX].
 */
export function caseInsensitivePattern(source: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') { out += c + (source[i + 1] ?? ''); i++; continue; }
    if (c === '[' && !inClass) { inClass = true; out += c; continue; }
    if (c === ']' && inClass) { inClass = false; out += c; continue; }
    if (inClass && /[a-z]/i.test(c) && source[i + 1] === '-' && /[a-z]/i.test(source[i + 2] ?? '')) {
      const [from, to] = [c, source[i + 2]];
      out += `${from.toLowerCase()}-${to.toLowerCase()}${from.toUpperCase()}-${to.toUpperCase()}`;
      i += 2;
      continue;
    }
    if (/[a-z]/i.test(c)) out += inClass ? c.toLowerCase() + c.toUpperCase() : `[${c.toLowerCase()}${c.toUpperCase()}]`;
    else out += c;
  }
  return out;
}

/** The regexes a zod string schema checks (zod keeps them, flags included, on its checks). */
function regexesOf(schema: unknown): RegExp[] {
  const checks = (schema as { _zod?: { def?: { checks?: { _zod?: { def?: { pattern?: unknown } } }[] } } })._zod?.def?.checks ?? [];
  return checks.map((c) => c._zod?.def?.pattern).filter((p): p is RegExp => p instanceof RegExp);
}

function correct(ctx: { zodSchema: unknown; jsonSchema: JsonSchema }): void {
  const s = ctx.jsonSchema;
  // a field that must be absent (`z.undefined().optional()`, e.g. `kind` in the trainer branch without
  // one): zod has no JSON for undefined and writes {}, which would allow anything
  if ((ctx.zodSchema as { _zod?: { def?: { type?: string } } })._zod?.def?.type === 'undefined') {
    for (const key of Object.keys(s)) delete s[key];
    s.not = {};
    return;
  }
  // zod writes the safe-integer limits on every int; they say nothing a reader needs
  if (s.type === 'integer') {
    if (s.maximum === SAFE_INTEGER) delete s.maximum;
    if (s.minimum === -SAFE_INTEGER) delete s.minimum;
  }
  // `format: date-time` says it; zod's 600-character pattern for it only hides the rest
  if (s.format === 'date-time') delete s.pattern;
  if (typeof s.pattern === 'string') {
    const regex = regexesOf(ctx.zodSchema).find((p) => p.source === s.pattern);
    if (regex?.flags.includes('i')) s.pattern = caseInsensitivePattern(regex.source);
    else if (regex && /[msuy]/.test(regex.flags)) throw new Error(`the pattern /${regex.source}/${regex.flags} has flags JSON Schema cannot express`);
  }
}

const options = (io: 'input' | 'output') => ({ target: 'draft-2020-12' as const, io, unrepresentable: 'any' as const, override: correct });

/** One schema on its own (a parameter's), without the `$schema` header. */
export function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output' = 'input'): JsonSchema {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, options(io)) as JsonSchema;
  return rest;
}

/**
 * Named schemas as OpenAPI components: each becomes `#/components/schemas/<name>`, and a named schema
 * used inside another is referenced rather than repeated. Requests are described as they are accepted
 * (`input`: fields with defaults are optional), responses as they are sent (`output`).
 */
export function componentsOf(named: Record<string, z.ZodType>, io: 'input' | 'output'): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(named)) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, { ...options(io), uri: componentRef }) as { schemas: Record<string, JsonSchema> };
  return Object.fromEntries(Object.entries(schemas).map(([id, { $schema: _s, $id: _i, ...rest }]) => [id, rest]));
}
