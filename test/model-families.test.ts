/**
 * The model family registry: kinds, defaults, validation and the API's trainer schema all come from it,
 * and every family learns each task it claims through the one dispatch (fitToOnnx), ONNX included.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ApiError } from '../src/errors';
import { parseBody, pipelineRequestSchema } from '../src/api/pipeline-requests';
import { jsonSchemaOf } from '../src/api/openapi-json-schema';
import { pipelineStatusSchema } from '../src/api/response-schemas';
import { parseCsv } from '../src/ml/csv';
import { defaultKind, FAMILIES, familyOf, fitToOnnx, MODEL_KINDS } from '../src/ml/families';
import { binaryMetrics, multiclassMetrics, regressionMetrics } from '../src/ml/metrics';
import { prepareData } from '../src/ml/prepare';
import { Table } from '../src/ml/table';
import { Task } from '../src/ml/task';
import { validateForTraining } from '../src/ml/validate';
import { layoutOf, tableFeeds } from '../src/serving/feeds';
import { createSession, runClassifier, runRegressor } from '../src/serving/onnx-runner';

const TASKS: Task[] = ['binary', 'multiclass', 'regression'];
const read = (name: string) => parseCsv(fs.readFileSync(path.join(__dirname, '..', 'datasets', name), 'utf8'));
const iris = read('iris.csv');
const cancer = read('breast-cancer-wisconsin.csv');
/** A table and target per task, and the least test score a model that learned anything reaches. */
const PROBLEMS: Record<Task, { table: Table; target: string; least: number }> = {
  binary: { table: cancer, target: 'diagnosis', least: 0.9 },
  multiclass: { table: iris, target: 'species', least: 0.8 },
  regression: { table: iris, target: 'petal_width', least: 0.8 },
};
// quick settings for the slow families; the others take none
const QUICK: Record<string, Record<string, unknown>> = { mlp: { hidden: [8], epochs: 60 }, gbdt: { maxIter: 30, minSamplesLeaf: 5 } };

const trainerError = (trainer: unknown): string => {
  try {
    parseBody(pipelineRequestSchema, { model: 'm', data: { dataset: 'a'.repeat(64) }, target: 'y', trainer });
  } catch (err) {
    assert.ok(err instanceof ApiError && err.code === 'invalid_request', String(err));
    return err.message;
  }
  return '';
};

describe('model family registry', () => {
  it('names each kind once, and gives every task exactly one default family that learns it', () => {
    assert.deepEqual(MODEL_KINDS, FAMILIES.map((f) => f.kind));
    assert.equal(new Set(MODEL_KINDS).size, MODEL_KINDS.length);
    for (const task of TASKS) {
      const defaults = FAMILIES.filter((f) => (f.defaultFor as readonly Task[]).includes(task));
      assert.equal(defaults.length, 1, `${task}: ${defaults.map((f) => f.kind).join(', ')}`);
      assert.ok((defaults[0].tasks as readonly Task[]).includes(task));
      assert.equal(defaultKind(task), defaults[0].kind);
    }
    assert.throws(() => familyOf('xgboost'), /no model family is called "xgboost"; available: /);
  });

  it("takes l2 in every family's params, and refuses keys a family does not know, naming them", () => {
    for (const family of FAMILIES) {
      assert.ok(family.paramsSchema.safeParse({}).success, family.kind);
      assert.ok(family.paramsSchema.safeParse({ l2: 0.1 }).success, family.kind);
      assert.ok(!family.paramsSchema.safeParse({ l2: -1 }).success, family.kind);
      const unknown = family.paramsSchema.safeParse({ l2: 0.1, bogus: 1 });
      assert.ok(!unknown.success);
      assert.match(unknown.error.issues[0].message, /takes no "bogus" \(its params: l2\b/, family.kind);
    }
  });

  it('checks a requested family against the target by the tasks it declares', () => {
    for (const family of FAMILIES) {
      const report = validateForTraining(iris, { target: 'species', kind: family.kind });
      assert.equal(report.ok, family.tasks.includes('multiclass'), `${family.kind}: ${report.issues.map((i) => i.message).join('; ')}`);
      if (report.ok) assert.deepEqual([report.task, report.kind], ['multiclass', family.kind]);
    }
    assert.equal(validateForTraining(iris, { target: 'species' }).kind, defaultKind('multiclass'));
  });

  it('trains every family on every task it claims through one dispatch, and its ONNX scores the test rows', async () => {
    for (const family of FAMILIES) {
      for (const task of family.tasks) {
        const { table, target, least } = PROBLEMS[task];
        const numeric = table.columns.filter((c) => c.name !== target && c.kind === 'number').map((c) => c.name);
        const data = prepareData(table, { target, numeric, task, seed: 3 });
        const fitted = fitToOnnx(family.kind, { ...data, seed: 3, search: { l2Grid: [1e-3, 1e-1] } }, QUICK[family.kind] ?? {}, data.recipe);
        assert.equal(fitted.search.length, 2, `${family.kind}/${task}: both strengths scored`);
        assert.ok([1e-3, 1e-1].includes(fitted.l2));
        const session = await createSession(fitted.onnx);
        try {
          const feeds = tableFeeds(layoutOf({ features: numeric, numeric }), table, data.split.test);
          const y = data.y.test;
          let score: number;
          if (task === 'regression') score = regressionMetrics(y, await runRegressor(session, feeds)).r2;
          else {
            const { probabilities, classes } = await runClassifier(session, feeds);
            assert.equal(classes, data.classes.length);
            score = task === 'binary'
              ? binaryMetrics(y, Float64Array.from({ length: y.length }, (_, i) => probabilities[i * 2 + 1])).auc
              : multiclassMetrics(y, Float64Array.from(probabilities), classes).accuracy;
          }
          assert.ok(score >= least, `${family.kind} on ${task}: ${score} < ${least}`);
        } finally {
          await session.release();
        }
      }
    }
  });
});

describe('trainer schema of POST /v1/pipelines', () => {
  it("accepts each family with its own params and refuses another family's, or an unknown kind, with the list", () => {
    for (const family of FAMILIES) assert.equal(trainerError({ kind: family.kind, params: { l2: 0.1 }, search: { l2: [0.1, 1] } }), '', family.kind);
    assert.equal(trainerError({ kind: 'mlp', params: { hidden: [8], epochs: 5 } }), '');
    assert.match(trainerError({ kind: 'xgboost' }), new RegExp(`trainer\\.kind: "xgboost" is not supported; available: ${MODEL_KINDS.join(', ')}`));
    assert.match(trainerError({ kind: 7 }), /trainer\.kind: 7 is not supported/);
    assert.match(trainerError({ kind: 'softmax', params: { hidden: [8] } }), /trainer\.params: this family takes no "hidden" \(its params: l2\)/);
    assert.match(trainerError({ kind: 'mlp', params: { hidden: [8, 8, 8] } }), /trainer\.params\.hidden/);
  });

  it('takes only l2 without a kind, since the family follows from the target', () => {
    assert.equal(trainerError({ params: { l2: 0.5 } }), '');
    assert.equal(trainerError({ search: { strategy: 'random', l2Range: [0.01, 1] } }), '');
    assert.match(trainerError({ params: { penalty: 'l1' } }), /trainer\.params: "penalty" needs "trainer\.kind"/);
  });

  it('documents one branch per family, one for registered trainers and a kindless one, and the kinds a run reports, from the registry', () => {
    const request = jsonSchemaOf(pipelineRequestSchema) as { properties: { trainer: { oneOf: { properties: { kind: Record<string, unknown>; params: { properties: object } } }[] } } };
    const branches = request.properties.trainer.oneOf;
    assert.deepEqual(branches.map((b) => b.properties.kind.const ?? b.properties.kind), [...MODEL_KINDS, 'custom', { not: {} }]);
    for (const family of FAMILIES) {
      const documented = Object.keys(branches[MODEL_KINDS.indexOf(family.kind)].properties.params.properties);
      assert.deepEqual(documented, Object.keys((jsonSchemaOf(family.paramsSchema) as { properties: object }).properties));
    }
    const status = jsonSchemaOf(pipelineStatusSchema, 'output') as { properties: { kind: { enum: string[] } } };
    // a run reports its family, or that its model was imported or made by a registered trainer
    assert.deepEqual(status.properties.kind.enum, [...MODEL_KINDS, 'import', 'custom']);
  });
});
