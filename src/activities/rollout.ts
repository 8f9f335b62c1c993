/**
 * Activities of the rollout workflows, whatever their strategy: check and smoke-test the version, move
 * traffic, compare the new version with production from what every replica saw, and finish by
 * promoting or rolling back. Each is keyed by the rollout (the workflow id), so a retry repeats nothing.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import { CanaryThresholds, Check, DEFAULT_THRESHOLDS, judge } from '../ml/rollout-judge';
import { liveAccuracy } from '../store/prediction-log';
import { LATENCY_BUCKETS_MS, latencyQuantile, readServingStats, STATS_LAG_MS, VersionStats } from '../serving/serving-stats';
import { openTested } from '../serving/smoke';
import * as registry from '../store/registry';
import { clearRoute, setRoute, startRollout, updateRollout } from '../store/rollouts';
import type { TrafficPolicy } from '../serving/traffic-policy';
import { ActivityDeps, monitorDeployed } from './pipeline';
import { FAILURE_TYPES } from '../workflows/activity-options';
import { DEPLOYABLE_STATUS, PRODUCTION_ALIAS, type Deployment } from '../domain/model-version';

export { DEFAULT_THRESHOLDS, judge };
export type { CanaryThresholds };

export const ROLLOUT_REFUSED = FAILURE_TYPES.rolloutRefused;

/** The strategies a model without a production version can start with (they need nothing to sit beside). */

export interface VersionSummary {
  version: number;
  requests: number;
  errorRate: number | null;
  p99Ms: number | null;
  accuracy: number | null;
  labelled: number;
  /** Shadow only: rows compared with production and the share that agreed. */
  shadowRows?: number;
  agreement?: number | null;
}

/** One step's comparison, as the workflow keeps it (its status shows the latest ten). */
export interface Comparison {
  at: string;
  candidate: VersionSummary;
  production: VersionSummary;
  psi: number | null;
  breaches: string[];
  conclusive: boolean;
}

/** What the rollout's record keeps besides: every check with its p-value and level. */
export interface StoredComparison extends Comparison {
  checks: Check[];
  alpha: number;
  minRequests: number;
}

function summary(version: number, s: VersionStats, labels: { labelled: number; correct: number }): VersionSummary {
  return {
    version,
    requests: s.requests,
    errorRate: s.requests > 0 ? s.errors / s.requests : null,
    p99Ms: latencyQuantile(s.latency, 0.99),
    accuracy: labels.labelled > 0 ? labels.correct / labels.labelled : null,
    labelled: labels.labelled,
    ...(s.shadowCompared > 0 ? { shadowRows: s.shadowCompared, agreement: s.shadowAgreed / s.shadowCompared } : {}),
  };
}

export function createRolloutActivities(deps: ActivityDeps) {
  // the strategies' traffic policies, given by the worker (src/worker.ts) from the registry in src/rollouts
  const traffic = deps.rolloutTraffic ?? {};
  const trafficOf = (strategy: string): TrafficPolicy => {
    const policy = traffic[strategy];
    if (!policy) throw ApplicationFailure.nonRetryable(`"${strategy}" is not a rollout strategy this worker knows`, ROLLOUT_REFUSED);
    return policy;
  };
  const replacingProduction = () => Object.entries(traffic).filter(([, t]) => t.replacesProduction).map(([name]) => name).join(' or ');
  const { pool, artifacts } = deps;
  const { alerter, uiUrl } = deps;
  const rolloutId = () => { const info = Context.current().info; return info.workflowExecution?.workflowId ?? info.activityId; };
  return {
    /**
     * Checks the version may go to production and passes its smoke test here, then records the rollout.
     * Refusals are final (not retried): an unapproved version, a version already serving, a failed smoke test.
     */
    async prepareRollout(input: { model: string; version: number; strategy: string; actor: string }): Promise<{ fromVersion: number | null }> {
      const id = rolloutId();
      const production = await registry.getAliasVersion(pool, input.model, PRODUCTION_ALIAS);
      const fromVersion = production?.version ?? null;
      // recorded first, so a refused rollout is listed too, as failed with its reason
      await startRollout(pool, { id, modelName: input.model, version: input.version, fromVersion, strategy: input.strategy, actor: input.actor });
      const refuse = async (reason: string): Promise<never> => {
        await updateRollout(pool, id, { state: 'failed', analysis: { refused: reason } });
        throw ApplicationFailure.nonRetryable(reason, ROLLOUT_REFUSED);
      };
      const version = await registry.getVersion(pool, input.model, input.version);
      if (!version) return refuse(`model "${input.model}" has no version ${input.version}`);
      if (version.status !== DEPLOYABLE_STATUS) return refuse(`version ${input.version} of "${input.model}" is ${version.status}; only approved versions can be rolled out`);
      if (fromVersion === input.version) return refuse(`version ${input.version} of "${input.model}" is already in production`);
      if (fromVersion === null && !trafficOf(input.strategy).replacesProduction) return refuse(`"${input.model}" has no production version to compare a ${input.strategy} with; deploy it with ${replacingProduction()}`);
      const opened = await openTested(artifacts, { onnxDigest: version.onnxDigest, smokeDigest: version.artifacts.smokeSet, signature: version.signature });
      if ('problem' in opened) return refuse(`version ${input.version} of "${input.model}" failed its smoke test: ${opened.problem}`);
      await opened.session.release();
      return { fromVersion };
    },

    /**
     * Puts the version beside production under a strategy's traffic policy (`mode`: the strategy's name)
     * with `percent` as the policy's share. Returns when the route took effect: the start of what the
     * step's analysis reads.
     */
    async routeTraffic(input: { model: string; version: number; mode: string; percent: number; step: number }): Promise<{ since: string }> {
      const id = rolloutId();
      await setRoute(pool, { modelName: input.model, version: input.version, mode: input.mode, percent: input.percent, rolloutId: id });
      await updateRollout(pool, id, { step: input.step, percent: input.percent });
      return { since: new Date().toISOString() };
    },

    /**
     * Compares the new version with production on what every replica served since `since` (src/ml/rollout-judge.ts).
     * `looks` is how many steps of the rollout are judged: its false-alarm rate is split over them.
     */
    async analyzeRollout(input: { model: string; candidate: number; production: number; since: string; thresholds?: CanaryThresholds; looks?: number }): Promise<Comparison> {
      const since = new Date(input.since);
      // the replicas' latest windows reach the store shortly after they close
      await new Promise((resolve) => setTimeout(resolve, STATS_LAG_MS));
      const [c, p, cl, pl] = await Promise.all([
        readServingStats(deps.repos, input.model, input.candidate, since), readServingStats(deps.repos, input.model, input.production, since),
        liveAccuracy(pool, input.model, input.candidate, since), liveAccuracy(pool, input.model, input.production, since),
      ]);
      const thresholds = { ...DEFAULT_THRESHOLDS, ...input.thresholds };
      const { checks, alpha, ...verdict } = judge({ ...c, ...cl }, { ...p, ...pl }, thresholds, { looks: input.looks, latencyBounds: LATENCY_BUCKETS_MS });
      const comparison: Comparison = { at: new Date().toISOString(), candidate: summary(input.candidate, c, cl), production: summary(input.production, p, pl), ...verdict };
      const stored: StoredComparison = { ...comparison, checks, alpha, minRequests: thresholds.minRequests };
      await updateRollout(pool, rolloutId(), { analysis: stored });
      return comparison;
    },

    /**
     * Holds a rollout that had too little traffic to judge after every allowed bake: nothing moves (no
     * promotion, no rollback) and people are alerted to decide (promote or abort). Raised once per hold.
     */
    async holdRollout(input: { model: string; step: number; reason: string }): Promise<void> {
      const id = rolloutId();
      await registry.recordAudit(pool, { key: `${id}:held:${input.step}`, actor: 'rollout-analysis', action: 'rollout.held', subject: input.model, details: { rolloutId: id, step: input.step, reason: input.reason } });
      Context.current().log.warn(`ALERT rollout ${id} of ${input.model} held: ${input.reason}`, { model: input.model });
      await alerter?.raise({
        id: `${id}:held:${input.step}`, dedupKey: `rollout:${input.model}:held`, model: input.model, severity: 'warning',
        title: `${input.model}: rollout held, too little traffic to judge`, summary: `${input.reason}. Promote or abort it.`,
        fields: { model: input.model, rollout: id, step: input.step },
        ...(uiUrl ? { link: uiUrl(id) } : {}),
      }).catch((err) => Context.current().log.warn(`the hold alert of ${id} was not delivered: ${(err as Error).message}`, { model: input.model }));
    },

    /**
     * Makes the version production and removes any route. For a strategy that replaces production this
     * is its start (the switch; the rollout goes on to watch it), for the others their end.
     */
    async promoteRollout(input: { model: string; version: number; strategy: string; actor: string; reason: string }): Promise<Deployment> {
      const id = rolloutId();
      const switched = trafficOf(input.strategy).replacesProduction;
      // the deployment record's kinds (DeploymentStrategy, src/domain/model-version.ts): a switch is 'blue-green', a promotion after a share 'canary'
      const d = await registry.deployVersion(pool, input.model, input.version, `${id}:promote`, { strategy: switched ? 'blue-green' : 'canary', actor: input.actor, reason: input.reason });
      await clearRoute(pool, input.model, id);
      await updateRollout(pool, id, { state: switched ? 'running' : 'promoted', percent: 100 });
      await monitorDeployed(deps, input.model);
      return d;
    },

    /**
     * Ends the rollout: removes its route and, after a blue-green switch, puts the previous version back
     * (instantly: replicas keep it loaded). Records the outcome and raises an alert for a rollback.
     */
    async finishRollout(input: { model: string; state: 'rolled_back' | 'aborted' | 'completed' | 'promoted'; restoreVersion?: number; actor: string; reason: string }): Promise<void> {
      const id = rolloutId();
      if (input.restoreVersion !== undefined) {
        await registry.deployVersion(pool, input.model, input.restoreVersion, `${id}:restore`, { strategy: 'rollback', actor: input.actor, reason: input.reason });
      }
      await clearRoute(pool, input.model, id);
      await updateRollout(pool, id, { state: input.state });
      await registry.recordAudit(pool, { key: `${id}:${input.state}`, actor: input.actor, action: `rollout.${input.state}`, subject: input.model, details: { rolloutId: id, reason: input.reason } });
      if (input.state === 'rolled_back') {
        Context.current().log.warn(`ALERT rollout ${id} of ${input.model} rolled back: ${input.reason}`, { model: input.model });
        // the rollback is done whatever the channels do; an alert that cannot be sent is recorded as failed
        await alerter?.raise({
          id: `${id}:rolled_back`, dedupKey: `rollout:${input.model}`, model: input.model, severity: 'critical',
          title: `${input.model}: rollout rolled back`, summary: input.reason,
          fields: { model: input.model, rollout: id, ...(input.restoreVersion !== undefined ? { 'restored version': input.restoreVersion } : {}) },
          ...(uiUrl ? { link: uiUrl(id) } : {}),
        }).catch((err) => Context.current().log.warn(`the rollback alert of ${id} was not delivered: ${(err as Error).message}`, { model: input.model }));
      }
    },
  };
}

export type RolloutActivities = ReturnType<typeof createRolloutActivities>;
