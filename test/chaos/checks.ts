/**
 * What must hold after every fault, and the recovery time, for the chaos suite:
 * - every run that was started ended as it should: deployed, rejected, or failed with a clear error;
 *   none is left running in Temporal;
 * - exactly one model version and one deployment per deployed run (each run is its own model), none
 *   for a run that ended before registering;
 * - the audit chain verifies (GET /v1/audit/verify);
 * - no prediction failed, except those in flight at a replica that was killed (counted and returned).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { ChaosPlatform } from './platform';
import { StartedRun, SteadyLoad } from './load';

export interface FaultReport {
  fault: string;
  runs: number;
  deployed: number;
  rejected: number;
  failed: number;
  /** Starts refused for good (every repeat failed for two minutes). */
  refusedStarts: number;
  /** Start attempts not accepted, by answer ("503 unavailable": status and error code; 0 = no answer), all repeated. */
  startRefusals: Record<string, number>;
  predictions: number;
  failedPredictions: number;
  /** Seconds from the fault (or the restart, where one follows) until the platform was whole again. */
  recoverySeconds: number;
  notes?: string;
}

/** A failed run's error must say what happened in words: no stack trace, no bare code. */
function assertClearError(run: StartedRun): void {
  const error = String(run.final?.error ?? '');
  assert.ok(error.length >= 10, `run ${run.id} failed without a clear error: ${JSON.stringify(run.final)}`);
  assert.doesNotMatch(error, /\n\s+at /, `run ${run.id}'s error carries a stack trace`);
}

/**
 * Settles the load and checks everything above. `killedReplica` names a replica killed at `killedAt`:
 * predictions sent to it before then may have failed (they were in flight), and no other.
 */
export async function checkAfterFault(platform: ChaosPlatform, load: SteadyLoad, o: { fault: string; recoverySeconds: number; killedReplica?: { url: string; killedAt: number }; notes?: string }): Promise<FaultReport> {
  await load.stop();
  const runs = await load.settle();
  const accepted = runs.filter((r) => r.id);
  const refused = runs.filter((r) => !r.id);
  // a fault may refuse a start only with a 503 (a dependency is down: repeat later) or the proxy's 502 (a
  // replica died with the request), or leave it unanswered (0); a 4xx or a 500 would be a bug
  for (const r of runs) {
    for (const a of r.attempts) assert.ok([202, 0, 502, 503].includes(a.status), `start of ${r.model} answered ${a.status}: ${JSON.stringify(r.attempts)}`);
  }
  assert.ok(accepted.length >= 3, `only ${accepted.length} runs were started under the fault`);

  for (const r of accepted) {
    if (r.final.state === 'failed') assertClearError(r);
    const count = async (table: string) => (await platform.pool.query(`SELECT count(*)::int AS n FROM ${table} WHERE model_name = $1`, [r.model])).rows[0].n as number;
    const versions = await count('model_versions');
    const deployments = await count('deployments');
    if (r.final.state === 'deployed') {
      assert.equal(versions, 1, `run ${r.id} registered ${versions} model versions`);
      assert.equal(deployments, 1, `run ${r.id} deployed ${deployments} times`);
    } else {
      assert.ok(versions <= 1, `run ${r.id} registered ${versions} model versions`);
      assert.equal(deployments, 0, `run ${r.id} (${r.final.state}) has a deployment`);
    }
  }
  // no run is left behind in Temporal, including any whose start answer was lost
  const running: string[] = [];
  for await (const w of platform.temporal.workflow.list({ query: `WorkflowType = 'trainingPipeline' AND ExecutionStatus = 'Running'` })) running.push(w.workflowId);
  assert.deepEqual(running, [], 'pipelines still running after the load settled');

  const audit = await platform.call('GET', '/v1/audit/verify');
  assert.equal(audit.status, 200, JSON.stringify(audit.body));
  assert.equal(audit.body.ok, true, `the audit chain is broken: ${JSON.stringify(audit.body)}`);
  assert.ok(audit.body.entries > accepted.length, 'the runs left audit entries');

  const failedPredictions = load.predictions.filter((p) => p.status !== 200);
  for (const p of failedPredictions) {
    const inFlightAtKill = o.killedReplica && p.upstream === o.killedReplica.url && p.sentAt <= o.killedReplica.killedAt;
    const atProxy = platform.proxy.failures.find((f) => f.upstream === p.upstream && f.sentAt >= p.sentAt && f.sentAt - p.sentAt < 1000);
    assert.ok(inFlightAtKill, `a prediction failed that was not in flight at a killed replica: ${JSON.stringify({ ...p, atProxy, killed: o.killedReplica })}`);
  }
  assert.ok(load.predictions.length > 100, `only ${load.predictions.length} predictions were sent`);

  const report: FaultReport = {
    fault: o.fault,
    runs: accepted.length,
    deployed: accepted.filter((r) => r.final.state === 'deployed').length,
    rejected: accepted.filter((r) => r.final.state === 'rejected').length,
    failed: accepted.filter((r) => r.final.state === 'failed').length,
    refusedStarts: refused.length,
    startRefusals: tally(runs.flatMap((r) => r.attempts.filter((a) => a.status !== 202).map((a) => `${a.status} ${a.code ?? ''}`.trim()))),
    predictions: load.predictions.length,
    failedPredictions: failedPredictions.length,
    recoverySeconds: Math.round(o.recoverySeconds * 10) / 10,
    ...(o.notes ? { notes: o.notes } : {}),
  };
  record(report);
  return report;
}

function tally(keys: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const k of keys) counts[k] = (counts[k] ?? 0) + 1;
  return counts;
}

/**
 * Prints the report, and appends it to CHAOS_RESULTS (a JSON Lines file) when set, for bench/RESULTS.md.
 * Failed runs are listed with their errors, so a report says why as well as how many.
 */
function record(report: FaultReport): void {
  process.stdout.write(`chaos: ${JSON.stringify(report)}\n`);
  const file = process.env.CHAOS_RESULTS;
  if (file) fs.appendFileSync(path.resolve(file), `${JSON.stringify({ ...report, at: new Date().toISOString() })}\n`);
}

/**
 * The moment the platform is whole again after `since`: a pipeline start was accepted, a run ended, and
 * a prediction succeeded, all after it. Polls the runs' states while the load goes on; returns seconds.
 */
export async function measureRecovery(load: SteadyLoad, since: number, timeoutMs = 300_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await load.observeEnds();
    const started = load.runs.filter((r) => (r.acceptedAt ?? 0) > since).map((r) => r.acceptedAt!);
    const ended = load.runs.filter((r) => (r.endedAt ?? 0) > since).map((r) => r.endedAt!);
    const predicted = load.predictions.filter((p) => p.sentAt > since && p.status === 200).map((p) => p.endedAt);
    if (started.length > 0 && ended.length > 0 && predicted.length > 0) {
      return (Math.max(Math.min(...started), Math.min(...ended), Math.min(...predicted)) - since) / 1000;
    }
    if (Date.now() > deadline) throw new Error(`the platform did not recover within ${timeoutMs / 1000} s (starts ${started.length}, ends ${ended.length}, predictions ${predicted.length})`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
