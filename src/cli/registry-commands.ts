/**
 * CLI commands over versions, data and lineage: `data list|show|diff`, `lineage`, `reproduce`,
 * `rollback`, `archive`, `alias`. Each calls the HTTP API and prints a readable summary (or JSON with --json).
 */
import { parseArgs } from 'node:util';
import { ConfigError } from '../config';
import { canary } from '../rollouts/canary';
import { STRATEGY_NAMES } from '../rollouts';
import type { DatasetDiff } from '../ml/dataset-diff';
import type { DatasetVersion } from '../store/datasets';
import type { VersionLineage } from '../store/lineage';
import { ApiClient } from './api-client';
import { table } from './table';

/** `name@3` -> { model: 'name', version: 3 }. */
export function parseModelRef(ref: string | undefined, command: string): { model: string; version: number } {
  const match = /^([A-Za-z0-9][A-Za-z0-9_-]*)@(\d+)$/.exec(ref ?? '');
  if (!match || Number(match[2]) < 1) throw new ConfigError(`${command} needs <model>@<version>, e.g. churn@3${ref ? `; got "${ref}"` : ''}`);
  return { model: match[1], version: Number(match[2]) };
}

const short = (digest: string | null | undefined) => (digest ? digest.slice(0, 12) : '-');
const num = (v: number | null | undefined) => (v === null || v === undefined ? '-' : Number.isInteger(v) ? String(v) : v.toPrecision(4));

export function formatDatasets(datasets: Omit<DatasetVersion, 'statistics'>[]): string {
  if (datasets.length === 0) return 'no dataset versions yet';
  return table(['version', 'rows', 'columns', 'stored as', 'parent', 'created', 'source'],
    datasets.map((d) => [short(d.id), String(d.rowCount), String(d.columns.length), d.storage?.format ?? 'csv', short(d.parentId), d.createdAt, d.sourceUri]));
}

export function formatDiff(diff: DatasetDiff & { from: string; to: string }): string {
  const lines = [`${short(diff.from)} -> ${short(diff.to)}: rows ${diff.rows.before} -> ${diff.rows.after}`];
  for (const c of diff.added) lines.push(`+ column ${c.name} (${c.type})`);
  for (const c of diff.removed) lines.push(`- column ${c.name} (${c.type})`);
  for (const c of diff.retyped) lines.push(`~ column ${c.name}: ${c.before} -> ${c.after}`);
  const changed = diff.columns.filter((c) => c.notable);
  for (const c of changed) {
    const parts = [`missing ${(c.missingRatio.before! * 100).toFixed(1)}% -> ${(c.missingRatio.after! * 100).toFixed(1)}%`];
    if (c.mean) parts.push(`mean ${num(c.mean.before)} -> ${num(c.mean.after)} (${c.mean.shiftInStd === null ? '?' : c.mean.shiftInStd.toFixed(2)} sd)`);
    if (c.categories?.added.length) parts.push(`new categories ${c.categories.added.join(', ')}`);
    if (c.categories?.removed.length) parts.push(`gone categories ${c.categories.removed.join(', ')}`);
    lines.push(`! ${c.name}: ${parts.join('; ')}`);
  }
  if (diff.added.length + diff.removed.length + diff.retyped.length + changed.length === 0) lines.push('no schema changes and no notable statistics changes');
  return lines.join('\n');
}

export function formatLineage(l: VersionLineage): string {
  const dataset = l.dataset === null ? 'none (imported without evaluation data)' : 'sourceUri' in l.dataset ? `${l.dataset.id} (${l.dataset.rowCount} rows from ${l.dataset.sourceUri}${l.dataset.parentId ? `; parent ${short(l.dataset.parentId)}` : ''})` : l.dataset.id;
  const run = 'kind' in l.run ? `${l.run.runId} (${l.run.kind}, seed ${l.run.seed}, ${l.run.trainMs} ms${l.run.cachedFrom ? `, cached from ${l.run.cachedFrom}` : ''})` : l.run.runId;
  return [
    `dataset    ${dataset}`,
    `  -> run   ${run}`,
    `  -> model ${l.model}@${l.version} [${l.status}, ${l.deployment}] onnx ${l.onnxDigest} code ${l.codeVersion ?? '-'}${l.aliases.length ? ` aliases ${l.aliases.join(', ')}` : ''}`,
    ...l.deployments.map((d) => `  -> deployment #${d.id} ${d.strategy} by ${d.actor} at ${d.createdAt}${d.reason ? ` (${d.reason})` : ''}`),
    `  -> predictions ${l.predictions.predictions} in ${l.predictions.requests} requests${l.predictions.lastAt ? `, last ${l.predictions.lastAt}` : ''}`,
  ].join('\n');
}

/** Runs a registry or rollout command; false when the command is not one of these. `deploy --wait` throws when the rollout does not succeed. */
export async function runRegistryCommand(command: string, rest: string[], api: ApiClient, log: (line: string) => void): Promise<boolean> {
  switch (command) {
    case 'data': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { source: { type: 'string' }, json: { type: 'boolean', default: false } } });
      const [sub, a, b] = positionals;
      if (sub === 'list') {
        const { datasets } = await api.get<{ datasets: Omit<DatasetVersion, 'statistics'>[] }>(`/v1/datasets${values.source ? `?source=${encodeURIComponent(values.source)}` : ''}`);
        log(values.json ? JSON.stringify(datasets, null, 2) : formatDatasets(datasets));
      } else if (sub === 'show' && a) {
        log(JSON.stringify(await api.get(`/v1/datasets/${encodeURIComponent(a)}`), null, 2));
      } else if (sub === 'diff' && a && b) {
        const diff = await api.get<DatasetDiff & { from: string; to: string }>(`/v1/datasets/${encodeURIComponent(a)}/diff/${encodeURIComponent(b)}`);
        log(values.json ? JSON.stringify(diff, null, 2) : formatDiff(diff));
      } else {
        throw new ConfigError('data takes list [--source <uri>], show <version>, diff <version> <version>, or upload <file>');
      }
      return true;
    }
    case 'lineage': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { openlineage: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } } });
      const { model, version } = parseModelRef(positionals[0], 'lineage');
      const base = `/v1/lineage/models/${encodeURIComponent(model)}/versions/${version}`;
      if (values.openlineage) log(JSON.stringify((await api.get<{ events: unknown[] }>(`${base}/openlineage`)).events, null, 2));
      else {
        const lineage = await api.get<VersionLineage>(base);
        log(values.json ? JSON.stringify(lineage, null, 2) : formatLineage(lineage));
      }
      return true;
    }
    case 'reproduce': {
      const { model, version } = parseModelRef(rest[0], 'reproduce');
      const r = await api.post<{ identical: boolean; registeredDigest: string; reproducedDigest: string; uiUrl: string }>(`/v1/models/${encodeURIComponent(model)}/versions/${version}/reproduce`, {});
      log(r.identical
        ? `${model}@${version} reproduced byte for byte: ${r.reproducedDigest}`
        : `${model}@${version} did NOT reproduce: registered ${r.registeredDigest}, retrained ${r.reproducedDigest}`);
      log(`workflow: ${r.uiUrl}`);
      return true;
    }
    case 'rollback': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { to: { type: 'string' }, reason: { type: 'string' } } });
      if (!positionals[0]) throw new ConfigError('rollback needs a model name');
      const to = values.to === undefined ? undefined : Number(values.to);
      if (to !== undefined && !(Number.isInteger(to) && to >= 1)) throw new ConfigError(`--to takes a version number, got "${values.to}"`);
      const r = await api.post<{ deployment: { version: number; previousVersion: number }; uiUrl: string }>(`/v1/models/${encodeURIComponent(positionals[0])}/rollback`, {
        ...(to ? { toVersion: to } : {}), ...(values.reason ? { reason: values.reason } : {}),
      });
      log(`${positionals[0]}: production ${r.deployment.previousVersion} -> ${r.deployment.version} (workflow: ${r.uiUrl})`);
      return true;
    }
    case 'archive': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { reason: { type: 'string' } } });
      const { model, version } = parseModelRef(positionals[0], 'archive');
      const r = await api.post<{ status: string; deployment: string }>(`/v1/models/${encodeURIComponent(model)}/versions/${version}/archive`, values.reason ? { reason: values.reason } : {});
      log(`${model}@${version}: ${r.status} (deployment: ${r.deployment})`);
      return true;
    }
    case 'alias': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { reason: { type: 'string' } } });
      const [model, alias, version] = positionals;
      if (!model || !alias || !version || !/^\d+$/.test(version)) throw new ConfigError('alias needs <model> <alias> <version>, e.g. alias churn champion 3');
      const r = await api.request<{ aliases: Record<string, number> }>('PUT', `/v1/models/${encodeURIComponent(model)}/aliases/${encodeURIComponent(alias)}`, {
        version: Number(version), ...(values.reason ? { reason: values.reason } : {}),
      });
      log(Object.entries(r.aliases).map(([a, v]) => `${a} -> ${v}`).join('\n'));
      return true;
    }
    case 'deploy': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: {
        // canary by default: the strategy that exposes the fewest requests before it is judged
        strategy: { type: 'string', default: canary.name }, steps: { type: 'string' }, bake: { type: 'string' }, percent: { type: 'string' }, wait: { type: 'boolean', default: false },
      } });
      const [model, version] = positionals;
      if (!model || !version || !/^\d+$/.test(version)) throw new ConfigError(`deploy needs <model> <version> [--strategy ${STRATEGY_NAMES.join('|')}] [--steps 5,25,50,100] [--bake <seconds>] [--percent <share>]`);
      if (!(STRATEGY_NAMES as string[]).includes(values.strategy!)) throw new ConfigError(`--strategy takes ${STRATEGY_NAMES.join(', ')}, got "${values.strategy}"`);
      const number = (flag: string, text?: string) => {
        if (text === undefined) return undefined;
        const n = Number(text);
        if (!Number.isFinite(n) || n < 0) throw new ConfigError(`--${flag} takes a number, got "${text}"`);
        return n;
      };
      const steps = values.steps?.split(',').map((s) => number('steps', s.trim())!);
      const started = await api.post<{ id: string; uiUrl: string }>(`/v1/models/${encodeURIComponent(model)}/deployments`, {
        version: Number(version), strategy: values.strategy, ...(steps ? { steps } : {}),
        ...(values.bake !== undefined ? { bakeSeconds: number('bake', values.bake) } : {}), ...(values.percent !== undefined ? { percent: number('percent', values.percent) } : {}),
      });
      log(`rollout ${started.id} started (workflow: ${started.uiUrl})`);
      if (values.wait) {
        for (;;) {
          const r = await api.get<{ state: string; error?: string; status?: { state: string; step: number; percent: number; reason?: string } }>(`/v1/models/${encodeURIComponent(model)}/deployments/${started.id}`);
          if (r.error) throw new Error(`rollout ${started.id} failed: ${r.error}`);
          const state = r.status?.state ?? r.state;
          if (!['running', 'preparing'].includes(state)) {
            const summary = `${state}${r.status?.reason ? `: ${r.status.reason}` : ''}`;
            if (state !== 'promoted' && state !== 'completed') throw new Error(`rollout ${started.id} ended ${summary}`);
            log(summary);
            return true;
          }
          await new Promise((resolve) => setTimeout(resolve, 1000));
        }
      }
      return true;
    }
    case 'rollouts': {
      if (!rest[0]) throw new ConfigError('rollouts needs a model name');
      const { rollouts } = await api.get<{ rollouts: { id: string; strategy: string; version: number; fromVersion: number | null; state: string; percent: number | null; startedAt: string }[] }>(`/v1/models/${encodeURIComponent(rest[0])}/deployments`);
      log(rollouts.length === 0 ? 'no rollouts yet' : table(['rollout', 'strategy', 'version', 'from', 'state', 'share', 'started'],
        rollouts.map((r) => [r.id, r.strategy, String(r.version), r.fromVersion === null ? '-' : String(r.fromVersion), r.state, r.percent === null ? '-' : `${r.percent}%`, r.startedAt])));
      return true;
    }
    case 'promote':
    case 'abort': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { reason: { type: 'string' } } });
      const [model, id] = positionals;
      if (!model || !id) throw new ConfigError(`${command} needs <model> <rollout-id>`);
      await api.post(`/v1/models/${encodeURIComponent(model)}/deployments/${encodeURIComponent(id)}/${command}`, { ...(values.reason ? { reason: values.reason } : {}) });
      log(`${command} sent to ${id}`);
      return true;
    }
    default:
      return false;
  }
}
