/**
 * What a model family is: the tasks it learns, its settings (a strict zod schema, so a typo is a 400
 * before a run starts), a pure fit on typed arrays, and its ONNX head. The registry in index.ts lists
 * the families; the kind union, the API's trainer schema, the OpenAPI enum and the training thread's
 * dispatch are derived from it. No Temporal, no I/O: families are tested and benchmarked on their own.
 */
import { z } from 'zod';
import { Matrix } from '../features';
import { FittedRecipe } from '../recipe';
import { SearchCandidate, SearchOptions } from '../search';
import { Task } from '../task';

/** The prepared split a family fits on: training rows column-major, validation rows row-major. */
export interface TrainingData {
  task: Task;
  /** Names of the preprocessed columns, in matrix order. */
  features: string[];
  /** Class labels in output order ([negative, positive] for binary); empty for regression. */
  classes: string[];
  x: { train: Float64Array[]; validation: Matrix };
  y: { train: Float64Array; validation: Float64Array };
  /** Seeds every random choice, so the same data and settings give the same bytes. */
  seed: number;
  /** The L2 grid, candidates an earlier attempt scored, and progress callbacks (heartbeats). */
  search: SearchOptions;
}

export interface FittedModel<M> {
  model: M;
  /** The winning strength of the searched penalty. */
  l2: number;
  /** Every candidate scored, including those carried over from `search.done`. */
  search: SearchCandidate[];
}

export interface ModelFamily<K extends string = string, P = unknown, M = unknown> {
  /** The name users write in `trainer.kind`, recorded with every run and as the ONNX graph's name. */
  kind: K;
  /** Tasks the family learns. */
  tasks: readonly Task[];
  /** Tasks for which it is chosen when a request names no kind (each task has exactly one default). */
  defaultFor: readonly Task[];
  /** One line for the docs and error messages. */
  summary: string;
  /** `trainer.params`, strict: unknown keys are refused. Build it with `familyParams`. */
  paramsSchema: z.ZodType<P>;
  /** Searches `data.search.l2Grid` and returns the best model. Pure and deterministic. */
  train(data: TrainingData, params: P): FittedModel<M>;
  /** The model as an ONNX graph with the recipe's preprocessing inside (see onnx-export.ts). */
  exportOnnx(recipe: FittedRecipe, model: M): Uint8Array;
}

/** The one setting every family takes: the L2 strength; a single value replaces the search grid. */
const L2 = z.number().positive().finite().optional();

const listKeys = (keys: string[]) => keys.map((k) => `"${k}"`).join(', ');

/** A family's `trainer.params` schema: `l2` plus its own settings, refusing keys it does not know. */
export function familyParams<S extends z.ZodRawShape>(shape: S) {
  const known = ['l2', ...Object.keys(shape)];
  return z.strictObject({ l2: L2, ...shape }, {
    error: (issue) => (issue.code === 'unrecognized_keys' ? `this family takes no ${listKeys(issue.keys)} (its params: ${known.join(', ')})` : undefined),
  });
}

/** `trainer.params` when no kind is named: the family follows from the target, so only `l2` applies. */
export const sharedParams = z.strictObject({ l2: L2 }, {
  error: (issue) => (issue.code === 'unrecognized_keys' ? `${listKeys(issue.keys)} needs "trainer.kind": without a kind the family follows from the target, and only "l2" applies` : undefined),
});

/** Declares a family; the identity, with the types checked and the literal kind kept. */
export function defineFamily<const K extends string, P, M>(family: ModelFamily<K, P, M>): ModelFamily<K, P, M> {
  return family;
}
