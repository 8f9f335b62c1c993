/**
 * Registry changes that deserve a place in the Temporal Web UI run as workflows: rollback and
 * reproduce. The API starts them and waits for their result, mapping their failures to domain errors.
 */
import { ApplicationFailure, Client, WorkflowFailedError } from '@temporalio/client';
import { randomBytes, createHash } from 'node:crypto';
import { DomainError } from '../domain/errors';
import { REGISTRY_ERRORS } from '../activities/registry';
import type { Deployment } from '../domain/model-version';
import { reproduce, ReproduceInput, rollback, RollbackInput } from '../workflows/registry-operations';
import { rootMessage } from './workflow-failures';

export interface ReproduceResult {
  identical: boolean;
  registeredDigest: string;
  reproducedDigest: string;
  datasetId: string;
  l2: number;
  trainMs: number;
}

function workflowError(err: unknown): unknown {
  if (!(err instanceof WorkflowFailedError)) return err;
  let cause: unknown = err.cause;
  while (cause && !(cause instanceof ApplicationFailure)) cause = (cause as { cause?: unknown }).cause;
  const type = (cause as ApplicationFailure | undefined)?.type;
  if (type === REGISTRY_ERRORS.not_found) return new DomainError('not_found', rootMessage(err));
  if (type === REGISTRY_ERRORS.conflict) return new DomainError('conflict', rootMessage(err));
  return err;
}

/** Workflow ids: from the Idempotency-Key when given (a retried request joins the same run), else fresh. */
const suffix = (key?: string) => (key ? createHash('sha256').update(key).digest('hex').slice(0, 12) : randomBytes(6).toString('hex'));

export class RegistryService {
  constructor(private readonly client: Client, private readonly o: { taskQueue: string; uiUrl: (id: string) => string }) {}

  async rollback(input: RollbackInput, idempotencyKey?: string): Promise<{ deployment: Deployment; workflowId: string; uiUrl: string }> {
    const workflowId = `rollback-${input.model}-${suffix(idempotencyKey)}`;
    try {
      const deployment = await this.client.workflow.execute(rollback, { taskQueue: this.o.taskQueue, workflowId, args: [input] });
      return { deployment, workflowId, uiUrl: this.o.uiUrl(workflowId) };
    } catch (err) {
      throw workflowError(err);
    }
  }

  async reproduce(input: ReproduceInput, idempotencyKey?: string): Promise<ReproduceResult & { workflowId: string; uiUrl: string }> {
    const workflowId = `reproduce-${input.model}-${input.version}-${suffix(idempotencyKey)}`;
    try {
      const result = await this.client.workflow.execute(reproduce, { taskQueue: this.o.taskQueue, workflowId, args: [input] });
      return { ...result, workflowId, uiUrl: this.o.uiUrl(workflowId) };
    } catch (err) {
      throw workflowError(err);
    }
  }
}
