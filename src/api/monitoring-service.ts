/**
 * Use cases of monitoring: read a model's checks and settings, run a check now, ask for retraining,
 * and manage the Temporal Schedules that run monitors and calendar retraining. Transport-free.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Client, WorkflowFailedError } from '@temporalio/client';
import { z } from 'zod';
import { ApiError } from '../errors';
import type { CheckAction } from '../store/monitoring';
import { DeepPartial, MonitorCheck, MonitorConfig } from '../store/monitoring';
import { changeSchedule, createSchedule, describeSchedule, listSchedules, ScheduleRequest, scheduleId, scheduleProblem, ScheduleView } from '../schedules';
import { modelMonitor, MonitorResult, retrainModel } from '../workflows/monitor';
import { rootMessage } from './pipeline-service';
import type { Repositories } from '../store/repositories';

const fraction = z.number().min(0).max(1);
export const monitorConfigSchema = z.strictObject({
  windowMinutes: z.number().int().min(1).max(30 * 24 * 60).optional(),
  minRows: z.number().int().min(1).max(1_000_000).optional(),
  drift: z.strictObject({
    alpha: z.number().gt(0).lt(1).optional(),
    bonferroni: z.boolean().optional(),
    psiThreshold: z.number().positive().optional(),
    minPsi: z.number().min(0).optional(),
    driftShare: z.number().gt(0).max(1).optional(),
  }).optional(),
  quality: z.strictObject({ maxDrop: fraction.optional(), minAccuracy: fraction.optional(), minLabelled: z.number().int().min(1).optional() }).optional(),
  serving: z.strictObject({ maxErrorRate: fraction.optional() }).optional(),
  retrain: z.strictObject({
    onDrift: z.boolean().optional(), onQuality: z.boolean().optional(), onNewData: z.boolean().optional(),
    cooldownMinutes: z.number().min(0).max(30 * 24 * 60).optional(),
  }).optional(),
  /** The monitor schedule's interval, e.g. "15m" (creates or updates it). */
  every: z.string().optional(),
});

export const scheduleRequestSchema = z.strictObject({
  kind: z.enum(['monitor', 'retrain']),
  model: z.string().min(1),
  every: z.string().optional(),
  cron: z.string().optional(),
  note: z.string().max(500).optional(),
});

export const retrainRequestSchema = z.strictObject({ reason: z.string().max(2000).optional(), by: z.string().min(1).max(200).optional() });

const suffixOf = (key?: string) => (key ? createHash('sha256').update(key).digest('hex').slice(0, 10) : `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`);

export class MonitoringService {
  constructor(private readonly client: Client, private readonly repos: Pick<Repositories, 'registry' | 'monitoring'>, private readonly o: { taskQueue: string; uiUrl: (id: string) => string; every: string }) {}

  private async requireModel(model: string): Promise<void> {
    if (!(await this.repos.registry.modelExists(model))) throw new ApiError('not_found', `model "${model}" does not exist`);
  }

  async overview(model: string): Promise<{ model: string; config: MonitorConfig; schedule: ScheduleView | null; checks: (MonitorCheck & { uiUrl: string })[] }> {
    await this.requireModel(model);
    const [config, schedule, checks] = await Promise.all([this.repos.monitoring.getMonitorConfig(model), describeSchedule(this.client, scheduleId('monitor', model)), this.repos.monitoring.listChecks(model, 20)]);
    return { model, config, schedule: schedule ?? null, checks: checks.map((c) => ({ ...c, uiUrl: this.o.uiUrl(c.id) })) };
  }

  async configure(model: string, request: z.infer<typeof monitorConfigSchema>): Promise<{ config: MonitorConfig; schedule: ScheduleView | null }> {
    await this.requireModel(model);
    const { every, ...patch } = request;
    if (every) {
      const problem = scheduleProblem({ kind: 'monitor', model, every });
      if (problem) throw new ApiError('invalid_request', problem);
    }
    const config = await this.repos.monitoring.updateMonitorConfig(model, patch as DeepPartial<MonitorConfig>);
    if (every) await createSchedule(this.client, this.o.taskQueue, { kind: 'monitor', model, every }, { replace: true });
    return { config, schedule: (await describeSchedule(this.client, scheduleId('monitor', model))) ?? null };
  }

  /** Runs one check now and waits for it (a check takes seconds); the same key returns the same check. */
  async runNow(model: string, idempotencyKey?: string): Promise<MonitorResult & { id: string; uiUrl: string }> {
    await this.requireModel(model);
    const id = `monitor-${model}-${suffixOf(idempotencyKey)}`;
    try {
      const handle = await this.client.workflow.start(modelMonitor, { taskQueue: this.o.taskQueue, workflowId: id, args: [{ model }], workflowIdConflictPolicy: 'USE_EXISTING' });
      const result = await handle.result();
      return { id, uiUrl: this.o.uiUrl(id), ...result };
    } catch (err) {
      if (err instanceof WorkflowFailedError) throw new ApiError('internal', `the check failed: ${rootMessage(err)}`);
      throw err;
    }
  }

  /** Starts the model's retraining now, unless one is already running. */
  async retrain(model: string, request: z.infer<typeof retrainRequestSchema>, idempotencyKey?: string): Promise<CheckAction & { requestId: string; uiUrl?: string }> {
    await this.requireModel(model);
    const id = `retrain-request-${model}-${suffixOf(idempotencyKey)}`;
    const trigger = { kind: 'manual' as const, reason: request.reason ?? `requested by ${request.by ?? 'api'}` };
    const handle = await this.client.workflow.start(retrainModel, { taskQueue: this.o.taskQueue, workflowId: id, args: [{ model, trigger }], workflowIdConflictPolicy: 'USE_EXISTING' });
    const action = await handle.result();
    return { requestId: id, ...action, ...(action.retraining === 'started' ? { uiUrl: this.o.uiUrl(action.runId) } : {}) };
  }

  async schedules(model?: string): Promise<ScheduleView[]> {
    return listSchedules(this.client, { model });
  }

  async schedule(id: string): Promise<ScheduleView> {
    const found = await describeSchedule(this.client, id);
    if (!found) throw new ApiError('not_found', `schedule "${id}" does not exist`);
    return found;
  }

  async createSchedule(request: ScheduleRequest): Promise<ScheduleView> {
    await this.requireModel(request.model);
    const problem = scheduleProblem(request);
    if (problem) throw new ApiError('invalid_request', problem);
    const { id, created } = await createSchedule(this.client, this.o.taskQueue, request);
    if (!created) throw new ApiError('conflict', `schedule "${id}" already exists; pause, delete or change it instead`);
    return this.schedule(id);
  }

  async changeSchedule(id: string, change: 'pause' | 'unpause' | 'delete', note?: string): Promise<void> {
    if (!(await changeSchedule(this.client, id, change, note))) throw new ApiError('not_found', `schedule "${id}" does not exist`);
  }
}
