/**
 * The model family registry: one line per family. Everything that names kinds is derived from it:
 * the ModelKind union, MODEL_KINDS (the API's and OpenAPI's enums), the default family per task, the
 * API's trainer schema (keyed by kind, with each family's params schema) and the training dispatch.
 * Adding a family: a file next to this one (see family.ts and docs/extending.md) and a line here.
 */
import type { z } from 'zod';
import { FittedRecipe } from '../recipe';
import { SearchCandidate } from '../search';
import { Task } from '../task';
import { ModelFamily, TrainingData } from './family';
import { gbdt } from './gbdt';
import { logistic } from './logistic';
import { mlp } from './mlp';
import { ridge } from './ridge';
import { softmax } from './softmax';

export const FAMILIES = [logistic, softmax, ridge, mlp, gbdt] as const;

type Family = (typeof FAMILIES)[number];
export type ModelKind = Family['kind'];
/** `trainer.params` of any family, as its schema outputs them. */
export type FamilyParams = z.output<Family['paramsSchema']>;

export const MODEL_KINDS = FAMILIES.map((f) => f.kind) as [ModelKind, ...ModelKind[]];

export type { FittedModel, ModelFamily, TrainingData } from './family';
export { familyParams, sharedParams } from './family';

/** The family of a kind; throws for a kind no family has (a request the API should have refused). */
export function familyOf(kind: string): ModelFamily<ModelKind> {
  const family = FAMILIES.find((f) => f.kind === kind);
  if (!family) throw new Error(`no model family is called "${kind}"; available: ${MODEL_KINDS.join(', ')}`);
  return family as ModelFamily<ModelKind>;
}

/** The family chosen for a task when a request names none. */
export function defaultKind(task: Task): ModelKind {
  return FAMILIES.find((f) => (f.defaultFor as readonly Task[]).includes(task))!.kind;
}

/**
 * Fits a family and encodes the winner as ONNX. `params` were checked against the family's schema
 * when the run was requested; runs recorded before that check replay with what they recorded.
 */
export function fitToOnnx(kind: ModelKind, data: TrainingData, params: FamilyParams | undefined, recipe: FittedRecipe): { onnx: Uint8Array; l2: number; search: SearchCandidate[] } {
  const family = familyOf(kind);
  const fitted = family.train(data, params ?? {});
  return { onnx: family.exportOnnx(recipe, fitted.model), l2: fitted.l2, search: fitted.search };
}
