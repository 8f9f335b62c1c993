/** Use cases for pipelines: start one, read its status, send a decision. Transport-free: refusals are domain errors. */
import { randomBytes, createHash } from 'node:crypto';
import { ApplicationFailure, Client, WorkflowFailedError, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { DomainError } from '../domain/errors';
import { redactUri } from '../ingest/sources';
import { SourcePolicy, SourceRefused } from '../ingest/source-policy';
import { transportFor } from '../ingest/transports';
import {
  ApprovalDecision,
  APPROVAL_REFUSALS,
  approvalUpdate,
  MODEL_NAME_KEY,
  PipelineData,
  PipelineInput,
  PipelineStatus,
  statusQuery,
} from '../workflows/definitions';
import { trainingPipeline } from '../workflows/training-pipeline';
import { startOnce } from './start-once';
import { rootMessage } from './workflow-failures';
import type { Repositories } from '../store/repositories';

/** What a person asks a pipeline to do; who asked, and how the run is tagged, the service adds. */
export type PipelineRequest = Omit<PipelineInput, 'requestedBy' | 'useSearchAttributes' | 'trigger'>;

export interface PipelineView extends Partial<PipelineStatus> {
  id: string;
  state: PipelineStatus['state'];
  startedAt?: string;
  closedAt?: string;
  uiUrl: string;
  /** The registered version's HTML report (ROC, precision-recall, confusion matrix). */
  reportUrl?: string;
}

export class PipelineService {
  constructor(
    private readonly client: Client,
    private readonly o: { taskQueue: string; uiUrl: (id: string) => string; useSearchAttributes: boolean; repos: Pick<Repositories, 'connections' | 'datasets' | 'trainers'>; sources: SourcePolicy },
  ) {}

  /**
   * Checks a source before a run starts, so a refused one is a 400 now rather than a failed run later:
   * files under the data roots, URLs that reach no internal address, connections and datasets that exist.
   * Returns the source with a file path made absolute. The worker checks again when it reads.
   */
  async checkSource(data: PipelineData): Promise<PipelineData> {
    try {
      if ('uri' in data) return { ...data, uri: await transportFor(data.uri).check(data.uri, this.o.sources) };
    } catch (err) {
      if (err instanceof SourceRefused) throw new DomainError('invalid', err.message, { setting: err.setting });
      throw err;
    }
    if ('connection' in data) {
      if (!(await this.o.repos.connections.getConnection(data.connection))) throw new DomainError('invalid', `no connection is named "${data.connection}"; an admin registers it (mlops connections add, PUT /v1/connections/${data.connection})`);
      return data;
    }
    if (!(await this.o.repos.datasets.getDataset(data.dataset))) throw new DomainError('invalid', `dataset version "${data.dataset}" does not exist; upload it with POST /v1/datasets`);
    return data;
  }

  /** Starts a run. With an idempotency key, repeating the call returns the same run. */
  async start(request: PipelineRequest, o: { requestedBy?: string; idempotencyKey?: string } = {}): Promise<{ id: string; uiUrl: string }> {
    if (!request.data && !request.import) throw new DomainError('invalid', 'a pipeline needs data: name a source in "data"');
    // without data only an import starts (a model that comes without evaluation data, imported unscored)
    const data = request.data ? await this.checkSource(request.data) : undefined;
    if (request.trainer?.kind === 'custom' && !(await this.o.repos.trainers.getTrainer(request.trainer.name ?? ''))) {
      throw new DomainError('invalid', `no trainer is named "${request.trainer.name}"; an admin registers it (mlops trainers add, PUT /v1/trainers/${request.trainer.name})`);
    }
    const suffix = o.idempotencyKey ? createHash('sha256').update(o.idempotencyKey).digest('hex').slice(0, 10) : randomBytes(5).toString('hex');
    const id = `train-${request.model}-${suffix}`;
    const input: PipelineInput = {
      model: request.model,
      data,
      target: request.target,
      features: request.features,
      positiveClass: request.positiveClass,
      preprocessing: request.preprocessing,
      evaluation: request.evaluation,
      trainer: { kind: request.trainer?.kind, ...(request.trainer?.name ? { name: request.trainer.name } : {}), params: request.trainer?.params, search: request.trainer?.search },
      ...(request.import ? { import: request.import } : {}),
      approval: request.approval,
      seed: request.seed,
      requestedBy: o.requestedBy,
      useSearchAttributes: this.o.useSearchAttributes,
    };
    await startOnce(this.client, trainingPipeline, {
      taskQueue: this.o.taskQueue,
      workflowId: id,
      args: [input],
      memo: { model: request.model, ...(request.target ? { target: request.target } : {}), data: data ? describeSource(data) : 'none (imported unscored)' },
      ...(this.o.useSearchAttributes ? { typedSearchAttributes: [{ key: MODEL_NAME_KEY, value: request.model }] } : {}),
    });
    return { id, uiUrl: this.o.uiUrl(id) };
  }

  /** Current status of a run, from its query while it runs and from its result once closed; links the version's report once registered. */
  async get(id: string): Promise<PipelineView> {
    const view = await this.read(id);
    return view.modelVersion && view.model ? { ...view, reportUrl: `/v1/models/${encodeURIComponent(view.model)}/versions/${view.modelVersion}/report` } : view;
  }

  /**
   * Recent runs, newest first, each as `get` shows it, from Temporal's visibility store: running ones
   * are not in the registry yet. `model`, `since` and `running` (those still open, waiting for approval
   * included) narrow the listing; state and trigger are read from each run, so the caller filters those.
   */
  async list(o: { model?: string; since?: Date; running?: boolean; limit?: number } = {}): Promise<PipelineView[]> {
    const clauses = [`WorkflowType = '${trainingPipeline.name}'`];
    if (o.running) clauses.push("ExecutionStatus = 'Running'");
    // a filter is typed by a person: all but a model name's characters is dropped, so it cannot leave its quotes
    if (o.model !== undefined && this.o.useSearchAttributes) clauses.push(`${MODEL_NAME_KEY.name} = '${o.model.replace(/[^A-Za-z0-9_.-]/g, '')}'`);
    if (o.since) clauses.push(`StartTime >= '${o.since.toISOString()}'`);
    const ids: string[] = [];
    for await (const w of this.client.workflow.list({ query: `${clauses.join(' AND ')}` })) {
      if (o.model !== undefined && !this.o.useSearchAttributes && (w.memo as { model?: string } | undefined)?.model !== o.model) continue;
      ids.push(w.workflowId);
      if (ids.length >= (o.limit ?? 30)) break;
    }
    // the dev server's SQL visibility cannot ORDER BY; it lists running runs first, then by close time
    const views = await Promise.all(ids.map((id) => this.get(id).catch(() => undefined)));
    return views.filter((v): v is PipelineView => v !== undefined).sort((a, b) => (b.startedAt ?? '').localeCompare(a.startedAt ?? ''));
  }

  /** The run's handle and description; a 404 unless it is a training pipeline. */
  private async describe(id: string) {
    const handle = this.client.workflow.getHandle<typeof trainingPipeline>(id);
    let description;
    try {
      description = await handle.describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new DomainError('not_found', `pipeline "${id}" does not exist`);
      throw err;
    }
    if (description.type !== trainingPipeline.name) throw new DomainError('not_found', `pipeline "${id}" does not exist`);
    return { handle, description };
  }

  private async read(id: string): Promise<PipelineView> {
    const { handle, description } = await this.describe(id);
    const base = { id, startedAt: description.startTime.toISOString(), closedAt: description.closeTime?.toISOString(), uiUrl: this.o.uiUrl(id) };
    const status = description.status.name;
    if (status === 'COMPLETED') {
      const result = await handle.result();
      return { ...result, ...base };
    }
    const queried = await handle.query(statusQuery).catch(() => undefined);
    if (status === 'RUNNING' || status === 'CONTINUED_AS_NEW') {
      return { ...(queried ?? { stage: undefined }), ...base, state: queried?.state ?? 'running' };
    }
    let error = `the run ended: ${status.toLowerCase()}`;
    try {
      await handle.result();
    } catch (err) {
      if (err instanceof WorkflowFailedError) error = rootMessage(err);
    }
    return { ...(queried ?? {}), ...base, state: 'failed', error };
  }

  /**
   * Sends a person's decision as the run's `decide` update. The run's ballot is the only rulebook: it
   * refuses a decision while the run is not waiting for one, from the person who started it (four-eyes),
   * or a second approval by the same person; the caller gets its answer (counted, k of n) or its reason.
   */
  async decide(id: string, decision: ApprovalDecision): Promise<{ id: string; decision: string; approvals: number; required: number; outcome?: string }> {
    const { handle, description } = await this.describe(id);
    if (description.status.name !== 'RUNNING') throw new DomainError('conflict', `pipeline "${id}" is not awaiting approval (state: ${(await this.read(id)).state})`);
    try {
      return { id, ...(await handle.executeUpdate(approvalUpdate, { args: [decision] })) };
    } catch (err) {
      const cause = err instanceof WorkflowUpdateFailedError ? err.cause : undefined;
      if (cause instanceof ApplicationFailure && cause.type === APPROVAL_REFUSALS.fourEyes) throw new DomainError('forbidden', `${cause.message}; another approver must`);
      if (cause instanceof ApplicationFailure && (cause.type === APPROVAL_REFUSALS.repeated || cause.type === APPROVAL_REFUSALS.notAwaiting)) throw new DomainError('conflict', `pipeline "${id}": ${cause.message}`);
      // the run ended between the look and the update
      if (err instanceof WorkflowNotFoundError) throw new DomainError('conflict', `pipeline "${id}" is not awaiting approval (it has ended)`);
      throw err;
    }
  }
}

/** A source as the audit log and the memo show it: never with a password. */
export function describeSource(data: PipelineData): string {
  if ('connection' in data) return `connection:${data.connection}`;
  if ('dataset' in data) return `dataset:${data.dataset}`;
  return redactUri(data.uri);
}
