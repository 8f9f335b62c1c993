/**
 * Starting a workflow under an id made from an Idempotency-Key, once: a run still going is joined, and
 * one that has ended answers for itself. Temporal's default reuse policy would start a second execution
 * under a closed one's id, so a request repeated after its run ended would train, roll out or check again
 * (a rolled-back canary put back on live traffic). While the server keeps the closed run (its namespace's
 * retention), the key means that run.
 */
import { Client, WorkflowExecutionAlreadyStartedError, WorkflowHandle, type Workflow, type WorkflowStartOptions } from '@temporalio/client';

export async function startOnce<T extends Workflow>(client: Client, workflow: T, options: WorkflowStartOptions<T>): Promise<WorkflowHandle<T>> {
  try {
    return await client.workflow.start(workflow, { ...options, workflowIdConflictPolicy: 'USE_EXISTING', workflowIdReusePolicy: 'REJECT_DUPLICATE' });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return client.workflow.getHandle<T>(options.workflowId);
    throw err;
  }
}
