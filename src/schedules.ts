/**
 * Temporal Schedules of the platform, visible (and pausable) in the Web UI: per model, a monitor that
 * checks drift and quality (`monitor-<model>`, every hour by default) and, when a team wants one, a
 * retraining on a calendar (`retrain-<model>`, a cron expression). Shared by the API, the CLI (through
 * the API) and the deployment activities, which give every newly deployed model its monitor.
 */
import { Client, ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOptionsStartWorkflowAction, ScheduleOverlapPolicy, ScheduleSummary } from '@temporalio/client';
import type { Workflow } from '@temporalio/common';
import type { RetrainTrigger } from './workflows/definitions';
import { modelMonitor, retrainModel } from './workflows/monitor';

export type ScheduleKind = 'monitor' | 'retrain';

export interface ScheduleRequest {
  kind: ScheduleKind;
  model: string;
  /** An interval such as 30m, 1h or 1d... */
  every?: string;
  /** ...or a cron expression (UTC), e.g. "0 3 * * 1" for Mondays at 03:00. */
  cron?: string;
  note?: string;
}

export interface ScheduleView {
  id: string;
  kind: ScheduleKind | 'other';
  model?: string;
  workflowType?: string;
  every?: string[];
  cron?: string[];
  paused: boolean;
  note?: string;
  nextRuns: string[];
  recentRuns: { at: string; workflowId: string }[];
}

export const scheduleId = (kind: ScheduleKind, model: string) => `${kind}-${model}`;

const INTERVAL = /^(\d+)(s|m|h|d)$/;

/** Checks a schedule request; returns what is wrong with it, in words, or nothing. */
export function scheduleProblem(r: ScheduleRequest): string | undefined {
  if (!!r.every === !!r.cron) return 'give exactly one of "every" (an interval such as 1h) or "cron" (e.g. "0 3 * * *")';
  if (r.every) {
    const m = INTERVAL.exec(r.every);
    if (!m || Number(m[1]) === 0) return `"every" must be an interval such as 30m, 1h or 1d, got "${r.every}"`;
    const seconds = Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as 's' | 'm' | 'h' | 'd'];
    if (seconds < 60) return '"every" must be at least one minute';
  }
  if (r.cron && r.cron.trim().split(/\s+/).length !== 5) return `"cron" takes five fields (minute hour day-of-month month day-of-week), got "${r.cron}"`;
  return undefined;
}

/** The workflow a schedule starts, by reference (its type name follows the function), with typed arguments. */
function actionFor(r: ScheduleRequest, taskQueue: string): ScheduleOptionsStartWorkflowAction<Workflow> {
  if (r.kind === 'monitor') {
    const monitor: ScheduleOptionsStartWorkflowAction<typeof modelMonitor> = { type: 'startWorkflow', taskQueue, workflowType: modelMonitor, args: [{ model: r.model }], workflowId: `monitor-${r.model}` };
    return monitor;
  }
  const trigger: RetrainTrigger = { kind: 'schedule', reason: `schedule ${scheduleId('retrain', r.model)} (${r.cron ?? `every ${r.every}`})` };
  const retrain: ScheduleOptionsStartWorkflowAction<typeof retrainModel> = { type: 'startWorkflow', taskQueue, workflowType: retrainModel, args: [{ model: r.model, trigger }], workflowId: `retrain-request-${r.model}` };
  return retrain;
}

/** Creates the schedule; `replace` updates an existing one instead of refusing. */
export async function createSchedule(client: Client, taskQueue: string, r: ScheduleRequest, o: { replace?: boolean } = {}): Promise<{ id: string; created: boolean }> {
  const problem = scheduleProblem(r);
  if (problem) throw new Error(problem);
  const id = scheduleId(r.kind, r.model);
  const spec = r.every ? { intervals: [{ every: r.every as `${number}${'s' | 'm' | 'h' | 'd'}` }] } : { cronExpressions: [r.cron!] };
  const action = actionFor(r, taskQueue);
  try {
    await client.schedule.create({
      scheduleId: id,
      spec,
      action,
      // a check or retraining still running when the next is due: skip that one rather than pile up
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '10 minutes' },
      // the server keeps a cron expression only as calendar specs: the memo keeps it as written
      memo: { model: r.model, kind: r.kind, ...(r.cron ? { cron: r.cron } : {}) },
      ...(r.note ? { state: { note: r.note } } : {}),
    });
    return { id, created: true };
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    if (!o.replace) return { id, created: false };
    await client.schedule.getHandle(id).update((previous) => ({ ...previous, spec, action }));
    // (a replaced cron stays in the memo as first written: the API only replaces monitor intervals)
    return { id, created: false };
  }
}

/** Gives a model its monitor unless it has one already (a paused one stays paused). */
export async function ensureMonitorSchedule(client: Client, taskQueue: string, model: string, every: string): Promise<boolean> {
  return (await createSchedule(client, taskQueue, { kind: 'monitor', model, every, note: 'created when the model was first deployed' })).created;
}

/** Milliseconds as the interval a person would write: 3600000 -> 1h. */
function interval(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000]] as const) if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms / 1000}s`;
}

function view(s: ScheduleSummary): ScheduleView {
  const kind = (s.memo?.kind as ScheduleKind | undefined) ?? 'other';
  const action = s.action as { workflowType?: string } | undefined;
  return {
    id: s.scheduleId,
    kind,
    ...(typeof s.memo?.model === 'string' ? { model: s.memo.model } : {}),
    ...(action?.workflowType ? { workflowType: action.workflowType } : {}),
    ...(s.spec?.intervals?.length ? { every: s.spec.intervals.map((i) => interval(Number(i.every))) } : {}),
    ...(typeof s.memo?.cron === 'string' ? { cron: [s.memo.cron] } : s.spec?.calendars?.length ? { cron: s.spec.calendars.map((c) => c.comment ?? JSON.stringify(c)) } : {}),
    paused: s.state.paused,
    ...(s.state.note ? { note: s.state.note } : {}),
    nextRuns: s.info.nextActionTimes.map((d) => d.toISOString()),
    recentRuns: s.info.recentActions.map((a) => ({ at: a.takenAt.toISOString(), workflowId: 'workflow' in a.action ? a.action.workflow.workflowId : '' })),
  };
}

export async function listSchedules(client: Client, filter: { model?: string } = {}): Promise<ScheduleView[]> {
  const out: ScheduleView[] = [];
  for await (const s of client.schedule.list()) {
    const v = view(s);
    if (v.kind === 'other') continue;
    if (!filter.model || v.model === filter.model) out.push(v);
  }
  return out.sort((a, b) => a.id.localeCompare(b.id));
}

export async function describeSchedule(client: Client, id: string): Promise<ScheduleView | undefined> {
  try {
    const d = await client.schedule.getHandle(id).describe();
    return view({ ...d, scheduleId: id, info: { ...d.info, nextActionTimes: d.info.nextActionTimes, recentActions: d.info.recentActions } } as unknown as ScheduleSummary);
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return undefined;
    throw err;
  }
}

/** Pauses, resumes or deletes a schedule; false when it does not exist. */
export async function changeSchedule(client: Client, id: string, change: 'pause' | 'unpause' | 'delete', note?: string): Promise<boolean> {
  const handle = client.schedule.getHandle(id);
  try {
    if (change === 'pause') await handle.pause(note ?? 'paused through the API');
    else if (change === 'unpause') await handle.unpause(note ?? 'resumed through the API');
    else await handle.delete();
    return true;
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return false;
    throw err;
  }
}
