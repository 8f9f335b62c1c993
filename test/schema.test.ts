import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCsv } from '../src/ml/csv';
import { detectAnomalies, inferSchema } from '../src/ml/schema';
import { tableStatistics } from '../src/ml/statistics';

const stats = (csv: string) => tableStatistics(parseCsv(csv));
const codes = (issues: { severity: string; code: string }[]) => issues.map((i) => `${i.severity}:${i.code}`).sort();

describe('data schema and anomalies', () => {
  const first = 'age,plan,spend,y\n30,basic,10,0\n40,pro,12,1\n50,basic,11,0\n60,pro,13,1\n';
  const schema = inferSchema(stats(first));

  it('infers types, ranges, domains and an allowed missing share', () => {
    assert.deepEqual(schema.columns.map((c) => [c.name, c.type]), [['age', 'number'], ['plan', 'string'], ['spend', 'number'], ['y', 'number']]);
    assert.deepEqual([schema.columns[0].min, schema.columns[0].max], [30, 60]);
    assert.deepEqual(schema.columns[1].domain, ['basic', 'pro']);
    assert.equal(schema.columns[0].maxMissingRatio, 0.1);
  });

  it('finds nothing in data like the first', () => {
    assert.deepEqual(detectAnomalies(schema, stats(first), { used: new Set(['age', 'plan', 'spend', 'y']), previous: stats(first) }), []);
  });

  it('reports missing columns and type changes as errors where the model reads them, warnings elsewhere', () => {
    const later = stats('age,plan,y,extra\nthirty,basic,0,1\n35,pro,1,2\n');
    const used = new Set(['age', 'plan', 'spend', 'y']);
    assert.deepEqual(codes(detectAnomalies(schema, later, { used })), ['error:schema_missing_column', 'error:schema_type_changed', 'warning:schema_unexpected_column']);
    assert.deepEqual(codes(detectAnomalies(schema, later, { used: new Set(['y']) })), ['warning:schema_missing_column', 'warning:schema_type_changed', 'warning:schema_unexpected_column']);
  });

  it('warns about new categories, values out of range, missing-value jumps and skew against the previous data', () => {
    const later = stats('age,plan,spend,y\n90,team,,0\n95,basic,,1\n99,pro,12,0\n98,pro,13,1\n');
    const issues = detectAnomalies(schema, later, { used: new Set(['age', 'plan', 'spend', 'y']), previous: stats(first) });
    assert.deepEqual(codes(issues), ['warning:distribution_skew', 'warning:distribution_skew', 'warning:schema_missing_ratio', 'warning:schema_new_categories', 'warning:schema_out_of_range']);
    assert.match(issues.find((i) => i.code === 'schema_new_categories')!.message, /team/);
    assert.match(issues.find((i) => i.code === 'distribution_skew')!.message, /"age" moved by/);
  });
});
