/**
 * modelMonitor: one check of a deployed model — drift and quality over its recent traffic — then an
 * alert when something breached, and retraining when the breach calls for it. A Temporal Schedule runs
 * it (hourly by default), so each check is its own short workflow in the Web UI and histories stay small.
 *
 * retrainModel: starts the model's retraining pipeline now (a schedule or a person asked), with the
 * same one-at-a-time claim the monitor uses.
 */
import { log, ParentClosePolicy, patched, proxyActivities, startChild, workflowInfo, WorkflowIdReusePolicy } from '@temporalio/workflow';
import type { MonitoringActivities, CheckSummary } from '../activities/monitoring';
import type { CheckAction } from '../store/monitoring';
import type { RetrainTrigger } from './definitions';
import { trainingPipeline } from './training-pipeline';
import { ACTIVITY_PRESETS, retryExcept } from './activity-options';

const retry = retryExcept();
const checks = proxyActivities<MonitoringActivities>(ACTIVITY_PRESETS.checks(retry));
const quick = proxyActivities<MonitoringActivities>(ACTIVITY_PRESETS.quick(retry));

export interface MonitorResult {
  check: CheckSummary;
  alert?: { state: string; reason?: string };
  /** A clean check: the monitoring problems it closed (their dedup keys). */
  resolved?: string[];
  action?: CheckAction;
}

/**
 * The retraining run's workflow id, derived from the id of what asked for it (a monitor check
 * `monitor-<model>-<suffix>`, or a request `retrain-request-<model>-<suffix>`), so a retry cannot start a second.
 */
export function retrainRunId(causeId: string): string {
  return causeId.replace(/^(monitor|retrain-request)-/, 'retrain-');
}

/** Claims the model's retraining slot and starts the pipeline as an independent run. */
async function startRetraining(model: string, runId: string, trigger: RetrainTrigger, ignoreCooldown = false): Promise<CheckAction> {
  const claim = await quick.claimRetraining({ model, runId, trigger, ignoreCooldown });
  if (!claim.granted) return { retraining: 'skipped', reason: claim.reason, trigger: trigger.kind };
  try {
    await startChild(trainingPipeline, {
      workflowId: runId,
      args: [claim.input],
      // the run outlives this short workflow: it may wait days for approval
      parentClosePolicy: ParentClosePolicy.ABANDON,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    });
    return { retraining: 'started', runId, trigger: trigger.kind };
  } catch (err) {
    return { retraining: 'failed', reason: (err as Error).message, trigger: trigger.kind };
  }
}

/** Patch: a monitor alert that cannot be sent no longer fails the check before its retraining. */
const ALERT_FAILURE_DOES_NOT_STOP_RETRAINING = 'monitor-alert-failure-does-not-stop-retraining';

export async function modelMonitor(input: { model: string }): Promise<MonitorResult> {
  const checkId = workflowInfo().workflowId;
  const check = await checks.runMonitorCheck({ model: input.model, checkId });
  const result: MonitorResult = { check };
  if (check.breaches.length > 0) {
    try {
      result.alert = await quick.raiseMonitorAlert({ checkId });
    } catch (err) {
      // every alert channel failing must not cost the retraining the breach calls for (the check has
      // recorded the breach, and the new-data watermark has moved: the next check would not see it again).
      // Histories recorded before the patch failed here: they replay that way.
      if (!patched(ALERT_FAILURE_DOES_NOT_STOP_RETRAINING)) throw err;
      log.warn('monitor alert could not be sent; going on', { checkId, error: (err as Error).message });
    }
  }
  // histories recorded before clean checks resolved alerts have no activity here: they replay past it
  else if (patched('resolve-alerts-on-clean-check')) result.resolved = (await quick.resolveMonitorAlerts({ checkId, model: input.model })).resolved;
  if (check.retrain) {
    result.action = await startRetraining(input.model, retrainRunId(checkId), { kind: check.retrain.trigger, reason: check.retrain.reason, checkId });
    await quick.recordCheckAction({ checkId, action: result.action });
  }
  return result;
}

export async function retrainModel(input: { model: string; trigger: RetrainTrigger }): Promise<CheckAction> {
  // a schedule or a person asked on purpose: only a retraining still running stops it, not the cool-down
  return startRetraining(input.model, retrainRunId(workflowInfo().workflowId), input.trigger, true);
}
