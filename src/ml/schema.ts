/**
 * Data schemas and anomalies (TFX SchemaGen / ExampleValidator's roles): a schema is inferred from the
 * first dataset a model is trained on and kept with the model; every later dataset is checked against
 * it and against the statistics of the dataset the production version was trained on.
 */
import type { ColumnStatistics } from './statistics';
import type { Severity, ValidationIssue } from './validate';

export interface SchemaColumn {
  name: string;
  type: 'number' | 'string';
  /** Observed range (numbers). */
  min?: number;
  max?: number;
  /** Observed categories (text with at most MAX_DOMAIN values). */
  domain?: string[];
  /** Largest share of missing values expected: the observed share plus a margin. */
  maxMissingRatio: number;
}

export interface DataSchema {
  columns: SchemaColumn[];
}

const MAX_DOMAIN = 100;
const MISSING_MARGIN = 0.1;
/** A mean that moves by more than this many (reference) standard deviations is reported as skew. */
export const SKEW_THRESHOLD = 0.5;

/** Infers a schema from one dataset version's statistics. */
export function inferSchema(statistics: ColumnStatistics[]): DataSchema {
  return {
    columns: statistics.map((s): SchemaColumn => {
      const rows = s.count + s.missing;
      const maxMissingRatio = Math.min(1, (rows > 0 ? s.missing / rows : 0) + MISSING_MARGIN);
      if (s.type === 'number') return { name: s.name, type: 'number', min: s.min ?? undefined, max: s.max ?? undefined, maxMissingRatio };
      // top holds at most ten values; the domain is only known when the column has no more than that
      return { name: s.name, type: 'string', ...(s.distinct <= s.top.length && s.distinct <= MAX_DOMAIN ? { domain: s.top.map((t) => t.value).sort() } : {}), maxMissingRatio };
    }),
  };
}

/**
 * Anomalies of a dataset against a schema and (optionally) the previous version's statistics.
 * `used` names the columns the model reads: problems there are errors, elsewhere warnings.
 */
export function detectAnomalies(schema: DataSchema, current: ColumnStatistics[], o: { used: Set<string>; previous?: ColumnStatistics[] }): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const add = (severity: Severity, code: string, column: string, message: string) => issues.push({ severity, code, column, message });
  const byName = new Map(current.map((s) => [s.name, s]));
  for (const expected of schema.columns) {
    const s = byName.get(expected.name);
    const important = o.used.has(expected.name);
    if (!s) {
      add(important ? 'error' : 'warning', 'schema_missing_column', expected.name, `column "${expected.name}" of the model's schema is missing`);
      continue;
    }
    if (s.type !== expected.type) {
      add(important ? 'error' : 'warning', 'schema_type_changed', expected.name, `column "${expected.name}" was ${expected.type === 'number' ? 'numeric' : 'text'} and is now ${s.type === 'number' ? 'numeric' : 'text'}`);
      continue;
    }
    const rows = s.count + s.missing;
    const missingRatio = rows > 0 ? s.missing / rows : 0;
    if (missingRatio > expected.maxMissingRatio) {
      add('warning', 'schema_missing_ratio', expected.name, `column "${expected.name}" is ${(missingRatio * 100).toFixed(1)}% missing; the schema expects at most ${(expected.maxMissingRatio * 100).toFixed(1)}%`);
    }
    if (s.type === 'number' && expected.min !== undefined && expected.max !== undefined && s.min !== null && s.max !== null && (s.min < expected.min || s.max > expected.max)) {
      add('warning', 'schema_out_of_range', expected.name, `column "${expected.name}" spans ${s.min} to ${s.max}, outside the schema's ${expected.min} to ${expected.max}`);
    }
    if (s.type === 'string' && expected.domain) {
      const unknown = s.top.map((t) => t.value).filter((v) => !expected.domain!.includes(v));
      if (unknown.length > 0) add('warning', 'schema_new_categories', expected.name, `column "${expected.name}" has categories the schema does not know: ${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ', ...' : ''}`);
    }
  }
  for (const s of current) {
    if (!schema.columns.some((c) => c.name === s.name)) add('warning', 'schema_unexpected_column', s.name, `column "${s.name}" is not in the model's schema`);
  }
  for (const before of o.previous ?? []) {
    const now = byName.get(before.name);
    if (!now || now.type !== 'number' || before.type !== 'number' || before.mean === null || now.mean === null || !before.std) continue;
    const shift = Math.abs(now.mean - before.mean) / before.std;
    if (shift > SKEW_THRESHOLD) {
      add('warning', 'distribution_skew', before.name, `the mean of "${before.name}" moved by ${shift.toFixed(2)} standard deviations since the production version's data (${before.mean.toPrecision(4)} to ${now.mean.toPrecision(4)})`);
    }
  }
  return issues;
}
