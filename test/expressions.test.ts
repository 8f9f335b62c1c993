import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCsv } from '../src/ml/csv';
import { evaluateDerived, ExpressionError, parseDerived } from '../src/ml/expressions';
import { predictProba, trainLogistic } from '../src/ml/logistic';
import { exportLogisticToOnnx } from '../src/ml/onnx-export';
import { prepareData } from '../src/ml/prepare';
import { applyRecipe } from '../src/ml/recipe';
import { createRng } from '../src/ml/random';
import { Table } from '../src/ml/table';
import { validateForTraining } from '../src/ml/validate';
import { tableFeeds } from '../src/serving/feeds';
import { createSession, runClassifier } from '../src/serving/onnx-runner';

/** People with weight and height; the label depends on BMI, which neither column shows alone. */
function people(rows: number): Table {
  const rng = createRng(17);
  const weight = new Float64Array(rows), height = new Float64Array(rows);
  const codes = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    height[i] = 150 + 40 * rng();
    weight[i] = 45 + 70 * rng();
    const bmi = weight[i] / (height[i] / 100) ** 2;
    codes[i] = bmi + 3 * (rng() - 0.5) > 27 ? 1 : 0;
    if (i % 13 === 0) weight[i] = NaN;
  }
  return { rowCount: rows, columns: [
    { name: 'weight', kind: 'number', values: weight },
    { name: 'height', kind: 'number', values: height },
    { name: 'at_risk', kind: 'string', codes, dictionary: ['no', 'yes'] },
  ] };
}

describe('derived features', () => {
  it('parses name = expression and evaluates it on columns, missing where not finite', () => {
    const f = parseDerived('bmi = weight / (height / 100) ^ 2');
    assert.equal(f.name, 'bmi');
    assert.deepEqual(f.inputs, ['weight', 'height']);
    const columns: Record<string, Float64Array> = { weight: Float64Array.from([81, NaN, 50]), height: Float64Array.from([180, 170, 0]) };
    const values = evaluateDerived(f, (name) => columns[name], 3);
    assert.ok(Math.abs(values[0] - 25) < 1e-12);
    assert.ok(Number.isNaN(values[1]) && Number.isNaN(values[2]));
    const g = parseDerived('score = -log(abs(x) + 1) * 2 + sqrt(y)');
    assert.ok(Math.abs(evaluateDerived(g, () => Float64Array.from([3]), 1)[0] - (-Math.log(4) * 2 + Math.sqrt(3))) < 1e-12);
  });

  it('refuses what mathjs rejects or what cannot be compiled, saying why', () => {
    assert.throws(() => parseDerived('bmi = weight / ('), (e: Error) => e instanceof ExpressionError && /not a valid expression/.test(e.message));
    assert.throws(() => parseDerived('weight / height'), /must name the new feature/);
    assert.throws(() => parseDerived('x = a > b'), /operator ">" is not supported/);
    assert.throws(() => parseDerived('x = sin(a)'), /function "sin" is not supported/);
    assert.throws(() => parseDerived('x = "text"'), /only numeric constants/);
    assert.throws(() => parseDerived('x = [1, 2]'), /ArrayNode is not supported/);
  });

  it('validates expressions against the data before training', () => {
    const table = parseCsv('weight,height,name,y\n80,180,a,1\n70,170,b,0\n');
    const codes = (derive: string[]) => validateForTraining(table, { target: 'y', derive, minRows: 1, minClassCount: 1 }).issues.filter((i) => i.severity === 'error').map((i) => i.code);
    assert.deepEqual(codes(['bmi = weight / (height / 100) ^ 2']), []);
    assert.deepEqual(codes(['bmi = weight / (heigth / 100) ^ 2']), ['unknown_column']);
    assert.deepEqual(codes(['x = name * 2']), ['expression_not_numeric']);
    assert.deepEqual(codes(['weight = height * 2']), ['derived_name_taken']);
    assert.deepEqual(codes(['x = y * 2']), ['target_in_expression']);
    assert.deepEqual(codes(['x = (']), ['invalid_expression']);
    assert.deepEqual(codes(['bmi = weight / (height / 100) ^ 2', 'bmi2 = bmi ^ 2']), [], 'a derived feature may build on an earlier one');
  });

  it('computes them inside the ONNX graph, agreeing with TypeScript to 1e-5, and they carry the signal', async () => {
    const table = people(4_000);
    const withBmi = prepareData(table, { target: 'at_risk', numeric: ['weight', 'height'], task: 'binary', positiveClass: 'yes', seed: 1, recipe: { derive: ['bmi = weight / (height / 100) ^ 2'] } });
    assert.deepEqual(withBmi.features, ['weight', 'height', 'bmi']);
    const { model } = trainLogistic(withBmi.x.train, withBmi.y.train, withBmi.x.validation, withBmi.y.validation, { features: withBmi.features, classes: withBmi.classes as [string, string], l2Grid: [1e-4] });
    const session = await createSession(exportLogisticToOnnx(withBmi.recipe, model));
    const rows = withBmi.split.test;
    const expected = predictProba(model, applyRecipe(withBmi.recipe, table, rows));
    const { probabilities } = await runClassifier(session, tableFeeds({ numeric: ['weight', 'height'], categorical: [] }, table, rows));
    for (let i = 0; i < rows.length; i++) assert.ok(Math.abs(probabilities[i * 2 + 1] - expected[i]) < 1e-5, `row ${i}: ${probabilities[i * 2 + 1]} vs ${expected[i]}`);
    await session.release();
    assert.ok(Math.abs(model.weights[2]) > Math.abs(model.weights[1]), 'bmi outweighs height alone');
  });
});
