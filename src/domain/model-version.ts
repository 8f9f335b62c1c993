/**
 * The model registry's domain: a version's signature, its governance status and the edges that status
 * may move along, its deployment state (derived, never stored), and the artifacts and recipe kept with
 * it. Plain types and tables: the store, workflows, activities and the API all import them from here.
 */
import type { Task } from '../ml/task';
import type { GraphRewrite, ImportedInput, ImportedOutputs } from './imported-model';
import type { PipelineInput, RetrainTrigger } from './pipeline-input';
import type { TrainingRecipe } from './training-recipe';

export const PRODUCTION_ALIAS = 'production';

/** A model's name: 1-63 letters, digits, - or _, starting with a letter or digit (it appears in URLs, ids and metrics). */
export const MODEL_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/i;

/**
 * Governance: what reviewers decided about a version. Deployment is another question (see
 * DeploymentState): an approved version may be in production, rolling out, retired or never deployed.
 */
export type GovernanceStatus = 'pending_approval' | 'approved' | 'rejected' | 'archived';

/**
 * The only edges a governance status may move along; the store refuses any other (a database trigger
 * holds the same table, so not even a hand-written UPDATE can skip an approval).
 */
export const GOVERNANCE_TRANSITIONS: Readonly<Record<GovernanceStatus, readonly GovernanceStatus[]>> = {
  pending_approval: ['approved', 'rejected'],
  approved: ['archived'],
  rejected: ['archived'],
  archived: [],
};

export const GOVERNANCE_STATUSES = Object.keys(GOVERNANCE_TRANSITIONS) as GovernanceStatus[];

/** Only an approved version may take production traffic (directly, by rollout, or by rollback). */
export const DEPLOYABLE_STATUS: GovernanceStatus = 'approved';

/**
 * Where a version stands in serving, derived from the production alias, running rollouts and the
 * deployment record: `production` holds the alias, `rolling_out` is the candidate of a running rollout,
 * `retired` served once and no longer does, `none` never served.
 */
export type DeploymentState = 'production' | 'rolling_out' | 'retired' | 'none';
export const DEPLOYMENT_STATES: readonly DeploymentState[] = ['production', 'rolling_out', 'retired', 'none'];

export interface ModelSignature {
  /** binary, multiclass or regression; absent on versions registered before the task was recorded (binary). */
  task?: Task;
  /** Raw feature names a request sends: numeric ones (the `numeric` input, in this order), then text ones. */
  features: string[];
  /**
   * Numeric features, in the column order of the ONNX `numeric` input; absent on old versions (= features).
   * Imported models: the features sent as numbers (their graph inputs are in `inputs`).
   */
  numeric?: string[];
  /**
   * Text features, one-hot encoded in the graph; the i-th feeds ONNX input `categorical_<i>`.
   * Imported models: the features sent as text.
   */
  categorical?: string[];
  /** Class labels, in the column order of the ONNX output tensor; empty for regression. */
  classes: string[];
  /** ONNX input name of versions registered before text features existed. */
  input?: string;
  /** The output read: probabilities [N, K] or the predicted value. */
  output: string;
  /**
   * Columns of the training data the model does not use (the target, ignored text columns).
   * Predict accepts and ignores them, so a row copied from the dataset can be sent as it is.
   */
  unused?: string[];
  /**
   * `import`: an ONNX file trained elsewhere, whose inputs and outputs are its own (`inputs`, `outputs`).
   * Absent: trained here, with the fixed layout of ml/onnx-export.ts.
   */
  source?: 'import';
  /** Imported models: how each graph input is fed from the columns. */
  inputs?: ImportedInput[];
  /** Imported models: which outputs hold the answer. */
  outputs?: ImportedOutputs;
  /** Imported models: what was changed in the graph at import (the stored file is the changed one). */
  rewrites?: GraphRewrite[];
}

/** A signature of an imported model: its inputs and outputs are always there. */
export type ImportedSignature = ModelSignature & { source: 'import'; inputs: ImportedInput[]; outputs: ImportedOutputs };

/** Whether a version's graph is an imported one (fed and read by src/serving/imported-*.ts) rather than our own. */
export function isImported(signature: ModelSignature): signature is ImportedSignature {
  return signature.source === 'import';
}

/** Content digests (sha256) of the files kept with a version in the artifact store. */
export interface VersionArtifacts {
  /** The ONNX model, preprocessing inside the graph. */
  onnx: string;
  /** Feature distributions of the training rows: what drift monitoring compares traffic with. */
  referenceProfile: string | null;
  /** Test rows and the answers the model gave them: a replica checks them before it serves the file. */
  smokeSet: string | null;
  /** Per-row scores of the evaluation: curves and reports are drawn from it. */
  evaluation: string | null;
}

export interface ModelVersion {
  modelName: string;
  version: number;
  runId: string;
  /** The same digest as artifacts.onnx: the version's identity, kept at the top for readers of the API. */
  onnxDigest: string;
  signature: ModelSignature;
  metrics: Record<string, unknown>;
  /** The trained model's settings (family, strength, tuning summary); descriptive, never read back. */
  params: Record<string, unknown>;
  artifacts: VersionArtifacts;
  /** Everything that decides the model's bytes: retraining it on `recipe.datasetId` gives the same file. */
  recipe: TrainingRecipe | null;
  /** The pipeline request that produced it: retraining runs start from it. */
  pipelineInput: PipelineInput | null;
  /** What started the run, when not a person. */
  trigger: RetrainTrigger | null;
  /** The data it was trained or evaluated on; null for a model imported without evaluation data (unscored). */
  datasetId: string | null;
  codeVersion: string | null;
  status: GovernanceStatus;
  deployment: DeploymentState;
  createdAt: string;
}

/** What registering a version takes: number, status, deployment and times are the store's to give. */
export interface NewModelVersion {
  modelName: string;
  runId: string;
  onnxDigest: string;
  signature: ModelSignature;
  metrics: Record<string, unknown>;
  params: Record<string, unknown>;
  datasetId: string | null;
  codeVersion?: string;
  artifacts?: Partial<Omit<VersionArtifacts, 'onnx'>>;
  recipe?: TrainingRecipe;
  pipelineInput?: PipelineInput;
  trigger?: RetrainTrigger;
}

/** How a version took production: a pipeline's deploy stage or a hand-set alias (direct), a rollout's promotion, or a rollback. */
export type DeploymentStrategy = 'direct' | 'rollback' | 'blue-green' | 'canary';

export interface Deployment {
  id: number;
  deployKey: string;
  modelName: string;
  version: number;
  previousVersion: number | null;
  strategy: string;
  actor: string;
  reason: string | null;
  createdAt: string;
}

/** One entry of a version's history: a governance move, an alias moved, a deployment. */
export interface VersionEvent {
  version: number;
  event: string;
  fromStatus: string | null;
  toStatus: string | null;
  alias: string | null;
  actor: string;
  reason: string | null;
  at: string;
}
