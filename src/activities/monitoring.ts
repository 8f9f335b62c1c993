/**
 * Monitoring activities: check a deployed model's recent traffic for drift and quality loss, alert,
 * and claim the model's one retraining slot. The statistics come from the ML core; the reference side
 * is the profile stored with the version at training time, so a check never re-reads the training set.
 */
import { Context } from '@temporalio/activity';
import { Client, WorkflowNotFoundError } from '@temporalio/client';
import type { AlertSink } from '../alerts/alerter';
import type { Config } from '../config';
import { detectDrift } from '../ml/reference-profile';
import { binaryMetrics, multiclassMetrics, regressionMetrics } from '../ml/metrics';
import { instanceProfileColumns } from '../ml/profile-columns';
import type { ReferenceProfile } from '../ml/reference-profile';
import { SourceContext, sourceName, sourceWatermark } from '../ingest/sources';
import { DecryptionError } from '../privacy/encryption';
import { latencyQuantile, readServingStats } from '../serving/serving-stats';
import type { ArtifactStore } from '../store/artifacts';
import { readLoggedInput } from '../store/logged-instance';
import type { Breach, CheckAction, QualityWindow, ServingWindow, Trigger } from '../store/monitoring';
import type { Repositories } from '../store/repositories';
import type { PipelineInput, RetrainTrigger } from '../workflows/definitions';
import { PRODUCTION_ALIAS, type ModelSignature } from '../domain/model-version';

/** Most logged predictions one check reads (the newest ones in the window). */
export const MAX_CHECK_ROWS = 200_000;

export interface MonitoringDeps {
  repos: Repositories;
  artifacts: ArtifactStore;
  /** Reads the training source's watermark (new-data checks) under the same policy as ingestion. */
  sources: SourceContext;
  /** Asks Temporal whether a retraining run is still going; without it a claim trusts the cool-down alone. */
  client?: Client;
  /** Raises the alerts of breached checks; without it they are only logged. */
  alerter?: AlertSink;
  /** Link to a workflow run in the Temporal Web UI, for alerts. */
  uiUrl?: (workflowId: string) => string;
  /** Keys that read encrypted logged inputs (drift needs them); without them encrypted rows are left out. */
  privacy?: Pick<Config['privacy'], 'decryptionKeys'>;
}

export interface CheckSummary {
  checkId: string;
  model: string;
  /** Absent when the model has no production version (nothing to check). */
  version?: number;
  rows: number;
  labelled: number;
  datasetDrift?: boolean;
  driftedShare?: number;
  breaches: Breach[];
  /** What should start retraining, by priority: drift, then quality, then new data. */
  retrain?: { trigger: Trigger; reason: string };
}

type Labelled = { output: { label?: string; probabilities?: Record<string, number>; value?: number }; label: string };

/** Accuracy, precision, recall and AUC (binary) or accuracy and macro F1 (multi-class) or RMSE (regression). */
export function windowQuality(signature: ModelSignature, rows: Labelled[]): Omit<QualityWindow, 'baseline'> {
  const task = signature.task ?? 'binary';
  const quality: Omit<QualityWindow, 'baseline'> = { labelled: rows.length };
  if (rows.length === 0) return quality;
  if (task === 'regression') {
    const usable = rows.filter((r) => Number.isFinite(Number(r.label)) && typeof r.output.value === 'number');
    const m = regressionMetrics(usable.map((r) => Number(r.label)), usable.map((r) => r.output.value!));
    return { labelled: usable.length, ...{ rmse: m.rmse, mae: m.mae } } as QualityWindow;
  }
  const classes = signature.classes;
  const index = new Map(classes.map((c, i) => [c, i]));
  const known = rows.filter((r) => index.has(r.label) && r.output.probabilities);
  const y = known.map((r) => index.get(r.label)!);
  if (task === 'binary') {
    const m = binaryMetrics(y, known.map((r) => r.output.probabilities![classes[1]] ?? 0));
    return { labelled: known.length, accuracy: m.accuracy, precision: m.precision, recall: m.recall, ...(Number.isFinite(m.auc) ? { auc: m.auc } : {}) };
  }
  const k = classes.length;
  const probabilities = new Float64Array(known.length * k);
  known.forEach((r, i) => classes.forEach((c, j) => { probabilities[i * k + j] = r.output.probabilities![c] ?? 0; }));
  const m = multiclassMetrics(y, probabilities, k);
  return { labelled: known.length, accuracy: m.accuracy, precision: m.macroPrecision, recall: m.macroRecall };
}

/**
 * Logged inputs in clear, named by the serving version's `features` when they were stored as values. A
 * row that cannot be decrypted (its key is not configured in this worker, or it was altered) is left
 * out of the drift sample and counted, so one bad row cannot stop monitoring.
 */
export function readLoggedInstances(rows: { id: string; instance: unknown; key_id: string | null }[], keys: Record<string, Buffer>, features?: readonly string[]): { instances: Record<string, unknown>[]; unreadable: number; problems: string[] } {
  const instances: Record<string, unknown>[] = [];
  const problems = new Set<string>();
  let unreadable = 0;
  for (const r of rows) {
    try {
      instances.push(readLoggedInput(r.instance, r.key_id, keys, r.id, features) as Record<string, unknown>);
    } catch (err) {
      if (!(err instanceof DecryptionError)) throw err;
      unreadable++;
      problems.add(err.message);
    }
  }
  return { instances, unreadable, problems: [...problems] };
}

export function createMonitoringActivities({ repos, artifacts, sources, client, alerter, uiUrl, privacy }: MonitoringDeps) {

  return {
    /**
     * Drift, quality and serving health of the production version over the monitor's window; saves
     * the check under `checkId` (a retry overwrites it) and says what breached.
     */
    async runMonitorCheck(input: { model: string; checkId: string }): Promise<CheckSummary> {
      const ctx = Context.current();
      const production = await repos.registry.getAliasVersion(input.model, PRODUCTION_ALIAS);
      if (!production) return { checkId: input.checkId, model: input.model, rows: 0, labelled: 0, breaches: [] };
      const config = await repos.monitoring.getMonitorConfig(input.model);
      // the database's clock, which stamped the logged predictions, not this worker's
      const to = await repos.db.databaseNow();
      const from = new Date(to.getTime() - config.windowMinutes * 60_000);
      const signature = production.signature;
      const layout = { numeric: signature.numeric ?? signature.features.filter((f) => !(signature.categorical ?? []).includes(f)), categorical: signature.categorical ?? [] };
      const breaches: Breach[] = [];

      ctx.heartbeat({ phase: 'reading traffic' });
      const stored = await repos.predictionLog.loggedInputs({ model: input.model, version: production.version, from, to, limit: MAX_CHECK_ROWS });
      const { instances: logged, unreadable, problems } = readLoggedInstances(stored, privacy?.decryptionKeys ?? {}, signature.features);
      if (unreadable > 0) ctx.log.warn(`monitor ${input.checkId}: ${unreadable} of ${stored.length} logged inputs could not be decrypted and are left out: ${problems.slice(0, 3).join('; ')}`, { model: input.model, version: production.version });
      let drift = null;
      const referenceDigest = production.artifacts.referenceProfile;
      if (referenceDigest && logged.length >= config.minRows) {
        const reference = JSON.parse((await artifacts.get(referenceDigest)).toString('utf8')) as ReferenceProfile;
        ctx.heartbeat({ phase: 'drift', rows: logged.length });
        drift = detectDrift(reference, instanceProfileColumns(logged, layout), config.drift);
        if (drift.datasetDrift) {
          const names = drift.features.filter((f) => f.drifted).map((f) => `${f.name} (PSI ${f.psi.toFixed(2)})`);
          breaches.push({ kind: 'drift', message: `${drift.driftedFeatures} of ${drift.features.length} features drifted (${(drift.driftedShare * 100).toFixed(0)}%, the limit is ${(drift.settings.driftShare * 100).toFixed(0)}%): ${names.join(', ')}` });
        }
      }

      ctx.heartbeat({ phase: 'quality' });
      const labelledRows = await repos.predictionLog.labelledAnswers({ model: input.model, version: production.version, from, to, limit: MAX_CHECK_ROWS });
      const measured = windowQuality(signature, labelledRows as Labelled[]);
      const baseline = typeof production.metrics.accuracy === 'number' ? production.metrics.accuracy : undefined;
      const quality: QualityWindow | null = measured.labelled > 0 ? { ...measured, ...(baseline !== undefined ? { baseline } : {}) } : null;
      if (quality && quality.accuracy !== undefined && quality.labelled >= config.quality.minLabelled) {
        const floor = config.quality.minAccuracy ?? (baseline !== undefined ? baseline - config.quality.maxDrop : undefined);
        if (floor !== undefined && quality.accuracy < floor) {
          breaches.push({ kind: 'quality', message: `accuracy ${quality.accuracy.toFixed(3)} on ${quality.labelled} labelled predictions is below ${floor.toFixed(3)}${baseline !== undefined ? ` (evaluation: ${baseline.toFixed(3)})` : ''}` });
        }
      }

      const stats = await readServingStats(repos, input.model, production.version, from);
      const serving: ServingWindow | null = stats.requests > 0
        ? { requests: stats.requests, errors: stats.errors, errorRate: stats.errors / stats.requests, p99Ms: latencyQuantile(stats.latency, 0.99) }
        : null;
      if (serving && serving.errorRate > config.serving.maxErrorRate) {
        breaches.push({ kind: 'errors', message: `${(serving.errorRate * 100).toFixed(1)}% of ${serving.requests} requests failed (limit ${(config.serving.maxErrorRate * 100).toFixed(1)}%)` });
      }

      // New data: the training source changed since the monitor last looked.
      const recipe = production.pipelineInput;
      // (an imported model that came without evaluation data has no source to watch)
      if (recipe?.data) {
        const source = recipe.data;
        try {
          // a stored dataset version never changes
          const mark = 'dataset' in source ? undefined : await sourceWatermark(source, sources);
          if (mark && (await repos.monitoring.advanceWatermark(input.model, mark, input.checkId)).changed) {
            breaches.push({ kind: 'new-data', message: `the training source ${'dataset' in source ? source.dataset : sourceName(source)} changed since the last check` });
          }
        } catch (err) {
          ctx.log.warn(`monitor ${input.checkId}: the training source could not be checked for new data: ${(err as Error).message}`, { model: input.model });
        }
      }

      await repos.monitoring.saveCheck({
        id: input.checkId, model: input.model, version: production.version, window: { from: from.toISOString(), to: to.toISOString() },
        rows: logged.length, labelled: quality?.labelled ?? 0, drift, quality, serving, breaches,
      });
      const wanted = (['drift', 'quality', 'new-data'] as const).find((kind) => breaches.some((b) => b.kind === kind) && (
        kind === 'drift' ? config.retrain.onDrift : kind === 'quality' ? config.retrain.onQuality : config.retrain.onNewData));
      return {
        checkId: input.checkId, model: input.model, version: production.version, rows: logged.length, labelled: quality?.labelled ?? 0,
        ...(drift ? { datasetDrift: drift.datasetDrift, driftedShare: drift.driftedShare } : {}),
        breaches,
        ...(wanted ? { retrain: { trigger: wanted, reason: breaches.find((b) => b.kind === wanted)!.message } } : {}),
      };
    },

    /** Sends the check's breaches as one alert (deduplicated per model and kind of breach). */
    async raiseMonitorAlert(input: { checkId: string }): Promise<{ state: string; reason?: string }> {
      const check = await repos.monitoring.getCheck(input.checkId);
      if (!check || check.breaches.length === 0) return { state: 'none' };
      if (!alerter) {
        Context.current().log.warn(`ALERT ${check.model}: ${check.breaches.map((b) => b.message).join('; ')}`, { model: check.model });
        return { state: 'recorded', reason: 'no alert channel configured in this worker' };
      }
      const kinds = [...new Set(check.breaches.map((b) => b.kind))].sort();
      const severe = kinds.includes('drift') || kinds.includes('quality') || kinds.includes('errors');
      const fields: Record<string, string | number> = { model: check.model, version: check.version, 'rows checked': check.rows };
      if (check.drift) fields['drifted features'] = `${check.drift.driftedFeatures} of ${check.drift.features.length}`;
      if (check.drift) for (const f of check.drift.features.filter((x) => x.drifted).slice(0, 5)) fields[`PSI ${f.name}`] = Number(f.psi.toFixed(3));
      if (check.quality?.accuracy !== undefined) fields.accuracy = Number(check.quality.accuracy.toFixed(3));
      if (check.serving) fields['error rate'] = Number(check.serving.errorRate.toFixed(4));
      const outcome = await alerter.raise({
        id: `${check.id}:alert`,
        dedupKey: `monitor:${check.model}:${kinds.join('+')}`,
        model: check.model,
        severity: severe ? 'warning' : 'info',
        title: `${check.model}: ${kinds.join(', ')}`,
        summary: check.breaches.map((b) => b.message).join('\n'),
        fields,
        ...(uiUrl ? { link: uiUrl(check.id) } : {}),
      });
      return { state: outcome.state, ...(outcome.reason ? { reason: outcome.reason } : {}) };
    },

    /**
     * A clean check: the model's open monitoring problems are over. Channels that track incidents
     * (PagerDuty) resolve theirs; the problems' dedup slots are freed, so a recurrence is announced at once.
     */
    async resolveMonitorAlerts(input: { checkId: string; model: string }): Promise<{ resolved: string[] }> {
      const check = await repos.monitoring.getCheck(input.checkId);
      // a check that breached resolves nothing; one never stored (the model has no production version) found nothing
      if ((check && check.breaches.length > 0) || !alerter) return { resolved: [] };
      const outcome = await alerter.resolve({ id: `${input.checkId}:resolve`, model: input.model, prefix: `monitor:${input.model}:` });
      return { resolved: outcome.resolved };
    },

    /**
     * Claims the model's retraining slot for `runId` and returns the pipeline input to run: production's
     * recorded recipe with the trigger. Refused while another retraining runs or during the cool-down.
     */
    async claimRetraining(input: { model: string; runId: string; trigger: RetrainTrigger; ignoreCooldown?: boolean }): Promise<{ granted: true; input: PipelineInput } | { granted: false; reason: string }> {
      const production = await repos.registry.getAliasVersion(input.model, PRODUCTION_ALIAS);
      if (!production) return { granted: false, reason: `model "${input.model}" has no production version to retrain` };
      const recipe = production.pipelineInput;
      if (!recipe) return { granted: false, reason: `version ${production.version} of "${input.model}" was registered before pipeline recipes were recorded; run the pipeline once by hand` };
      const config = await repos.monitoring.getMonitorConfig(input.model);
      const running = async (runId: string) => {
        if (!client) return false;
        try {
          return (await client.workflow.getHandle(runId).describe()).status.name === 'RUNNING';
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) return false;
          throw err;
        }
      };
      const claim = await repos.monitoring.claimRetraining(input.model, input.runId, input.ignoreCooldown ? 0 : config.retrain.cooldownMinutes * 60_000, running);
      if (!claim.granted) return claim;
      const { useSearchAttributes, ...rest } = recipe;
      return { granted: true, input: { ...rest, ...(useSearchAttributes ? { useSearchAttributes } : {}), trigger: input.trigger, requestedBy: `monitor:${input.trigger.kind}` } };
    },

    async recordCheckAction(input: { checkId: string; action: CheckAction }): Promise<void> {
      await repos.monitoring.recordCheckAction(input.checkId, input.action);
      const subject = input.checkId;
      await repos.registry.recordAudit({ key: `${input.checkId}:action`, actor: 'monitor', action: `monitor.retraining_${input.action.retraining}`, subject, details: input.action });
    },
  };
}

export type MonitoringActivities = ReturnType<typeof createMonitoringActivities>;

