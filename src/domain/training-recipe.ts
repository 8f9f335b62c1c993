/** What decides a trained model's bytes: kept with every version so it can be retrained and compared. */
import type { FamilyParams, ModelKind } from '../ml/families';
import type { RecipeSpec } from '../ml/recipe';
import type { Task } from '../ml/task';

export interface FeatureSpec {
  datasetId: string;
  /** Absent in runs recorded before multi-class and regression existed: binary, and binary's default family. */
  task?: Task;
  kind?: ModelKind;
  target: string;
  /** Raw features: every one, and which of them are numeric or text (one-hot encoded). */
  features: string[];
  numeric?: string[];
  categorical?: string[];
  recipe?: RecipeSpec;
  /** Family settings, as the family's params schema accepted them. */
  modelParams?: FamilyParams;
  positiveClass?: string;
  seed: number;
}

/** Everything that decides a model's bytes: the feature spec and the chosen strength. Kept with each version. */
export type TrainingRecipe = FeatureSpec & { l2: number };
