/** Starts, lists and steers rollouts (blue-green, canary, shadow), which run as workflows. */
import { ApplicationFailure, Client, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { createHash, randomBytes } from 'node:crypto';
import { Pool } from 'pg';
import { z } from 'zod';
import { ApiError } from '../errors';
import { getRollout, listRollouts, Rollout } from '../store/rollouts';
import { rootMessage } from '../usecases/workflow-failures';
import { blueGreenDeployment, canaryRollout, shadowDeployment } from '../workflows/rollouts';
import { ROLLOUT_DECISION_REFUSED, rolloutDecisionUpdate, RolloutInput, rolloutStatusQuery, RolloutStatus } from '../workflows/rollouts/rollout';

const WORKFLOW = { 'blue-green': blueGreenDeployment, canary: canaryRollout, shadow: shadowDeployment } as const;

export const rolloutRequestSchema = z.strictObject({
  version: z.number().int().min(1).max(2 ** 31 - 1),
  strategy: z.enum(['blue-green', 'canary', 'shadow']),
  steps: z.array(z.number().positive().max(100)).min(1).max(20)
    .refine((s) => s.every((p, i) => i === 0 || p > s[i - 1]), 'steps must increase')
    .refine((s) => s[s.length - 1] === 100, 'the last step must be 100').optional(),
  bakeSeconds: z.number().min(0).max(7 * 24 * 3600).optional(),
  percent: z.number().positive().max(100).optional(),
  thresholds: z.strictObject({
    maxErrorRateIncrease: z.number().min(0).max(1).optional(),
    maxLatencyRatio: z.number().min(1).optional(),
    minLatencyIncreaseMs: z.number().min(0).optional(),
    maxPsi: z.number().positive().optional(),
    maxAccuracyDrop: z.number().min(0).max(1).optional(),
    minLabels: z.number().int().min(1).optional(),
    minRequests: z.number().int().min(1).optional(),
    falseAlarmRate: z.number().positive().max(0.5).optional(),
  }).optional(),
  maxExtensions: z.number().int().min(0).max(1000).optional(),
  by: z.string().min(1).max(200).optional(),
}).refine((r) => r.strategy === 'canary' || r.steps === undefined, 'steps are for canary rollouts')
  .refine((r) => r.strategy === 'shadow' || r.percent === undefined, 'percent is for shadow deployments');

export const decisionSchema = z.strictObject({ by: z.string().min(1).max(200).optional(), reason: z.string().max(2000).optional() });

export class RolloutService {
  constructor(private readonly client: Client, private readonly pool: Pool, private readonly o: { taskQueue: string; uiUrl: (id: string) => string }) {}

  async start(model: string, request: z.infer<typeof rolloutRequestSchema>, idempotencyKey?: string): Promise<{ id: string; strategy: string; uiUrl: string }> {
    const suffix = idempotencyKey ? createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 10) : randomBytes(5).toString('hex');
    const id = `rollout-${model}-${request.strategy}-${suffix}`;
    const { strategy, by, ...rest } = request;
    const input: RolloutInput = { model, ...rest, actor: by ?? 'api' };
    await this.client.workflow.start(WORKFLOW[strategy], { taskQueue: this.o.taskQueue, workflowId: id, args: [input], workflowIdConflictPolicy: 'USE_EXISTING' });
    return { id, strategy, uiUrl: this.o.uiUrl(id) };
  }

  list(model: string): Promise<Rollout[]> {
    return listRollouts(this.pool, model);
  }

  /** The rollout's record, with the workflow's live status (step, comparisons) while it runs or once done. */
  async get(model: string, id: string): Promise<Rollout & { status?: RolloutStatus; error?: string; uiUrl: string }> {
    const handle = this.client.workflow.getHandle(id);
    let description;
    try {
      description = await handle.describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new ApiError('not_found', `rollout "${id}" does not exist`);
      throw err;
    }
    if (!Object.values(WORKFLOW).some((w) => w.name === description.type) || !id.startsWith(`rollout-${model}-`)) throw new ApiError('not_found', `model "${model}" has no rollout "${id}"`);
    const record = await getRollout(this.pool, id);
    const status = await handle.query(rolloutStatusQuery).catch(() => undefined);
    let error: string | undefined;
    if (description.status.name === 'FAILED') error = await handle.result().then(() => undefined, (e: Error) => rootMessage(e));
    const base = record ?? { id, modelName: model, version: status?.version ?? 0, fromVersion: status?.fromVersion ?? null, strategy: status?.strategy ?? 'unknown', state: 'failed' as const, step: null, percent: null, analysis: null, actor: 'unknown', startedAt: description.startTime.toISOString(), endedAt: null };
    return { ...base, ...(status ? { status } : {}), ...(error ? { error, state: 'failed' as const } : {}), uiUrl: this.o.uiUrl(id) };
  }

  /** A person's promote or abort, as the rollout's `decide` update: the rollout says whether it takes it. */
  async decide(model: string, id: string, action: 'promote' | 'abort', decision: { by: string; reason?: string }): Promise<{ id: string; action: string; step: number; percent: number }> {
    const current = await this.get(model, id);
    if (current.status?.state !== 'running') throw new ApiError('conflict', `rollout "${id}" is not running (state: ${current.status?.state ?? current.state})`);
    try {
      const answer = await this.client.workflow.getHandle(id).executeUpdate(rolloutDecisionUpdate, { args: [{ action, by: decision.by, ...(decision.reason ? { reason: decision.reason } : {}) }] });
      return { id, ...answer };
    } catch (err) {
      const cause = err instanceof WorkflowUpdateFailedError ? err.cause : undefined;
      if (cause instanceof ApplicationFailure && cause.type === ROLLOUT_DECISION_REFUSED) throw new ApiError('conflict', `rollout "${id}": ${cause.message}`);
      if (err instanceof WorkflowNotFoundError) throw new ApiError('conflict', `rollout "${id}" is not running (it has ended)`);
      throw err;
    }
  }
}
