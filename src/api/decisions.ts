/**
 * One way in for approval decisions, whether they come from the API or a Slack button: the decision
 * is sent to the run, and a refused one (the run is not waiting, four-eyes, a repeated approval) is
 * written to the audit log with who tried and why before the refusal is returned.
 */
import { Pool } from 'pg';
import { ApiError } from '../errors';
import { recordAudit } from '../store/registry';
import type { ApprovalDecision } from '../workflows/definitions';
import { PipelineService } from './pipeline-service';

export async function decide(pool: Pool, pipelines: PipelineService, runId: string, decision: ApprovalDecision): Promise<Awaited<ReturnType<PipelineService['decide']>>> {
  try {
    return await pipelines.decide(runId, decision);
  } catch (err) {
    if (err instanceof ApiError && (err.code === 'conflict' || err.code === 'forbidden' || err.code === 'not_found')) {
      await recordAudit(pool, { actor: decision.by, action: 'approval.refused', subject: runId, details: { decision: decision.decision, channel: decision.channel, reason: err.message } });
    }
    throw err;
  }
}
