/**
 * Use cases of monitoring: read a model's checks and settings, run a check now, ask for retraining,
 * and manage the Temporal Schedules that run monitors and calendar retraining. Transport-free: refusals are domain errors.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Client, WorkflowFailedError } from '@temporalio/client';
import { DomainError } from '../domain/errors';
import type { CheckAction } from '../store/monitoring';
import { DeepPartial, MonitorCheck, MonitorConfig } from '../store/monitoring';
import { changeSchedule, createSchedule, describeSchedule, listSchedules, ScheduleRequest, scheduleId, scheduleProblem, ScheduleView } from '../schedules';
import { modelMonitor, MonitorResult, retrainModel } from '../workflows/monitor';
import { startOnce } from './start-once';
import { rootMessage } from './workflow-failures';
import type { Repositories } from '../store/repositories';

/** A change to a model's monitor settings; `every` creates or moves its monitor schedule. */
export type MonitorSettingsChange = DeepPartial<MonitorConfig> & { every?: string };

/** Who asks for retraining, and why. */
export interface RetrainRequest {
  reason?: string;
  by?: string;
}

const suffixOf = (key?: string) => (key ? createHash('sha256').update(key).digest('hex').slice(0, 10) : `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`);

export class MonitoringService {
  constructor(private readonly client: Client, private readonly repos: Pick<Repositories, 'registry' | 'monitoring'>, private readonly o: { taskQueue: string; uiUrl: (id: string) => string; every: string }) {}

  private async requireModel(model: string): Promise<void> {
    if (!(await this.repos.registry.modelExists(model))) throw new DomainError('not_found', `model "${model}" does not exist`);
  }

  async overview(model: string): Promise<{ model: string; config: MonitorConfig; schedule: ScheduleView | null; checks: (MonitorCheck & { uiUrl: string })[] }> {
    await this.requireModel(model);
    const [config, schedule, checks] = await Promise.all([this.repos.monitoring.getMonitorConfig(model), describeSchedule(this.client, scheduleId('monitor', model)), this.repos.monitoring.listChecks(model, 20)]);
    return { model, config, schedule: schedule ?? null, checks: checks.map((c) => ({ ...c, uiUrl: this.o.uiUrl(c.id) })) };
  }

  async configure(model: string, request: MonitorSettingsChange): Promise<{ config: MonitorConfig; schedule: ScheduleView | null }> {
    await this.requireModel(model);
    const { every, ...patch } = request;
    if (every) {
      const problem = scheduleProblem({ kind: 'monitor', model, every });
      if (problem) throw new DomainError('invalid', problem);
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
      const handle = await startOnce(this.client, modelMonitor, { taskQueue: this.o.taskQueue, workflowId: id, args: [{ model }] });
      const result = await handle.result();
      return { id, uiUrl: this.o.uiUrl(id), ...result };
    } catch (err) {
      if (err instanceof WorkflowFailedError) throw new DomainError('failed', `the check failed: ${rootMessage(err)}`);
      throw err;
    }
  }

  /** Starts the model's retraining now, unless one is already running. */
  async retrain(model: string, request: RetrainRequest, idempotencyKey?: string): Promise<CheckAction & { requestId: string; uiUrl?: string }> {
    await this.requireModel(model);
    const id = `retrain-request-${model}-${suffixOf(idempotencyKey)}`;
    const trigger = { kind: 'manual' as const, reason: request.reason ?? `requested by ${request.by ?? 'api'}` };
    const handle = await startOnce(this.client, retrainModel, { taskQueue: this.o.taskQueue, workflowId: id, args: [{ model, trigger }] });
    const action = await handle.result();
    return { requestId: id, ...action, ...(action.retraining === 'started' ? { uiUrl: this.o.uiUrl(action.runId) } : {}) };
  }

  async schedules(model?: string): Promise<ScheduleView[]> {
    return listSchedules(this.client, { model });
  }

  /** One of the platform's schedules; another application's in the same namespace is not ours to show or change. */
  async schedule(id: string): Promise<ScheduleView> {
    const found = await describeSchedule(this.client, id);
    if (!found || found.kind === 'other') throw new DomainError('not_found', `schedule "${id}" does not exist`);
    return found;
  }

  async createSchedule(request: ScheduleRequest): Promise<ScheduleView> {
    await this.requireModel(request.model);
    const problem = scheduleProblem(request);
    if (problem) throw new DomainError('invalid', problem);
    const { id, created } = await createSchedule(this.client, this.o.taskQueue, request);
    if (!created) throw new DomainError('conflict', `schedule "${id}" already exists; pause, delete or change it instead`);
    return this.schedule(id);
  }

  /**
   * Pauses, resumes or deletes one of the platform's schedules (only those: see `schedule`), once `mayChange`
   * (the caller's rule for this schedule) has not thrown.
   */
  async changeSchedule(id: string, change: 'pause' | 'unpause' | 'delete', note?: string, mayChange: (s: ScheduleView) => void = () => undefined): Promise<void> {
    mayChange(await this.schedule(id));
    if (!(await changeSchedule(this.client, id, change, note))) throw new DomainError('not_found', `schedule "${id}" does not exist`);
  }
}
