/**
 * What a training pipeline is asked to do: the data, target, features, trainer, search and approval
 * policy. The workflow contract (workflows/definitions.ts) and the registry (a version keeps the request
 * that produced it, for retraining) both speak it.
 */
import type { FamilyParams, ModelKind } from '../ml/families';
import type { RecipeSpec } from '../ml/recipe';
import type { FormatName } from '../ingest/formats';
import type { Task } from '../ml/task';

export interface SearchSpec {
  strategy?: 'grid' | 'random' | 'halving';
  /** Grid strategy: the L2 values to try. */
  l2?: number[];
  /** Random and halving: how many points to sample, log-uniformly from `l2Range`. */
  trials?: number;
  l2Range?: [number, number];
  /** Trials scored at once (bounded concurrency). */
  parallelism?: number;
}

export interface ApprovalPolicy {
  /** `auto`: approve when every threshold passes, reject otherwise. `manual`: wait for a person. */
  mode: 'manual' | 'auto';
  /** Minimum metric values (`logLoss` is a maximum), e.g. `{ "auc": 0.8 }`. */
  thresholds?: Record<string, number>;
  /** How long a manual approval may wait before the run is rejected, e.g. '72 hours'. */
  timeout?: string;
}

export interface TrainerSpec {
  /**
   * Model family (src/ml/families), or `custom`: training code an admin registered (`name`), run on the
   * workers that opt in, its model then imported. Absent means the default family for the target's task.
   */
  kind?: ModelKind | 'custom';
  /** The registered trainer, when `kind` is `custom`. */
  name?: string;
  /** `l2` for every family, and the settings the family's params schema accepts; a custom trainer's params.json. */
  params?: FamilyParams;
  /**
   * Search over the L2 strength; the lowest validation loss wins. `grid` (default) tries `l2` inside one
   * training activity; `random` and `halving` sample `trials` points from `l2Range` and score each as
   * its own activity, `parallelism` at a time.
   */
  search?: SearchSpec;
}

/**
 * Where a run's data comes from: a file under a data root or an http(s) URL (`format`: one of the
 * registry's in src/ingest/formats; by default from the extension, else CSV), a query on a connection
 * an admin registered, or a dataset version already stored (an upload, or an earlier run's).
 */
export type PipelineData =
  | { uri: string; format?: FormatName }
  | { connection: string; query: string }
  | { dataset: string };

/** A model trained elsewhere, uploaded as an ONNX file: the run imports it instead of training one. */
export interface ModelImport {
  /** The uploaded file in the artifact store. */
  onnxDigest: string;
  uploadedBy: string;
  task?: Task;
  /** Graph input -> column (or -> the columns of an [N, k] input, in order). */
  features?: Record<string, string | string[]>;
  /** Class labels in the order of the probability columns, for a graph that names none. */
  classes?: string[];
  /** The graph output to read as probabilities or value, when several could be. */
  output?: string;
}

export interface PipelineInput {
  model: string;
  /**
   * The training data, or for an import the evaluation data. Absent, with `target`, only for an imported
   * model that comes without evaluation data (an MLflow version whose run names none): the run skips
   * ingest, validation and scoring, and its approval request says the model was not scored.
   */
  data?: PipelineData;
  /** The column the model predicts. */
  target?: string;
  /** Feature columns; default: every numeric column and every text column with few categories, except the target. */
  features?: string[];
  positiveClass?: string;
  /** Columns whose values split the test rows into slices, each scored on its own (e.g. region, plan). */
  evaluation?: { sliceBy?: string[] };
  /** How features are prepared: imputation and scaling of numbers (text features are one-hot encoded). */
  preprocessing?: RecipeSpec;
  trainer?: TrainerSpec;
  approval?: ApprovalPolicy;
  seed?: number;
  /** Who started the run (user or system), for the audit trail. */
  requestedBy?: string;
  /** Set by the starter when the MlopsModel/MlopsStage search attributes exist on the server. */
  useSearchAttributes?: boolean;
  /** Why the run started, when not by a person: a monitor's breach or a schedule. */
  trigger?: RetrainTrigger;
  /** Set when the run brings its own model (POST /v1/models/:name/versions): imported, then evaluated like any other. */
  import?: ModelImport;
}

/** What started a retraining run; recorded with the run and its model version. */
export interface RetrainTrigger {
  kind: 'drift' | 'quality' | 'new-data' | 'schedule' | 'manual';
  reason: string;
  /** The monitor check that found the breach. */
  checkId?: string;
}
