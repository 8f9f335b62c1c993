/**
 * CLI commands of governance: `audit list` and `audit verify`. `verify` fails the command (exit code 1)
 * when the chain is broken, naming the first broken entry, so a cron job or CI step notices.
 */
import { parseArgs } from 'node:util';
import { ConfigError } from '../config';
import type { AuditEntry, AuditVerification } from '../store/audit';
import { ApiClient } from './api-client';
import { table } from './table';

export function formatAudit(entries: AuditEntry[]): string {
  if (entries.length === 0) return 'the audit log is empty';
  return table(['id', 'at', 'actor', 'action', 'subject', 'details'], entries.map((e) => {
    const details = JSON.stringify(e.details ?? {});
    return [String(e.id), e.at, e.actor, e.action, e.subject, details.length > 80 ? `${details.slice(0, 77)}...` : details];
  }));
}

export function formatVerification(v: AuditVerification): string {
  const unchained = v.unchained > 0 ? `; ${v.unchained} entries from before the chain existed are not covered` : '';
  if (v.ok) return `the audit chain is intact: ${v.entries} entries${unchained}${v.head ? `\nhead: entry ${v.head.id}, hash ${v.head.hash} (record it elsewhere to detect a rewritten or truncated log later)` : ''}`;
  return `the audit chain is BROKEN at entry ${v.firstBroken!.id}: ${v.firstBroken!.reason}${v.head ? `\nthe last intact entry is ${v.head.id}` : ''}`;
}

/** Runs a governance command; false when the command is not one of these. */
export async function runGovernanceCommand(command: string, rest: string[], api: ApiClient, log: (line: string) => void): Promise<boolean> {
  if (command !== 'audit') return false;
  const [sub, ...args] = rest;
  switch (sub) {
    case 'list': {
      const { values } = parseArgs({ args, options: { limit: { type: 'string' }, action: { type: 'string' }, subject: { type: 'string' }, json: { type: 'boolean', default: false } } });
      const query = new URLSearchParams();
      if (values.limit !== undefined) {
        const n = Number(values.limit);
        if (!Number.isInteger(n) || n < 1 || n > 1000) throw new ConfigError(`--limit takes a whole number from 1 to 1000, got "${values.limit}"`);
        query.set('limit', String(n));
      }
      if (values.action) query.set('action', values.action);
      if (values.subject) query.set('subject', values.subject);
      const { entries } = await api.get<{ entries: AuditEntry[] }>(`/v1/audit${query.size ? `?${query}` : ''}`);
      log(values.json ? JSON.stringify(entries, null, 2) : formatAudit(entries));
      return true;
    }
    case 'verify': {
      const { values } = parseArgs({ args, options: { json: { type: 'boolean', default: false } } });
      const result = await api.get<AuditVerification>('/v1/audit/verify');
      log(values.json ? JSON.stringify(result, null, 2) : formatVerification(result));
      if (!result.ok) throw new Error(`audit chain broken at entry ${result.firstBroken!.id}: ${result.firstBroken!.reason}`);
      return true;
    }
    default:
      throw new ConfigError('audit takes a subcommand: mlops audit list [--limit N] [--action a] [--subject s] [--json] | mlops audit verify [--json]');
  }
}
