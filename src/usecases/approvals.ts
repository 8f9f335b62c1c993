/**
 * One way in for approval decisions, whether they come from the API or a Slack button: the decision
 * is sent to the run, and a refused one (the run is not waiting, four-eyes, a repeated approval) is
 * written to the audit log with who tried and why before the refusal is returned.
 */
import { DomainError } from '../domain/errors';
import type { ApprovalDecision } from '../workflows/definitions';
import type { PipelineService } from './pipelines';
import type { Repositories } from '../store/repositories';

export async function decide(repos: Pick<Repositories, 'registry'>, pipelines: PipelineService, runId: string, decision: ApprovalDecision): Promise<Awaited<ReturnType<PipelineService['decide']>>> {
  try {
    return await pipelines.decide(runId, decision);
  } catch (err) {
    if (err instanceof DomainError && (err.code === 'conflict' || err.code === 'forbidden' || err.code === 'not_found')) {
      await repos.registry.recordAudit({ actor: decision.by, action: 'approval.refused', subject: runId, details: { decision: decision.decision, channel: decision.channel, reason: err.message } });
    }
    throw err;
  }
}
