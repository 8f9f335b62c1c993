/**
 * CLI commands of monitoring and maintenance: `drift`, `monitor`, `retrain`, `schedule`, `review`,
 * `alerts`. Each calls the HTTP API and prints a readable summary (or JSON with --json).
 */
import { parseArgs } from 'node:util';
import { ConfigError } from '../config';
import type { MonitorCheck } from '../store/monitoring';
import type { ReviewItem } from '../store/review';
import type { ScheduleView } from '../schedules';
import { ApiClient } from './api-client';
import { table } from './table';

const enc = encodeURIComponent;
const pct = (v: number) => `${(v * 100).toFixed(0)}%`;

export function formatCheck(c: MonitorCheck): string {
  const lines = [`check ${c.id} of ${c.model}@${c.version} at ${c.checkedAt}: ${c.rows} predictions, ${c.labelled} labelled (${c.window.from} .. ${c.window.to})`];
  if (!c.drift) lines.push('drift: not judged (too few predictions in the window, or no reference profile)');
  else {
    lines.push(`drift: ${c.drift.datasetDrift ? 'YES' : 'no'} — ${c.drift.driftedFeatures} of ${c.drift.features.length} features drifted (${pct(c.drift.driftedShare)}; dataset drift from ${pct(c.drift.settings.driftShare)})`);
    lines.push(table(['feature', 'test', 'statistic', 'p-value', 'PSI', 'drifted'], [...c.drift.features]
      .sort((a, b) => Number(b.drifted) - Number(a.drifted) || b.psi - a.psi)
      .map((f) => [f.name, f.test, f.statistic.toPrecision(3), f.pvalue.toExponential(2), f.psi.toFixed(3), f.drifted ? 'yes' : ''])));
  }
  if (c.quality) lines.push(`quality: ${Object.entries(c.quality).map(([k, v]) => `${k} ${typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(3) : v}`).join(', ')}`);
  if (c.serving) lines.push(`serving: ${c.serving.requests} requests, error rate ${(c.serving.errorRate * 100).toFixed(2)}%, p99 ${c.serving.p99Ms ?? '-'} ms`);
  for (const b of c.breaches) lines.push(`breach (${b.kind}): ${b.message}`);
  if (c.action) lines.push(`action: retraining ${c.action.retraining}${'runId' in c.action ? ` as ${c.action.runId}` : ''}${'reason' in c.action ? `: ${c.action.reason}` : ''}`);
  return lines.join('\n');
}

export function formatSchedules(schedules: ScheduleView[]): string {
  if (schedules.length === 0) return 'no schedules';
  return table(['schedule', 'kind', 'model', 'when', 'paused', 'next run'], schedules.map((s) => [
    s.id, s.kind, s.model ?? '-', s.every ? `every ${s.every.join(', ')}` : (s.cron ?? []).join(', '), s.paused ? 'yes' : 'no', s.nextRuns[0] ?? '-',
  ]));
}

export function formatReview(items: ReviewItem[]): string {
  if (items.length === 0) return 'the review queue is empty';
  return table(['prediction', 'model', 'uncertainty', 'answer', 'label'], items.map((i) => [
    i.predictionId, `${i.model}@${i.version}`, `${i.uncertainty.toFixed(3)} (${i.measure})`, String((i.output as { label?: string }).label ?? '-'), i.label ?? '-',
  ]));
}

/** Runs a monitoring command; false when the command is not one of these. */
export async function runMonitoringCommand(command: string, rest: string[], api: ApiClient, log: (line: string) => void): Promise<boolean> {
  switch (command) {
    case 'drift': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { run: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } } });
      const model = positionals[0];
      if (!model) throw new ConfigError('drift needs a model name: mlops drift <model> [--run]');
      let check: MonitorCheck | undefined;
      if (values.run) {
        const r = await api.post<{ check: { checkId: string } }>(`/v1/models/${enc(model)}/monitoring/run`, {});
        check = await api.get<MonitorCheck>(`/v1/models/${enc(model)}/monitoring/checks/${enc(r.check.checkId)}`);
      } else {
        check = (await api.get<{ checks: MonitorCheck[] }>(`/v1/models/${enc(model)}/monitoring`)).checks[0];
      }
      if (!check) log(`${model} has not been checked yet; run mlops drift ${model} --run`);
      else log(values.json ? JSON.stringify(check, null, 2) : `${formatCheck(check)}\nreport: ${api.baseUrl}/v1/models/${enc(model)}/monitoring/checks/${enc(check.id)}/report`);
      return true;
    }
    case 'monitor': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: {
        every: { type: 'string' }, window: { type: 'string' }, cooldown: { type: 'string' }, 'drift-share': { type: 'string' }, json: { type: 'boolean', default: false },
      } });
      const model = positionals[0];
      if (!model) throw new ConfigError('monitor needs a model name: mlops monitor <model> [--every 1h] [--window <minutes>] [--cooldown <minutes>] [--drift-share 0.5]');
      const number = (flag: string, text?: string) => {
        if (text === undefined) return undefined;
        const n = Number(text);
        if (!Number.isFinite(n) || n < 0) throw new ConfigError(`--${flag} takes a number, got "${text}"`);
        return n;
      };
      const patch = {
        ...(values.every ? { every: values.every } : {}),
        ...(values.window !== undefined ? { windowMinutes: number('window', values.window) } : {}),
        ...(values.cooldown !== undefined ? { retrain: { cooldownMinutes: number('cooldown', values.cooldown) } } : {}),
        ...(values['drift-share'] !== undefined ? { drift: { driftShare: number('drift-share', values['drift-share']) } } : {}),
      };
      const r = Object.keys(patch).length > 0
        ? await api.request('PUT', `/v1/models/${enc(model)}/monitoring`, patch)
        : await api.get(`/v1/models/${enc(model)}/monitoring`);
      log(JSON.stringify(values.json ? r : { config: (r as { config: unknown }).config, schedule: (r as { schedule: unknown }).schedule }, null, 2));
      return true;
    }
    case 'retrain': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { reason: { type: 'string' } } });
      if (!positionals[0]) throw new ConfigError('retrain needs a model name');
      const r = await api.request<{ retraining: string; runId?: string; reason?: string; uiUrl?: string }>('POST', `/v1/models/${enc(positionals[0])}/retrain`, { ...(values.reason ? { reason: values.reason } : {}) })
        .catch((err) => { throw new Error(`retraining not started: ${(err as Error).message}`); });
      log(r.retraining === 'started' ? `retraining ${r.runId} started (workflow: ${r.uiUrl})` : `retraining ${r.retraining}: ${r.reason}`);
      return true;
    }
    case 'schedule': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: {
        model: { type: 'string' }, kind: { type: 'string', default: 'retrain' }, every: { type: 'string' }, cron: { type: 'string' }, note: { type: 'string' }, json: { type: 'boolean', default: false },
      } });
      const [sub, id] = positionals;
      if (sub === 'list') {
        const { schedules } = await api.get<{ schedules: ScheduleView[] }>(`/v1/schedules${values.model ? `?model=${enc(values.model)}` : ''}`);
        log(values.json ? JSON.stringify(schedules, null, 2) : formatSchedules(schedules));
      } else if (sub === 'create') {
        if (!values.model || (!values.every && !values.cron)) throw new ConfigError('schedule create needs --model <name> and --every <1h|30m|1d> or --cron "<min hour dom month dow>" [--kind retrain|monitor]');
        const s = await api.post<ScheduleView>('/v1/schedules', { kind: values.kind, model: values.model, ...(values.every ? { every: values.every } : {}), ...(values.cron ? { cron: values.cron } : {}), ...(values.note ? { note: values.note } : {}) });
        log(formatSchedules([s]));
      } else if ((sub === 'pause' || sub === 'resume') && id) {
        const s = await api.post<ScheduleView>(`/v1/schedules/${enc(id)}/${sub === 'pause' ? 'pause' : 'unpause'}`, values.note ? { note: values.note } : {});
        log(formatSchedules([s]));
      } else if (sub === 'delete' && id) {
        await api.request('DELETE', `/v1/schedules/${enc(id)}`);
        log(`schedule ${id} deleted`);
      } else {
        throw new ConfigError('schedule takes list [--model m], create --model m (--every 1h | --cron "0 3 * * *") [--kind retrain|monitor], pause <id>, resume <id>, or delete <id>');
      }
      return true;
    }
    case 'review': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { model: { type: 'string' }, labelled: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } } });
      const [sub, id, label] = positionals;
      if (sub === 'list' || sub === undefined) {
        const query = [values.model ? `model=${enc(values.model)}` : '', values.labelled ? 'state=labelled' : ''].filter(Boolean).join('&');
        const { items } = await api.get<{ items: ReviewItem[] }>(`/v1/review${query ? `?${query}` : ''}`);
        log(values.json ? JSON.stringify(items, null, 2) : formatReview(items));
      } else if (sub === 'label' && id && label !== undefined) {
        const item = await api.post<ReviewItem>(`/v1/review/${enc(id)}/label`, { label });
        log(`${item.predictionId} labelled "${item.label}"; it joins the next training dataset of ${item.model}`);
      } else {
        throw new ConfigError('review takes list [--model m] [--labelled], or label <prediction-id> <label>');
      }
      return true;
    }
    case 'alerts': {
      const { values } = parseArgs({ args: rest, allowPositionals: true, options: { model: { type: 'string' } } });
      const { alerts } = await api.get<{ alerts: { id: string; severity: string; title: string; state: string; createdAt: string }[] }>(`/v1/alerts${values.model ? `?model=${enc(values.model)}` : ''}`);
      log(alerts.length === 0 ? 'no alerts' : table(['when', 'severity', 'state', 'title'], alerts.map((a) => [a.createdAt, a.severity, a.state, a.title])));
      return true;
    }
    default:
      return false;
  }
}
