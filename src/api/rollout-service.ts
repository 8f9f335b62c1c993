/** Starts, lists and steers rollouts, which run as workflows; the strategies come from src/rollouts. */
import { ApplicationFailure, Client, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { createHash, randomBytes } from 'node:crypto';
import { Pool } from 'pg';
import { z } from 'zod';
import { ApiError } from '../errors';
import { RolloutStrategy, STRATEGIES, STRATEGY_NAMES, strategyOf } from '../rollouts';
import { getRollout, listRollouts, Rollout } from '../store/rollouts';
import { rootMessage } from '../usecases/workflow-failures';
import { ROLLOUT_DECISION_REFUSED, rolloutDecisionUpdate, RolloutInput, rolloutStatusQuery, RolloutStatus } from '../workflows/rollouts/rollout';

/** Request fields every strategy takes; a strategy's own ones are its `settings`. */
const SHARED_FIELDS = {
  version: z.number().int().min(1).max(2 ** 31 - 1),
  bakeSeconds: z.number().min(0).max(7 * 24 * 3600).optional(),
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
};

/** A field a strategy does not take: say which strategies do, or else what this one takes. */
function notASetting(strategy: RolloutStrategy, keys: string[]): string {
  const elsewhere = keys.flatMap((key) => {
    const takers = STRATEGIES.filter((s) => key in s.settings).map((s) => s.name);
    return takers.length > 0 ? [`${key} is for ${takers.join(' and ')}`] : [];
  });
  const own = `its settings: ${[...Object.keys(SHARED_FIELDS), ...Object.keys(strategy.settings)].join(', ')}`;
  const notes = elsewhere.length === keys.length ? elsewhere : [...elsewhere, own];
  return `${strategy.name} takes no ${keys.map((k) => `"${k}"`).join(', ')} (${notes.join('; ')})`;
}

/** The request body, keyed by `strategy`: one branch per registered strategy, with its settings. */
const [firstStrategy, ...otherStrategies] = STRATEGIES.map((s) => z.strictObject({ strategy: z.literal(s.name), ...SHARED_FIELDS, ...s.settings }, {
  error: (issue) => (issue.code === 'unrecognized_keys' ? notASetting(s, issue.keys) : undefined),
}));
export const rolloutRequestSchema = z.discriminatedUnion('strategy', [firstStrategy, ...otherStrategies], {
  error: (issue) => {
    if (issue.code !== 'invalid_union') return undefined;
    const given = (issue.input as { strategy?: unknown } | undefined)?.strategy;
    return `${given === undefined ? 'required' : `${JSON.stringify(given)} is not a rollout strategy`}; available: ${STRATEGY_NAMES.join(', ')}`;
  },
});
export type RolloutRequest = z.infer<typeof rolloutRequestSchema>;

export const decisionSchema = z.strictObject({ by: z.string().min(1).max(200).optional(), reason: z.string().max(2000).optional() });

export class RolloutService {
  constructor(private readonly client: Client, private readonly pool: Pool, private readonly o: { taskQueue: string; uiUrl: (id: string) => string }) {}

  async start(model: string, request: RolloutRequest, idempotencyKey?: string): Promise<{ id: string; strategy: string; uiUrl: string }> {
    const suffix = idempotencyKey ? createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 10) : randomBytes(5).toString('hex');
    const id = `rollout-${model}-${request.strategy}-${suffix}`;
    const { strategy, by, ...rest } = request;
    const input: RolloutInput = { model, ...rest, actor: by ?? 'api' };
    await this.client.workflow.start(strategyOf(strategy).workflow, { taskQueue: this.o.taskQueue, workflowId: id, args: [input], workflowIdConflictPolicy: 'USE_EXISTING' });
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
    if (!STRATEGIES.some((s) => s.workflow.name === description.type) || !id.startsWith(`rollout-${model}-`)) throw new ApiError('not_found', `model "${model}" has no rollout "${id}"`);
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
