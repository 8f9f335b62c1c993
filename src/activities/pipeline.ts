/**
 * Activities of the training pipeline: thin wrappers that connect the ML core to the stores.
 * Each is idempotent: datasets and artifacts are content-addressed, model versions are keyed by the
 * run id, deployments by a deploy key, audit events by an event key.
 */
import { Context, ApplicationFailure } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { Pool } from 'pg';
import type { ApprovalDeps } from './approvals';
import type { MonitoringDeps } from './monitoring';
import { SourceError } from '../ingest/source-error';
import { readSource, SourceContext, sourceName } from '../ingest/sources';
import { SourceRefused } from '../ingest/source-policy';
import { evaluationDetails, Scored } from '../ml/evaluation-details';
import { tableProfileColumns } from '../ml/profile-columns';
import { buildReferenceProfileYielding } from '../ml/reference-profile';
import { OUTPUT_NAME, REGRESSION_OUTPUT } from '../ml/onnx-export';
import { encodeTarget, splitRows } from '../ml/prepare';
import { defaultKind, ModelKind } from '../ml/families';
import { detectAnomalies, inferSchema } from '../ml/schema';
import { Split } from '../ml/split';
import { metricsOnRows, SliceProgress, sliceMetrics } from '../ml/slices';
import { SearchCandidate } from '../ml/search';
import { Task } from '../ml/task';
import { appendRecords, cellText, DataFormatError, getColumn, Table } from '../ml/table';
import { formatValidationErrors, validateForTrainingYielding, ValidationIssue } from '../ml/validate';
import { ArtifactError, ArtifactStore } from '../store/artifacts';
import { DatasetNotFound } from '../store/datasets';
import type { TableSlice } from '../datasets/parquet-table';
import type { Repositories } from '../store/repositories';
import type { TrafficPolicy } from '../serving/traffic-policy';
import { TuningTrial } from '../store/runs';
import { InputLayout, layoutOf } from '../serving/feeds';
import { createSession } from '../serving/onnx-runner';
import { buildSmokeSample } from '../serving/smoke';
import { runTableRows } from '../serving/table-runs';
import { trainInThread, TrainingJob } from './training-thread';
import type { FeatureSpec, TrainingRecipe } from '../domain/training-recipe';
import type { ApprovalRecord, ChampionComparison, MetricSummary, PipelineData, PipelineInput, RetrainTrigger, SliceMetrics } from '../workflows/definitions';
import { FAILURE_TYPES } from '../workflows/activity-options';
import { isImported, PRODUCTION_ALIAS, type ImportedSignature, type ModelSignature, type NewModelVersion } from '../domain/model-version';
import { setImmediate as nextTurn } from 'node:timers/promises';

export interface ActivityDeps {
  /** The store, a repository per table group (src/store/repositories.ts): activities hold no pool. */
  repos: Repositories;
  /** Only for the rollout activities, which still read through the pool directly. */
  pool: Pool;
  /** Each rollout strategy's traffic policy, by name (src/rollouts, given by the worker): the rollout activities read it. */
  rolloutTraffic?: Record<string, TrafficPolicy>;
  artifacts: ArtifactStore;
  /** Where data may be read from (the source policy) and the URLs behind connection names. */
  sources: SourceContext;
  codeVersion?: string;
  /** For activities that look at or schedule workflows (monitoring). */
  client?: Client;
  /** Raises monitoring and rollout alerts (the process's one Alerter); without it they are only logged. */
  alerter?: MonitoringDeps['alerter'];
  /** The process's one Slack client and the approval channel; without them approvals go through the API only. */
  slack?: ApprovalDeps['slack'];
  /** Link to a workflow run in the Temporal Web UI, for alerts and messages. */
  uiUrl?: (workflowId: string) => string;
  /** The API's public address, for links in messages (reports). */
  apiUrl?: string;
  /**
   * Gives a deployed model its monitor schedule (true when it created one); built where the Temporal
   * client is (src/worker.ts). Without it deployments are not scheduled for monitoring.
   */
  scheduleMonitor?: (model: string) => Promise<boolean>;
  /** Keys that read encrypted inputs of the prediction log and review queue (monitoring, reviewed examples). */
  privacy?: MonitoringDeps['privacy'];
}

/**
 * Gives a newly deployed model its monitor schedule (once; a paused or changed one is left as it is).
 * A failure here must not undo the deployment: it is logged, and the API can create the schedule later.
 */
export async function monitorDeployed(deps: ActivityDeps, model: string): Promise<void> {
  if (!deps.scheduleMonitor) return;
  try {
    if (await deps.scheduleMonitor(model)) Context.current().log.info(`monitor schedule created for ${model}`, { model });
  } catch (err) {
    Context.current().log.warn(`could not create the monitor schedule of ${model}: ${(err as Error).message}`, { model });
  }
}

/** What the register stage sends: the version's files by role, the recipe and the request that made it. */
export interface RegisterInput {
  modelName: string;
  runId: string;
  onnxDigest: string;
  signature: ModelSignature;
  metrics: MetricSummary;
  /** The trained model's settings; its `training` entry is the recipe. */
  params: Record<string, unknown>;
  artifacts?: { smokeSet?: string; referenceProfile?: string; evaluation?: string };
  pipelineInput?: PipelineInput;
  trigger?: RetrainTrigger;
  datasetId: string | null;
  requestedBy?: string;
}

/**
 * The registry's typed fields from a register request. Runs started before versions had typed fields
 * sent the digests, the request and the trigger inside `params`: they are lifted out the same way, so a
 * run that was in flight during the upgrade registers a version like any other.
 */
export function typedVersionFields(input: RegisterInput): Omit<NewModelVersion, 'metrics' | 'codeVersion'> {
  const { training, smokeDigest, referenceDigest, evaluationDigest, pipeline, trigger, ...params } = input.params;
  const digest = (value: unknown) => (typeof value === 'string' ? value : undefined);
  return {
    modelName: input.modelName, runId: input.runId, onnxDigest: input.onnxDigest, signature: input.signature, datasetId: input.datasetId, params,
    artifacts: {
      smokeSet: input.artifacts?.smokeSet ?? digest(smokeDigest) ?? null,
      referenceProfile: input.artifacts?.referenceProfile ?? digest(referenceDigest) ?? null,
      evaluation: input.artifacts?.evaluation ?? digest(evaluationDigest) ?? null,
    },
    recipe: training as TrainingRecipe | undefined,
    pipelineInput: input.pipelineInput ?? (pipeline as PipelineInput | undefined),
    trigger: input.trigger ?? (trigger as RetrainTrigger | undefined),
  };
}

/** Failure types the workflow must not retry: the same input will fail the same way. */
export const NON_RETRYABLE = {
  source: FAILURE_TYPES.dataSource,
  format: FAILURE_TYPES.dataFormat,
  validation: FAILURE_TYPES.dataValidation,
  model: FAILURE_TYPES.model,
} as const;

/**
 * Heartbeats every 2 s while the work runs: DuckDB reads and writes off the event loop, so a read of
 * 10M rows that takes a minute still says the worker is alive (the compute preset notices a silence of 10 s).
 */
export async function beating<T>(details: Record<string, unknown>, work: Promise<T>): Promise<T> {
  const ctx = Context.current();
  const timer = setInterval(() => ctx.heartbeat(details), 2_000);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}

/** The columns a fit reads: the target and the features, or every column when the recipe derives features from others. */
export function trainingColumns(spec: FeatureSpec): string[] | undefined {
  return spec.recipe?.derive?.length ? undefined : [spec.target, ...spec.features];
}

/**
 * A dataset version's table (only the columns and rows asked for), for activities: a version that is not
 * recorded, or whose file is gone or damaged, fails for good.
 */
export async function loadDataset({ repos, artifacts }: Pick<ActivityDeps, 'repos' | 'artifacts'>, datasetId: string, slice?: TableSlice, details: Record<string, unknown> = { phase: 'reading', datasetId }): Promise<Table> {
  try {
    // `details`: what the heartbeats carry meanwhile; an activity that resumes from its heartbeat passes its own
    return await beating(details, repos.datasets.loadDatasetTable(artifacts, datasetId, slice));
  } catch (err) {
    if (err instanceof DatasetNotFound) throw ApplicationFailure.nonRetryable(err.message, NON_RETRYABLE.source);
    if (err instanceof ArtifactError) throw ApplicationFailure.nonRetryable(`the rows of dataset ${datasetId} cannot be read: ${err.message}`, NON_RETRYABLE.source);
    throw err;
  }
}

export const DEFAULT_L2_GRID = [1e-4, 1e-3, 1e-2, 1e-1, 1];

/** The recipe part of a feature spec (drops run ids, model names and other extras). */
export function trainingRecipe(spec: FeatureSpec, l2: number): TrainingRecipe {
  const { datasetId, task, kind, target, features, numeric, categorical, recipe, modelParams, positiveClass, seed } = spec;
  return JSON.parse(JSON.stringify({ datasetId, task, kind, target, features, numeric, categorical, recipe, modelParams, positiveClass, seed, l2 }));
}

/** The training thread's job for a spec: the dataset's columns and everything the fit reads. */
export function trainingJob(table: Table, spec: FeatureSpec, l2Grid: number[], done: SearchCandidate[] = [], fraction?: number): TrainingJob {
  return {
    table, task: spec.task ?? 'binary', kind: spec.kind ?? defaultKind('binary'), target: spec.target, ...layoutOf(spec), recipe: spec.recipe,
    modelParams: spec.modelParams, positiveClass: spec.positiveClass, seed: spec.seed, l2Grid, done, ...(fraction !== undefined ? { fraction } : {}),
  };
}


/** Row-major class probabilities moved from the model's class order into the data's (the same labels). */
function inClassOrder(values: Float32Array | Float64Array, model: readonly string[], data: readonly string[]): Float64Array | Float32Array {
  if (model.join('\u0000') === data.join('\u0000')) return values;
  const from = data.map((label) => model.indexOf(label));
  const width = model.length;
  const out = new Float64Array(values.length);
  for (let r = 0; r < values.length / width; r++) for (let k = 0; k < width; k++) out[r * width + k] = values[r * width + from[k]];
  return out;
}

/** Runs an ONNX file on the test rows of a table, fed exactly as serving feeds it, and scores it. */
/** Test rows per ONNX run in evaluation. */
const EVALUATION_RUN_ROWS = 65_536;

/** Scores the test rows with the ONNX file (`runRows` per run) and measures them; exported for its test. */
export async function scoreOnnx(bytes: Uint8Array, layout: InputLayout | ImportedSignature, table: Table, data: TargetSplit, sliceBy: string[] = [], onSlice?: (progress: SliceProgress) => Promise<void>, runRows = EVALUATION_RUN_ROWS): Promise<{ metrics: MetricSummary; confusion?: number[][]; slices?: SliceMetrics[]; scored: Scored }> {
  const session = await createSession(bytes);
  try {
    const y = Float64Array.from(data.split.test, (r) => data.y[r]);
    // in runs of `runRows` with a turn of the event loop between: a run holds the thread (2M
    // test rows through 100 trees is seconds), and in `mlops up` the API shares it
    const test = data.split.test;
    let outputs: Float64Array | Float32Array | undefined;
    let width = 1;
    for (let start = 0; start < test.length || outputs === undefined; start += runRows) {
      const run = await runTableRows(session, layout, data.task, table, test.subarray(start, start + runRows));
      width = run.width;
      outputs ??= run.values instanceof Float32Array ? new Float32Array(test.length * width) : new Float64Array(test.length * width);
      outputs.set(run.values.subarray(0, Math.min(runRows, test.length - start) * width), start * width);
      await nextTurn();
    }
    if ('source' in layout && data.task !== 'regression') outputs = inClassOrder(outputs, layout.classes, data.classes);
    const scored = { y, outputs, width };
    const overall = { ...metricsOnRows(data.task, scored), scored };
    if (sliceBy.length === 0) return overall;
    // The same predictions, grouped by the value of each slicing column (missing counts as its own slice).
    const columns = sliceBy.map((name) => {
      const column = getColumn(table, name)!;
      return { name, keyOf: (i: number) => cellText(column, test[i]) ?? '(missing)' };
    });
    return { ...overall, slices: await sliceMetrics(data.task, scored, columns, onSlice) };
  } finally {
    await session.release();
  }
}

/** The source's rows followed by the review queue's labelled examples, the label in the target column. */
function withReviewedRows(table: Table, target: string, reviewed: { instance: Record<string, unknown>; label: string }[]): Table {
  return appendRecords(table, reviewed.map((r) => ({ ...r.instance, [target]: r.label })));
}

/** The target encoded for the task, and the seeded split (the one training used). */
interface TargetSplit { task: Task; classes: string[]; y: Float64Array; split: Split }

export function targetSplit(table: Table, spec: FeatureSpec): TargetSplit {
  const task = spec.task ?? 'binary';
  const { classes, y } = encodeTarget(table, { ...spec, task });
  return { task, classes, y, split: splitRows(y, task, spec.seed) };
}


export function createPipelineActivities(deps: ActivityDeps) {
  const { repos, artifacts, codeVersion } = deps;
  const loadTable = (datasetId: string, slice?: TableSlice, details?: Record<string, unknown>) => loadDataset(deps, datasetId, slice, details);

  return {
    /**
     * Reads the source (or a stored dataset version), stores its canonical CSV content-addressed, and
     * records the dataset version. Sources the policy refuses fail for good, as do malformed files.
     */
    async ingestDataset(input: PipelineData & { reviewed?: { model: string; target: string } }): Promise<{ datasetId: string; rowCount: number; columnCount: number; byteSize: number; sourceKind: string; reviewedRows?: number }> {
      Context.current().heartbeat({ phase: 'reading' });
      let read: { kind: string; table: Table };
      let name: string;
      if ('dataset' in input) {
        read = { kind: 'dataset', table: await loadTable(input.dataset) };
        name = `dataset:${input.dataset}`;
      } else {
        try {
          read = await beating({ phase: 'reading' }, readSource(input, deps.sources, (progress) => Context.current().heartbeat({ phase: 'reading', ...progress })));
        } catch (err) {
          if (err instanceof SourceRefused) throw ApplicationFailure.nonRetryable(err.message, NON_RETRYABLE.source);
          if (err instanceof SourceError) {
            if (err.retryable) throw err;
            throw ApplicationFailure.nonRetryable(err.message, NON_RETRYABLE.source);
          }
          if (err instanceof DataFormatError) throw ApplicationFailure.nonRetryable(err.message, NON_RETRYABLE.format);
          throw err;
        }
        name = sourceName(input);
      }
      Context.current().heartbeat({ phase: 'storing', rows: read.table.rowCount });
      const reviewed = input.reviewed ? await repos.review.labelledExamples(input.reviewed.model, deps.privacy?.decryptionKeys) : [];
      if (reviewed.length > 0) read = { ...read, table: withReviewedRows(read.table, input.reviewed!.target, reviewed) };
      const stored = await beating({ phase: 'storing', rows: read.table.rowCount }, repos.datasets.storeDatasetTable(artifacts, read.table, { sourceUri: name, sourceKind: read.kind }));
      return { ...stored, sourceKind: read.kind, ...(reviewed.length ? { reviewedRows: reviewed.length } : {}) };
    },

    /** Checks the dataset for training; errors end the run with the report (non-retryable). */
    async validateDataset(input: { datasetId: string; target: string; features?: string[]; kind?: ModelKind; derive?: string[]; modelName?: string; sliceBy?: string[] }): Promise<{ features: string[]; numeric: string[]; categorical: string[]; task: Task; kind: ModelKind; classes: { label: string; count: number }[]; warnings: ValidationIssue[] }> {
      Context.current().heartbeat({ phase: 'reading' });
      const table = await loadTable(input.datasetId);
      Context.current().heartbeat({ phase: 'validating', rows: table.rowCount });
      const report = await beating({ phase: 'validating', rows: table.rowCount }, validateForTrainingYielding(table, { target: input.target, features: input.features, kind: input.kind, derive: input.derive, sliceBy: input.sliceBy }));
      // Against the model's schema and the statistics of the data production was trained on.
      if (input.modelName) {
        const schema = await repos.registry.getModelSchema(input.modelName);
        if (schema) {
          const production = await repos.registry.getAliasVersion(input.modelName, PRODUCTION_ALIAS);
          const previous = production?.datasetId ? (await repos.datasets.getDataset(production.datasetId))?.statistics : undefined;
          const statistics = (await repos.datasets.getDataset(input.datasetId))!.statistics;
          // The columns the production model reads matter as much as the ones this run will use.
          const used = new Set([...report.features, input.target, ...(production?.signature.features ?? [])]);
          report.issues.push(...detectAnomalies(schema, statistics, { used, previous }));
          report.ok = !report.issues.some((i) => i.severity === 'error');
        }
      }
      if (!report.ok || !report.task || !report.kind) {
        throw ApplicationFailure.create({ message: formatValidationErrors(report), type: NON_RETRYABLE.validation, nonRetryable: true, details: [{ issues: report.issues }] });
      }
      return { features: report.features, numeric: report.numeric, categorical: report.categorical, task: report.task, kind: report.kind, classes: report.classes.slice(0, 50), warnings: report.issues.filter((i) => i.severity === 'warning') };
    },

    /**
     * Tunes and trains the model, exports it with its preprocessing to ONNX and stores the file.
     * Heartbeats after each candidate with the scores so far; a retry skips what is already scored.
     */
    async trainModel(input: FeatureSpec & { l2Grid?: number[]; runId?: string; modelName?: string }): Promise<{ onnxDigest: string; signature: ModelSignature; params: Record<string, unknown> }> {
      const ctx = Context.current();
      const started = Date.now();
      // Every heartbeat carries all candidates scored so far (the SDK sends only the latest details),
      // so a retry after a crash skips them.
      let scored = (ctx.info.heartbeatDetails as { done?: SearchCandidate[] } | undefined)?.done ?? [];
      const dataset = await repos.datasets.getDataset(input.datasetId);
      if (!dataset) throw ApplicationFailure.nonRetryable(`dataset ${input.datasetId} is not registered`, NON_RETRYABLE.source);
      const columns = dataset.columns.map((c) => c.name);
      ctx.heartbeat({ done: scored });
      // only the columns the model reads: the target and its features; the heartbeats keep what a retry resumes from
      const table = await loadTable(input.datasetId, { columns: trainingColumns(input) }, { done: scored });
      ctx.heartbeat({ done: scored });
      // the thread reports each candidate and each second of fitting; before fitting, preparing 10M rows
      // takes longer than the heartbeat timeout, so the process says it is alive meanwhile (with what a retry resumes from)
      const progress = { done: scored };
      const outcome = await beating(progress, trainInThread(
        trainingJob(table, input, input.l2Grid ?? DEFAULT_L2_GRID, scored),
        (all) => { if (all) { scored = all; progress.done = all; } ctx.heartbeat(progress); },
        ctx.cancellationSignal,
      ));
      const onnxDigest = await artifacts.put(outcome.onnx);
      const task = input.task ?? 'binary';
      const kind = input.kind ?? defaultKind('binary');
      const params = {
        kind, task, l2: outcome.l2, ...(input.modelParams ? { modelParams: input.modelParams } : {}), seed: input.seed, recipe: outcome.recipe, search: outcome.search, rows: outcome.rows,
        training: trainingRecipe(input, outcome.l2),
        ...(task === 'binary' ? { positiveClass: outcome.classes[1] } : {}),
      };
      if (input.runId && input.modelName) {
        await repos.runs.recordTraining({
          runId: input.runId, modelName: input.modelName, task, kind, datasetId: input.datasetId, seed: input.seed,
          params: { l2: outcome.l2, ...(input.modelParams ? { modelParams: input.modelParams } : {}), features: input.features, recipe: outcome.recipe, rows: outcome.rows }, trials: outcome.search, onnxDigest, codeVersion: codeVersion ?? null, trainMs: Date.now() - started,
        });
      }
      return {
        onnxDigest,
        signature: {
          task, features: input.features, numeric: layoutOf(input).numeric, categorical: layoutOf(input).categorical, classes: outcome.classes,
          output: task === 'regression' ? REGRESSION_OUTPUT : OUTPUT_NAME, unused: columns.filter((c) => !input.features.includes(c)),
        },
        params,
      };
    },

    /**
     * Scores one point of a hyperparameter search: fits on a share of the training rows, reports the
     * validation loss, and records the trial. Nothing is stored but the trial's row.
     */
    async scoreTrial(input: FeatureSpec & { runId: string; trial: number; rung: number; l2: number; fraction: number }): Promise<TuningTrial> {
      const ctx = Context.current();
      const started = Date.now();
      const table = await loadTable(input.datasetId, { columns: trainingColumns(input) });
      const outcome = await beating({ phase: 'training' }, trainInThread(
        trainingJob(table, input, [input.l2], [], input.fraction),
        () => ctx.heartbeat(),
        ctx.cancellationSignal,
      ));
      const scored = outcome.search[0];
      const trial: TuningTrial = { trial: input.trial, rung: input.rung, l2: input.l2, fraction: input.fraction, validationLoss: scored.validationLoss, iterations: scored.iterations, trainMs: Date.now() - started };
      await repos.runs.recordTrial(input.runId, trial);
      return trial;
    },

    /**
     * Scores the ONNX file itself (what will be served) on the held-out test split, and the current
     * production version on the same rows when it can read them.
     */
    async evaluateModel(input: FeatureSpec & { modelName: string; onnxDigest: string; runId?: string; sliceBy?: string[]; imported?: ImportedSignature }): Promise<{ metrics: MetricSummary; confusion?: number[][]; slices?: SliceMetrics[]; champion?: ChampionComparison; smokeDigest?: string; referenceDigest?: string; evaluationDigest?: string }> {
      const ctx = Context.current();
      ctx.heartbeat({ phase: 'reading' });
      const table = await loadTable(input.datasetId);
      const data = targetSplit(table, input);
      ctx.heartbeat({ phase: 'scoring' });
      const onnx = await artifacts.get(input.onnxDigest);
      // Slicing a large split takes a while: a heartbeat after each slice, and a turn of the event loop so
      // the SDK sends it (it encodes heartbeats asynchronously) before the next slice is computed.
      const onSlice = async (progress: SliceProgress) => {
        ctx.heartbeat({ phase: 'slicing', ...progress });
        await nextTurn();
      };
      if (input.imported && input.imported.task !== data.task) {
        throw ApplicationFailure.nonRetryable(`the imported model solves a ${input.imported.task} task, but the target "${input.target}" of the evaluation data makes it ${data.task}`, NON_RETRYABLE.model);
      }
      if (input.imported && data.task !== 'regression' && [...input.imported.classes].sort().join('\u0000') !== [...data.classes].sort().join('\u0000')) {
        throw ApplicationFailure.nonRetryable(`the imported model's classes (${input.imported.classes.join(', ')}) are not the evaluation data's (${data.classes.join(', ')})`, NON_RETRYABLE.model);
      }
      const { metrics, confusion, slices, scored } = await scoreOnnx(onnx, input.imported ?? layoutOf(input), table, data, input.sliceBy, onSlice);
      // a few test rows and what the file answers for them: every replica replays them before serving it
      const signature: ModelSignature = input.imported ?? { task: data.task, features: input.features, ...layoutOf(input), classes: data.classes, output: data.task === 'regression' ? REGRESSION_OUTPUT : OUTPUT_NAME };
      const smokeDigest = await artifacts.put(Buffer.from(JSON.stringify(await buildSmokeSample(onnx, signature, table, data.split.test))));
      // the training rows' feature distributions, so monitoring compares traffic with them without re-reading the data
      ctx.heartbeat({ phase: 'profiling' });
      const profile = await buildReferenceProfileYielding(tableProfileColumns(table, layoutOf(input), data.split.train), { seed: input.seed });
      const referenceDigest = await artifacts.put(Buffer.from(JSON.stringify(profile)));
      const evaluationDigest = await artifacts.put(Buffer.from(JSON.stringify(evaluationDetails(data.task, data.classes, scored, confusion))));
      const digests = { smokeDigest, referenceDigest, evaluationDigest };
      ctx.heartbeat({ phase: 'champion' });
      if (input.runId) await repos.runs.recordEvaluation(input.runId, metrics);

      const production = await repos.registry.getAliasVersion(input.modelName, PRODUCTION_ALIAS);
      if (!production) return { metrics, confusion, slices, ...digests };
      const sig = production.signature;
      const skip = (why: string) => ({ metrics, confusion, slices, ...digests, champion: { version: production.version, skipped: why } });
      const championTask = sig.task ?? 'binary';
      if (championTask !== data.task) return skip(`it solves a ${championTask} task, this run a ${data.task} one`);
      const layout = layoutOf(sig);
      const kinds = new Map(table.columns.map((c) => [c.name, c.kind]));
      const absent = [...layout.numeric.filter((f) => kinds.get(f) !== 'number'), ...layout.categorical.filter((f) => !kinds.has(f))];
      if (absent.length > 0) return skip(`its features ${absent.join(', ')} are not columns of this dataset with the same type`);
      if (sig.classes.join('\u0000') !== data.classes.join('\u0000')) return skip(`its classes (${sig.classes.join(', ')}) differ from this run's (${data.classes.join(', ')})`);
      const champion = await scoreOnnx(await artifacts.get(production.onnxDigest), isImported(sig) ? sig : layout, table, data);
      return { metrics, confusion, slices, ...digests, champion: { version: production.version, metrics: champion.metrics } };
    },

    /** Registers the evaluated model as a version pending approval; a retry returns the same version. */
    async registerModelVersion(input: RegisterInput): Promise<{ version: number }> {
      const v = await repos.registry.registerVersion({ ...typedVersionFields(input), metrics: { ...input.metrics }, codeVersion }, input.requestedBy ?? 'system');
      const dataset = input.datasetId ? await repos.datasets.getDataset(input.datasetId) : undefined;
      if (dataset) await repos.registry.setModelSchemaOnce(input.modelName, inferSchema(dataset.statistics));
      await repos.registry.recordAudit({ key: `${input.runId}:register`, actor: input.requestedBy ?? 'system', action: 'model.registered', subject: `${input.modelName}@${v.version}`, details: { runId: input.runId, onnxDigest: input.onnxDigest, datasetId: input.datasetId } });
      return { version: v.version };
    },

    /** Records the approval decision on the version and in the audit trail. */
    async recordDecision(input: { modelName: string; version: number; runId: string; decision: ApprovalRecord }): Promise<void> {
      const status = input.decision.decision === 'approve' ? 'approved' : 'rejected';
      await repos.registry.transitionVersion(input.modelName, input.version, status, { actor: input.decision.by, reason: input.decision.comment });
      await repos.registry.recordAudit({ key: `${input.runId}:decision`, actor: input.decision.by, action: `model.${status}`, subject: `${input.modelName}@${input.version}`, details: { ...input.decision, runId: input.runId } });
    },

    /** Points `production` at the version; exactly once per run, whatever the retries. */
    async deployModel(input: { modelName: string; version: number; runId: string }): Promise<{ deploymentId: number; previousVersion: number | null }> {
      const d = await repos.registry.deployVersion(input.modelName, input.version, `${input.runId}:deploy`, { reason: `pipeline ${input.runId}` });
      await monitorDeployed(deps, input.modelName);
      await repos.registry.recordAudit({ key: `${input.runId}:deploy`, actor: 'system', action: 'model.deployed', subject: `${input.modelName}@${input.version}`, details: { deploymentId: d.id, previousVersion: d.previousVersion, runId: input.runId } });
      return { deploymentId: d.id, previousVersion: d.previousVersion };
    },
  };
}

export type PipelineActivities = ReturnType<typeof createPipelineActivities>;
