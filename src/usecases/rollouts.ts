/** Starts, lists and steers rollouts, which run as workflows; the strategies come from src/rollouts. Refusals are domain errors. */
import { ApplicationFailure, Client, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { createHash, randomBytes } from 'node:crypto';
import { DomainError } from '../domain/errors';
import { STRATEGIES, StrategyName, strategyOf } from '../rollouts';
import type { Rollout } from '../store/rollouts';
import type { Repositories } from '../store/repositories';
import { startOnce } from './start-once';
import { rootMessage } from './workflow-failures';
import { ROLLOUT_DECISION_REFUSED, rolloutDecisionUpdate, RolloutInput, rolloutStatusQuery, RolloutStatus } from '../workflows/rollouts/rollout';

/** What a person asks a rollout to do; its fields are the strategy's (api/rollout-requests.ts parses them). */
export type RolloutRequest = Omit<RolloutInput, 'model' | 'actor'> & { strategy: StrategyName; by?: string };

export class RolloutService {
  constructor(private readonly client: Client, private readonly repos: Pick<Repositories, 'rollouts'>, private readonly o: { taskQueue: string; uiUrl: (id: string) => string }) {}

  async start(model: string, request: RolloutRequest, idempotencyKey?: string): Promise<{ id: string; strategy: string; uiUrl: string }> {
    const suffix = idempotencyKey ? createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 10) : randomBytes(5).toString('hex');
    const id = `rollout-${model}-${request.strategy}-${suffix}`;
    const { strategy, by, ...rest } = request;
    const input: RolloutInput = { model, ...rest, actor: by ?? 'api' };
    await startOnce(this.client, strategyOf(strategy).workflow, { taskQueue: this.o.taskQueue, workflowId: id, args: [input] });
    return { id, strategy, uiUrl: this.o.uiUrl(id) };
  }

  list(model: string): Promise<Rollout[]> {
    return this.repos.rollouts.listRollouts(model);
  }

  /** The rollout's record, with the workflow's live status (step, comparisons) while it runs or once done. */
  async get(model: string, id: string): Promise<Rollout & { status?: RolloutStatus; error?: string; uiUrl: string }> {
    const handle = this.client.workflow.getHandle(id);
    let description;
    try {
      description = await handle.describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new DomainError('not_found', `rollout "${id}" does not exist`);
      throw err;
    }
    if (!STRATEGIES.some((s) => s.workflow.name === description.type) || !id.startsWith(`rollout-${model}-`)) throw new DomainError('not_found', `model "${model}" has no rollout "${id}"`);
    const record = await this.repos.rollouts.getRollout(id);
    const status = await handle.query(rolloutStatusQuery).catch(() => undefined);
    let error: string | undefined;
    if (description.status.name === 'FAILED') error = await handle.result().then(() => undefined, (e: Error) => rootMessage(e));
    const base = record ?? { id, modelName: model, version: status?.version ?? 0, fromVersion: status?.fromVersion ?? null, strategy: status?.strategy ?? 'unknown', state: 'failed' as const, step: null, percent: null, analysis: null, actor: 'unknown', startedAt: description.startTime.toISOString(), endedAt: null };
    return { ...base, ...(status ? { status } : {}), ...(error ? { error, state: 'failed' as const } : {}), uiUrl: this.o.uiUrl(id) };
  }

  /** A person's promote or abort, as the rollout's `decide` update: the rollout says whether it takes it. */
  async decide(model: string, id: string, action: 'promote' | 'abort', decision: { by: string; reason?: string }): Promise<{ id: string; action: string; step: number; percent: number }> {
    const current = await this.get(model, id);
    if (current.status?.state !== 'running') throw new DomainError('conflict', `rollout "${id}" is not running (state: ${current.status?.state ?? current.state})`);
    try {
      const answer = await this.client.workflow.getHandle(id).executeUpdate(rolloutDecisionUpdate, { args: [{ action, by: decision.by, ...(decision.reason ? { reason: decision.reason } : {}) }] });
      return { id, ...answer };
    } catch (err) {
      const cause = err instanceof WorkflowUpdateFailedError ? err.cause : undefined;
      if (cause instanceof ApplicationFailure && cause.type === ROLLOUT_DECISION_REFUSED) throw new DomainError('conflict', `rollout "${id}": ${cause.message}`);
      if (err instanceof WorkflowNotFoundError) throw new DomainError('conflict', `rollout "${id}" is not running (it has ended)`);
      throw err;
    }
  }
}
