/**
 * Messages, shapes and search attributes of the training pipeline, defined once and imported by the
 * workflow, the API, the CLI and the tests. Safe inside the workflow sandbox: no Node imports.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { defineSearchAttributeKey } from '@temporalio/common';
import type { ModelKind } from '../ml/families';
import type { TuningTrial } from '../store/runs';
import type { Task } from '../ml/task';

/** Search attributes shown (and filterable) in the Temporal Web UI. */
export const MODEL_NAME_KEY = defineSearchAttributeKey('MlopsModel', 'KEYWORD');
export const STAGE_KEY = defineSearchAttributeKey('MlopsStage', 'KEYWORD');
export const SEARCH_ATTRIBUTE_KEYS = [MODEL_NAME_KEY, STAGE_KEY];

export type Stage = 'ingest' | 'validate' | 'import' | 'tune' | 'train' | 'evaluate' | 'register' | 'approve' | 'deploy' | 'done';
export type PipelineState = 'running' | 'awaiting_approval' | 'deployed' | 'rejected' | 'failed';

import type { ApprovalPolicy, PipelineData, PipelineInput, RetrainTrigger, TrainerSpec } from '../domain/pipeline-input';

/** The pipeline's request: defined in the domain, since the registry keeps it with each version. */
export type { ApprovalPolicy, PipelineData, PipelineInput, RetrainTrigger, TrainerSpec };

export interface ApprovalDecision {
  decision: 'approve' | 'reject';
  by: string;
  comment?: string;
  /** Where the person decided: the API (and CLI), a Slack button or the web console. */
  channel?: 'api' | 'slack' | 'console';
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
  /** The model family, or `import` for a model trained elsewhere. */
  kind?: ModelKind | 'import' | 'custom';
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
  /** Set when the model was not scored, saying why: an import that came without evaluation data. */
  unscored?: string;
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
