/**
 * Messages, shapes and search attributes of the training pipeline, defined once and imported by the
 * workflow, the API, the CLI and the tests. Safe inside the workflow sandbox: no Node imports.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { defineSearchAttributeKey } from '@temporalio/common';
import type { FormatName } from '../ingest/formats';
import type { FamilyParams, ModelKind } from '../ml/families';
import type { RecipeSpec } from '../ml/recipe';
import type { TuningTrial } from '../store/runs';
import type { SearchSpec } from './tuning';
import type { Task } from '../ml/task';

/** Search attributes shown (and filterable) in the Temporal Web UI. */
export const MODEL_NAME_KEY = defineSearchAttributeKey('MlopsModel', 'KEYWORD');
export const STAGE_KEY = defineSearchAttributeKey('MlopsStage', 'KEYWORD');
export const SEARCH_ATTRIBUTE_KEYS = [MODEL_NAME_KEY, STAGE_KEY];

export type Stage = 'ingest' | 'validate' | 'tune' | 'train' | 'evaluate' | 'register' | 'approve' | 'deploy' | 'done';
export type PipelineState = 'running' | 'awaiting_approval' | 'deployed' | 'rejected' | 'failed';

export interface ApprovalPolicy {
  /** `auto`: approve when every threshold passes, reject otherwise. `manual`: wait for a person. */
  mode: 'manual' | 'auto';
  /** Minimum metric values (`logLoss` is a maximum), e.g. `{ "auc": 0.8 }`. */
  thresholds?: Record<string, number>;
  /** How long a manual approval may wait before the run is rejected, e.g. '72 hours'. */
  timeout?: string;
}

export interface TrainerSpec {
  /** Model family (src/ml/families); absent means the family that is the default for the target's task. */
  kind?: ModelKind;
  /** `l2` for every family, and the settings the family's params schema accepts. */
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

export interface PipelineInput {
  model: string;
  data: PipelineData;
  target: string;
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
}

/** What started a retraining run; recorded with the run and its model version. */
export interface RetrainTrigger {
  kind: 'drift' | 'quality' | 'new-data' | 'schedule' | 'manual';
  reason: string;
  /** The monitor check that found the breach. */
  checkId?: string;
}

export interface ApprovalDecision {
  decision: 'approve' | 'reject';
  by: string;
  comment?: string;
  /** Where the person decided: the API (and CLI) or a Slack button. */
  channel?: 'api' | 'slack';
}

export interface ApprovalRecord extends ApprovalDecision {
  /** Who or what decided: a person through a channel, the policy, or the timeout. */
  via: 'signal' | 'policy' | 'timeout';
  at: string;
}

/** A decision as the run received it, and whether it counted (and why not). */
export interface ReceivedDecision extends ApprovalDecision {
  at: string;
  counted: boolean;
  reason?: string;
}

/**
 * The model's approval policy as the run applies it (set per model by an admin; the defaults: one
 * approver who is not the person who started the run).
 */
export interface GovernancePolicy {
  approvers: number;
  fourEyes: boolean;
  reminders: string[];
  escalationChannel?: string;
  autoApprove?: { thresholds: Record<string, number>; requireSameSchema: boolean };
}

/** Held-out metrics by name: classifiers report accuracy, AUC or macro F1, log loss...; regressors RMSE, MAE, R². */
export type MetricSummary = Record<string, number>;

/** Test-split metrics of the rows where a column holds one value. */
export interface SliceMetrics {
  column: string;
  value: string;
  n: number;
  metrics: MetricSummary;
}

export interface ChampionComparison {
  version: number;
  metrics?: MetricSummary;
  /** Why the champion could not be scored on this split, when it could not. */
  skipped?: string;
}

export interface PipelineStatus {
  state: PipelineState;
  stage: Stage;
  model: string;
  datasetId?: string;
  task?: Task;
  kind?: ModelKind;
  warnings: string[];
  metrics?: MetricSummary;
  /** confusion[actual][predicted] on the test split, for multi-class models. */
  confusion?: number[][];
  /** Metrics per value of each `evaluation.sliceBy` column. */
  slices?: SliceMetrics[];
  /** Trials of a random or halving search, as they finish, and the winner. */
  tuning?: { strategy: string; trials: TuningTrial[]; best?: { trial: number; l2: number; validationLoss: number } };
  champion?: ChampionComparison;
  params?: Record<string, unknown>;
  /** Stages whose outputs came from an earlier run with the same inputs and code (step cache). */
  cached?: { train?: { fromRun: string } };
  modelVersion?: number;
  onnxDigest?: string;
  approval: {
    policy: ApprovalPolicy;
    thresholdsPassed?: boolean;
    thresholdFailures?: string[];
    decision?: ApprovalRecord;
    ignoredSignals: number;
    /** The model's governance policy, once the run reached approval. */
    governance?: GovernancePolicy;
    /** How the data's columns differ from production's (the low-risk auto-approval needs none). */
    schemaChanges?: string[];
    /** Every decision received while awaiting approval, counted or not. */
    received?: ReceivedDecision[];
    /** Distinct approvals so far, of `governance.approvers` needed. */
    approvals?: number;
  };
  /** Who started the run (four-eyes: they may not approve it). */
  requestedBy?: string;
  deploymentId?: number;
  error?: string;
  /** What started the run, when not a person. */
  trigger?: RetrainTrigger;
  /** Rows from the review queue (labelled by people) added to the training data. */
  reviewedRows?: number;
}

/**
 * A person's decision as a signal: kept so that clients and runs from before the `decide` update keep
 * working. A signal gets no answer; decisions it carries are noted in `received` when refused.
 */
export const approvalSignal = defineSignal<[ApprovalDecision]>('approval');

/** The run's own answer to a decision it accepted through the `decide` update. */
export interface ApprovalAnswer {
  decision: ApprovalDecision['decision'];
  /** Distinct approvals so far, and how many the policy needs. */
  approvals: number;
  required: number;
  /** Set when this decision settled the run. */
  outcome?: ApprovalDecision['decision'];
}

/**
 * Failure types of a refused `decide` update (the workflow's validator refuses it before it is
 * recorded): the API maps them to HTTP statuses.
 */
export const APPROVAL_REFUSALS = {
  /** The run is not waiting for a decision (still running, or already decided). */
  notAwaiting: 'ApprovalNotAwaited',
  /** Four-eyes: the person who started the run may not decide on it. */
  fourEyes: 'ApprovalFourEyes',
  /** The person already approved; the policy needs distinct people. */
  repeated: 'ApprovalRepeated',
} as const;

/**
 * A person's decision as an Update: the run's ballot (the only rulebook) validates it, and the caller
 * gets the ballot's answer, or its refusal with one of APPROVAL_REFUSALS as the failure type.
 */
export const approvalUpdate = defineUpdate<ApprovalAnswer, [ApprovalDecision]>('decide');
export const statusQuery = defineQuery<PipelineStatus>('status');

/** Metrics where lower is better; a threshold on them is a maximum. */
export const LOWER_IS_BETTER = new Set(['logLoss', 'rmse', 'mae']);
