/**
 * trainingPipeline: ingest -> validate -> train -> evaluate -> register -> approve -> deploy.
 * Orchestration only: every side effect is an activity, only references and small summaries cross
 * history, and a run can wait days for a person without holding anything but its state.
 */
import {
  ApplicationFailure,
  condition,
  log,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { PipelineActivities } from '../activities/pipeline';
import type { RegistryActivities, TrainingOutputs } from '../activities/registry';
import type { ApprovalActivities } from '../activities/approvals';
import type { ImportActivities } from '../activities/import';
import type { CustomTrainingActivities } from '../activities/custom-training';
import type { ImportedSignature } from '../domain/model-version';
import type { FeatureSpec } from '../domain/training-recipe';
import {
  APPROVAL_REFUSALS,
  ApprovalAnswer,
  ApprovalDecision,
  ApprovalPolicy,
  ApprovalRecord,
  ChampionComparison,
  GovernancePolicy,
  ReceivedDecision,
  approvalSignal,
  approvalUpdate,
  LOWER_IS_BETTER,
  MetricSummary,
  MODEL_NAME_KEY,
  PipelineInput,
  PipelineStatus,
  Stage,
  STAGE_KEY,
  statusQuery,
} from './definitions';
import type { Duration } from '@temporalio/common';
import { durationMs } from '../common/duration';
import type { TuningTrial } from '../store/runs';
import { ACTIVITY_PRESETS, CUSTOM_TRAINING_QUEUE, FAILURE_TYPES, retryExcept } from './activity-options';
import { HALVING_RATE, mapLimited, rungFractions, sampleL2, SearchSpec } from './tuning';

const retry = retryExcept(FAILURE_TYPES.dataSource, FAILURE_TYPES.dataFormat, FAILURE_TYPES.dataValidation, FAILURE_TYPES.model);
const data = proxyActivities<PipelineActivities & ImportActivities>(ACTIVITY_PRESETS.data(retry));
const compute = proxyActivities<PipelineActivities>(ACTIVITY_PRESETS.compute(retry));
// Registered trainers run on their own queue, polled only by workers that opt in; a trainer's own time
// limit (at most a week) bounds the run, and the activity heartbeats every 5 s while it waits.
const custom = proxyActivities<CustomTrainingActivities>({
  taskQueue: CUSTOM_TRAINING_QUEUE, startToCloseTimeout: '7 days', heartbeatTimeout: '1 minute', retry,
});
const quick = proxyActivities<PipelineActivities & RegistryActivities & ApprovalActivities>(ACTIVITY_PRESETS.quick(retry));

export const DEFAULT_APPROVAL_TIMEOUT = '72 hours';

/** Temporal's clock, not the machine's: inside the workflow sandbox Date reads the replayed task time. */
const workflowTime = () => new Date().toISOString();
export const DEFAULT_SEED = 42;

/** Which thresholds the metrics miss, as readable lines (empty when all pass). */
export function thresholdFailures(metrics: MetricSummary, thresholds: Record<string, number> = {}): string[] {
  const failures: string[] = [];
  for (const [name, limit] of Object.entries(thresholds)) {
    const value = metrics[name];
    if (typeof value !== 'number' || Number.isNaN(value)) failures.push(`${name} is not a metric of this model`);
    else if (LOWER_IS_BETTER.has(name) ? value > limit : value < limit) {
      failures.push(`${name} ${value.toFixed(4)} ${LOWER_IS_BETTER.has(name) ? '>' : '<'} ${limit}`);
    }
  }
  return failures;
}

/** The run's input as a recipe to run again (retraining): who asked and why are the new run's own. */
export function recipeOf(input: PipelineInput): PipelineInput {
  const { requestedBy: _by, trigger: _trigger, ...recipe } = input;
  return recipe;
}

/** What the approval request shows: the version, its metrics against the champion, its data. */
type ApprovalRequest = { runId: string; model: string; version: number; metrics: MetricSummary; champion?: ChampionComparison; datasetId?: string; requestedBy?: string; unscored?: string };

/**
 * The decisions a run awaiting approval receives under a governance policy: the first rejection ends
 * it; approvals count once per person, never from the person who started the run when four-eyes
 * applies, and approve once enough distinct people agreed. Every decision is kept, counted or not.
 */
export class Ballot {
  readonly received: ReceivedDecision[] = [];
  readonly approvals: ApprovalDecision[] = [];
  outcome: ApprovalDecision | undefined;

  constructor(private readonly policy: GovernancePolicy, private readonly requestedBy?: string) {}

  /** Why the ballot would not count this decision, as a refusal type and reason; undefined when it would. */
  refusal(d: ApprovalDecision): { type: string; reason: string } | undefined {
    if (this.outcome) return { type: APPROVAL_REFUSALS.notAwaiting, reason: 'the decision was already taken' };
    if (this.policy.fourEyes && this.requestedBy && d.by === this.requestedBy) return { type: APPROVAL_REFUSALS.fourEyes, reason: `four-eyes: ${d.by} started this run and cannot decide on it` };
    if (d.decision === 'approve' && this.approvals.some((a) => a.by === d.by)) return { type: APPROVAL_REFUSALS.repeated, reason: `${d.by} already approved` };
    return undefined;
  }

  receive(d: ApprovalDecision, at: string): void {
    const refused = this.refusal(d);
    if (refused) { this.received.push({ ...d, at, counted: false, reason: refused.reason }); return; }
    this.received.push({ ...d, at, counted: true });
    if (d.decision === 'reject') { this.outcome = d; return; }
    this.approvals.push(d);
    if (this.approvals.length >= this.policy.approvers) {
      const names = this.approvals.map((a) => a.by);
      this.outcome = { ...d, by: names.join(', '), comment: this.approvals.map((a) => a.comment).filter(Boolean).join(' / ') || undefined };
    }
  }

  /** What the person who sent an accepted decision is told. */
  answer(d: ApprovalDecision): ApprovalAnswer {
    return { decision: d.decision, approvals: this.approvals.length, required: this.policy.approvers, ...(this.outcome ? { outcome: this.outcome.decision } : {}) };
  }
}

export async function trainingPipeline(input: PipelineInput): Promise<PipelineStatus> {
  const runId = workflowInfo().workflowId;
  const policy: ApprovalPolicy = { mode: input.approval?.mode ?? 'manual', thresholds: input.approval?.thresholds ?? {}, timeout: input.approval?.timeout ?? DEFAULT_APPROVAL_TIMEOUT };
  const status: PipelineStatus = {
    state: 'running', stage: 'ingest', model: input.model, warnings: [], approval: { policy, ignoredSignals: 0 },
    ...(input.trigger ? { trigger: input.trigger } : {}), ...(input.requestedBy ? { requestedBy: input.requestedBy } : {}),
  };
  let pending: ApprovalDecision | undefined;

  setHandler(statusQuery, () => status);
  // Set when the run applies the model's governance policy (runs recorded before it take one decision).
  let ballot: Ballot | undefined;
  setHandler(approvalSignal, (decision) => {
    // Decisions count only while the run waits for one; early, late or repeated ones are noted, not used.
    if (status.state === 'awaiting_approval' && ballot) {
      ballot.receive(decision, workflowTime());
      status.approval.approvals = ballot.approvals.length;
    }
    else if (status.state === 'awaiting_approval' && pending === undefined) pending = decision;
    else status.approval.ignoredSignals++;
  });
  // The same decision as an Update: the validator refuses what the ballot would not count, before
  // anything is recorded, and the caller hears the ballot's own answer.
  setHandler(approvalUpdate, (decision): ApprovalAnswer => {
    if (ballot) {
      ballot.receive(decision, workflowTime());
      status.approval.approvals = ballot.approvals.length;
      return ballot.answer(decision);
    }
    pending = decision; // a run from before governance policies: one decision settles it
    return { decision: decision.decision, approvals: decision.decision === 'approve' ? 1 : 0, required: 1, outcome: decision.decision };
  }, {
    validator: (decision) => {
      const refuse = (type: string, reason: string) => { throw ApplicationFailure.create({ type, message: reason, nonRetryable: true }); };
      if (status.state !== 'awaiting_approval') refuse(APPROVAL_REFUSALS.notAwaiting, `the run is not awaiting approval (state: ${status.state}, stage: ${status.stage})`);
      if (ballot) {
        const refused = ballot.refusal(decision);
        if (refused) refuse(refused.type, refused.reason);
      } else if (pending !== undefined) refuse(APPROVAL_REFUSALS.notAwaiting, 'the decision was already taken');
    },
  });

  /**
   * Waits for the policy's number of distinct approvals (or one rejection), asking in Slack, reminding
   * before the deadline and escalating at it. A timeout rejects.
   */
  const awaitApprovals = async (governance: GovernancePolicy, timeout: string, request: ApprovalRequest): Promise<ApprovalRecord> => {
    ballot = new Ballot(governance, input.requestedBy);
    status.approval.received = ballot.received;
    status.approval.approvals = 0;
    status.state = 'awaiting_approval';
    await quick.requestApproval({ ...request, required: governance.approvers });
    const total = durationMs(timeout);
    // reminders fire this long before the deadline, the earliest first; the waits between them add up to
    // the timeout, counted by Temporal timers (no clock is read here)
    const reminders = governance.reminders.map((r) => total - durationMs(r)).filter((at) => at > 0).sort((a, b) => a - b);
    let waited = 0;
    for (let i = 0; ; i++) {
      const wakeAt = i < reminders.length ? reminders[i] : total;
      const decided = await condition(() => ballot!.outcome !== undefined, Math.max(1, wakeAt - waited));
      waited = wakeAt;
      if (decided) break;
      if (i < reminders.length) {
        await quick.remindApproval({ runId, model: input.model, version: request.version, reminder: i + 1, remainingMs: total - wakeAt, approvals: ballot.approvals.length, required: governance.approvers });
        continue;
      }
      status.state = 'running';
      if (governance.escalationChannel) await quick.escalateApproval({ runId, model: input.model, version: request.version, channel: governance.escalationChannel, timeout });
      return { decision: 'reject', by: 'system:timeout', comment: `no decision within ${timeout} (${ballot.approvals.length} of ${governance.approvers} approvals)`, via: 'timeout', at: workflowTime() };
    }
    status.state = 'running';
    return { ...ballot.outcome!, via: 'signal', at: workflowTime() };
  };

  // workflow log lines go through Temporal's logger sink (never during replay), with the run's ids
  const enter = (stage: Stage) => {
    status.stage = stage;
    log.info(stage === 'done' ? `pipeline ${status.state}` : `stage ${stage}`, { model: input.model, ...(status.modelVersion ? { version: status.modelVersion } : {}) });
    if (input.useSearchAttributes) upsertSearchAttributes([{ key: STAGE_KEY, value: stage }]);
  };
  if (input.useSearchAttributes) upsertSearchAttributes([{ key: MODEL_NAME_KEY, value: input.model }]);

  try {
    let datasetId: string | undefined;
    let trained: TrainingOutputs;
    let evaluation: Awaited<ReturnType<PipelineActivities['evaluateModel']>>;
    // Only an import without evaluation data (an MLflow version whose run names none) takes this branch,
    // so earlier histories replay unchanged: the model is checked and stored, never scored, and every
    // later stage says so.
    if (!input.data) {
      if (!input.import) throw ApplicationFailure.nonRetryable('a pipeline needs data: name a source in "data"', FAILURE_TYPES.dataSource);
      enter('import');
      const done = await data.importModel({ ...input.import, modelName: input.model, runId });
      trained = { onnxDigest: done.onnxDigest, signature: done.signature, params: done.params };
      status.task = done.signature.task;
      status.kind = 'import';
      status.unscored = done.unscored;
      evaluation = { metrics: {}, ...(done.smokeDigest ? { smokeDigest: done.smokeDigest } : {}) };
      status.onnxDigest = trained.onnxDigest;
      status.params = trained.params;
    } else {
      const target = input.target;
      if (target === undefined) throw ApplicationFailure.nonRetryable('a pipeline with data needs a target: the column the model predicts', FAILURE_TYPES.dataValidation);
      enter('ingest');
      // labelled items of the model's review queue (active learning) join the source's rows
      const dataset = await data.ingestDataset({ ...input.data, reviewed: { model: input.model, target: target } });
      status.datasetId = datasetId = dataset.datasetId;
      if (dataset.reviewedRows) status.reviewedRows = dataset.reviewedRows;

      enter('validate');
      // the data preset: reading and checking 10M rows takes more than the quick preset's minute, with heartbeats between phases
      const validation = await data.validateDataset({
        datasetId: dataset.datasetId, target: target, features: input.features, kind: input.trainer?.kind === 'custom' ? undefined : input.trainer?.kind, derive: input.preprocessing?.derive, modelName: input.model,
        sliceBy: input.evaluation?.sliceBy,
      });
      status.warnings = validation.warnings.map((w) => w.message);
      status.task = validation.task;
      status.kind = validation.kind;

      let spec: FeatureSpec = {
        datasetId: dataset.datasetId, task: validation.task, kind: validation.kind, target: target,
        features: validation.features, numeric: validation.numeric, categorical: validation.categorical, recipe: input.preprocessing,
        ...(input.trainer?.params ? { modelParams: input.trainer.params } : {}),
        positiveClass: input.positiveClass, seed: input.seed ?? DEFAULT_SEED,
      };
      let imported: ImportedSignature | undefined;
      // Only runs that bring their own model take this branch, so histories recorded before it replay unchanged.
      if (input.import) {
        enter('import');
        const done = await data.importModel({ ...input.import, modelName: input.model, runId, datasetId: dataset.datasetId, target: target });
        imported = done.signature;
        trained = { onnxDigest: done.onnxDigest, signature: done.signature, params: done.params };
        status.task = done.signature.task ?? validation.task;
        status.kind = 'import';
        spec = { ...spec, task: done.signature.task ?? validation.task, kind: undefined, features: done.signature.features, numeric: done.signature.numeric, categorical: done.signature.categorical };
      } else if (input.trainer?.kind === 'custom') {
        // Training code an admin registered, run by the workers that opt in; its model is then imported.
        // Only runs that name a trainer take this branch, so earlier histories replay unchanged.
        enter('train');
        status.kind = 'custom';
        const name = input.trainer.name!;
        const made = await custom.trainWithTrainer({
          trainer: name, params: input.trainer.params, datasetId: dataset.datasetId, target: target, task: validation.task,
          positiveClass: input.positiveClass, seed: spec.seed, runId,
        });
        enter('import');
        const done = await data.importModel({ onnxDigest: made.onnxDigest, uploadedBy: `trainer:${name}`, task: validation.task, ...(made.features ? { features: made.features } : {}), modelName: input.model, runId, datasetId: dataset.datasetId, target: target });
        imported = done.signature;
        trained = { onnxDigest: done.onnxDigest, signature: done.signature, params: { ...done.params, trainer: name, trainerLog: made.logDigest, trainerMetrics: made.metrics, trainMs: made.trainMs } };
        spec = { ...spec, kind: undefined, features: done.signature.features, numeric: done.signature.numeric, categorical: done.signature.categorical };
      } else {
        enter('train');
        const search = input.trainer?.search;
        let l2Grid = search?.l2 ?? (input.trainer?.params?.l2 !== undefined ? [input.trainer.params.l2] : undefined);
        // Step cache: the same dataset, spec, search and code as an earlier successful run reuse its model.
        // Histories recorded before the cache existed replay without the lookup.
        const cache = patched('step-cache') ? await quick.findCachedTraining({ spec, search: { ...search, l2Grid }, runId, modelName: input.model }) : {};
        if (cache.hit) {
          trained = cache.hit.outputs;
          status.cached = { train: { fromRun: cache.hit.fromRun } };
        } else {
          // Only runs that ask for a random or halving search take this branch, so histories recorded
          // before it existed replay unchanged.
          if (search?.strategy === 'random' || search?.strategy === 'halving') {
            enter('tune');
            l2Grid = [await tune(search.strategy, search, spec.seed, (trial) => compute.scoreTrial({ ...spec, runId, ...trial }), status)];
            enter('train');
          }
          trained = await compute.trainModel({ ...spec, l2Grid, runId, modelName: input.model });
          if (cache.key) await quick.cacheTraining({ key: cache.key, runId, outputs: trained });
        }
      }
      status.onnxDigest = trained.onnxDigest;
      status.params = trained.params;

      enter('evaluate');
      evaluation = await data.evaluateModel({ ...spec, modelName: input.model, onnxDigest: trained.onnxDigest, runId, sliceBy: input.evaluation?.sliceBy, ...(imported ? { imported } : {}) });
      status.metrics = evaluation.metrics;
      status.confusion = evaluation.confusion;
      status.slices = evaluation.slices;
      status.champion = evaluation.champion;
    }

    enter('register');
    const { version } = await quick.registerModelVersion({
      modelName: input.model, runId, onnxDigest: trained.onnxDigest, signature: trained.signature, metrics: evaluation.metrics,
      params: trained.params,
      artifacts: { smokeSet: evaluation.smokeDigest, referenceProfile: evaluation.referenceDigest, evaluation: evaluation.evaluationDigest },
      pipelineInput: recipeOf(input),
      trigger: input.trigger,
      datasetId: datasetId ?? null, requestedBy: input.requestedBy,
    });
    status.modelVersion = version;

    enter('approve');
    const failures = thresholdFailures(evaluation.metrics, policy.thresholds);
    status.approval.thresholdsPassed = failures.length === 0;
    status.approval.thresholdFailures = failures;
    if (policy.mode === 'auto') {
      status.approval.decision = failures.length === 0
        ? { decision: 'approve', by: 'policy:auto', comment: 'all thresholds passed', via: 'policy', at: workflowTime() }
        : { decision: 'reject', by: 'policy:auto', comment: `thresholds missed: ${failures.join('; ')}`, via: 'policy', at: workflowTime() };
    } else if (patched('approval-governance')) {
      // The model's policy: low-risk auto-approval, several distinct approvers, four-eyes, Slack,
      // reminders and escalation. Histories recorded before it replay through the branch below.
      const context = await quick.approvalContext({ modelName: input.model, datasetId, runId });
      const governance = context.policy;
      status.approval.governance = governance;
      status.approval.schemaChanges = context.schemaChanges;
      const lowRisk = governance.autoApprove && thresholdFailures(evaluation.metrics, governance.autoApprove.thresholds).length === 0
        && (!governance.autoApprove.requireSameSchema || context.schemaChanges.length === 0) && context.hasProduction;
      if (lowRisk) {
        status.approval.decision = { decision: 'approve', by: 'policy:low-risk', comment: 'every auto-approval threshold passed and the data schema is unchanged', via: 'policy', at: workflowTime() };
      } else {
        status.approval.decision = await awaitApprovals(governance, policy.timeout!, { runId, model: input.model, version, metrics: evaluation.metrics, champion: evaluation.champion, datasetId, requestedBy: input.requestedBy, ...(status.unscored ? { unscored: status.unscored } : {}) });
      }
      await quick.closeApprovalRequest({ runId, model: input.model, version, decision: status.approval.decision });
    } else {
      status.state = 'awaiting_approval';
      const decided = await condition(() => pending !== undefined, policy.timeout as Duration);
      status.approval.decision = decided && pending
        ? { ...pending, via: 'signal', at: workflowTime() }
        : { decision: 'reject', by: 'system:timeout', comment: `no decision within ${policy.timeout}`, via: 'timeout', at: workflowTime() };
      status.state = 'running';
    }
    await quick.recordDecision({ modelName: input.model, version, runId, decision: status.approval.decision });

    if (status.approval.decision.decision === 'reject') {
      status.state = 'rejected';
      enter('done');
      return status;
    }

    enter('deploy');
    const deployment = await quick.deployModel({ modelName: input.model, version, runId });
    status.deploymentId = deployment.deploymentId;
    status.state = 'deployed';
    enter('done');
    return status;
  } catch (err) {
    status.state = 'failed';
    status.error = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
    log.warn('pipeline failed', { model: input.model, error: err });
    throw err;
  }
}

/**
 * Random search or successive halving over the L2 strength: each trial is an activity, at most
 * `parallelism` at a time; each rung keeps the best third for the next, larger share of the rows.
 * Returns the winning L2; every trial is in `status.tuning` and in the tuning_trials table.
 */
async function tune(
  strategy: 'random' | 'halving',
  search: SearchSpec,
  seed: number,
  score: (trial: { trial: number; rung: number; l2: number; fraction: number }) => Promise<TuningTrial>,
  status: PipelineStatus,
): Promise<number> {
  const points = sampleL2(search, seed);
  const fractions = rungFractions(strategy, points.length);
  status.tuning = { strategy, trials: [] };
  let alive = points.map((l2, trial) => ({ trial, l2 }));
  let scored: TuningTrial[] = [];
  for (let rung = 0; rung < fractions.length; rung++) {
    scored = await mapLimited(alive, search.parallelism ?? 2, async (p) => {
      const result = await score({ trial: p.trial, rung, l2: p.l2, fraction: fractions[rung] });
      status.tuning!.trials.push(result);
      return result;
    });
    const ranked = [...scored].sort((a, b) => a.validationLoss - b.validationLoss || a.trial - b.trial);
    alive = ranked.slice(0, Math.max(1, Math.ceil(ranked.length / HALVING_RATE))).map((t) => ({ trial: t.trial, l2: t.l2 }));
  }
  const best = [...scored].sort((a, b) => a.validationLoss - b.validationLoss || a.trial - b.trial)[0];
  status.tuning.best = { trial: best.trial, l2: best.l2, validationLoss: best.validationLoss };
  return best.l2;
}
