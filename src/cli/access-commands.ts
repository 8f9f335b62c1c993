/**
 * CLI commands of access and approval governance: `keys create|list|revoke`, `slack-users`,
 * `policy <model>`. Each calls the HTTP API (with an admin key) and prints a readable summary.
 */
import { parseArgs } from 'node:util';
import { ConfigError } from '../config';
import type { ApiKey } from '../store/api-keys';
import type { ApprovalPolicy, SlackUser } from '../store/governance';
import { ApiClient } from './api-client';
import { table } from './table';

const enc = encodeURIComponent;

export function formatKeys(keys: ApiKey[]): string {
  if (keys.length === 0) return 'no API keys (the admin key from MLOPS_ADMIN_KEY or the data dir is always accepted)';
  return table(['id', 'name', 'role', 'created', 'expires', 'last used', 'state'], keys.map((k) => [
    k.id, k.name, k.role, k.createdAt, k.expiresAt ?? '-', k.lastUsedAt ?? '-', k.revokedAt ? `revoked ${k.revokedAt}` : k.expiresAt && new Date(k.expiresAt) < new Date() ? 'expired' : 'active',
  ]));
}

/** Runs an access command; false when the command is not one of these. */
export async function runAccessCommand(command: string, rest: string[], api: ApiClient, log: (line: string) => void): Promise<boolean> {
  switch (command) {
    case 'keys': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { role: { type: 'string' }, 'expires-days': { type: 'string' }, json: { type: 'boolean', default: false } } });
      const [sub, arg] = positionals;
      if (sub === 'list') {
        const { keys } = await api.get<{ keys: ApiKey[] }>('/v1/keys');
        log(values.json ? JSON.stringify(keys, null, 2) : formatKeys(keys));
      } else if (sub === 'create' && arg && values.role) {
        const days = values['expires-days'] === undefined ? undefined : Number(values['expires-days']);
        if (days !== undefined && !(Number.isInteger(days) && days >= 1)) throw new ConfigError(`--expires-days takes a whole number of days, got "${values['expires-days']}"`);
        const key = await api.post<ApiKey & { token: string }>('/v1/keys', { name: arg, role: values.role, ...(days ? { expiresInDays: days } : {}) });
        log(`created key ${key.id} "${key.name}" (${key.role}${key.expiresAt ? `, expires ${key.expiresAt}` : ''})`);
        log(`token (shown once; store it now): ${key.token}`);
      } else if (sub === 'revoke' && arg) {
        const key = await api.request<ApiKey>('DELETE', `/v1/keys/${enc(arg)}`);
        log(`revoked key ${key.id} "${key.name}"`);
      } else {
        throw new ConfigError('keys takes list, create <name> --role viewer|scientist|approver|admin [--expires-days N], or revoke <id>');
      }
      return true;
    }
    case 'slack-users': {
      const [sub, id, name, role] = rest;
      if (sub === 'list' || sub === undefined) {
        const { users } = await api.get<{ users: SlackUser[] }>('/v1/slack/users');
        log(users.length === 0 ? 'no Slack users may approve yet' : table(['slack id', 'name', 'role'], users.map((u) => [u.slackUserId, u.name, u.role])));
      } else if (sub === 'set' && id && name && role) {
        await api.request('PUT', `/v1/slack/users/${enc(id)}`, { name, role });
        log(`${id} is ${name} (${role})`);
      } else if (sub === 'remove' && id) {
        await api.request('DELETE', `/v1/slack/users/${enc(id)}`);
        log(`${id} removed`);
      } else {
        throw new ConfigError('slack-users takes list, set <slack user id> <name> <role>, or remove <slack user id>');
      }
      return true;
    }
    case 'policy': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: {
        approvers: { type: 'string' }, 'four-eyes': { type: 'boolean' }, 'no-four-eyes': { type: 'boolean' }, remind: { type: 'string', multiple: true },
        escalate: { type: 'string' }, 'auto-approve': { type: 'string', multiple: true },
      } });
      const model = positionals[0];
      if (!model) throw new ConfigError('policy needs a model: policy <model> [--approvers 2] [--four-eyes|--no-four-eyes] [--remind "1 hour" ...] [--escalate #channel] [--auto-approve auc=0.9 ...]');
      const changing = Object.values(values).some((v) => v !== undefined);
      if (!changing) {
        log(JSON.stringify((await api.get<{ policy: ApprovalPolicy }>(`/v1/models/${enc(model)}/approval-policy`)).policy, null, 2));
        return true;
      }
      const current = (await api.get<{ policy: ApprovalPolicy }>(`/v1/models/${enc(model)}/approval-policy`)).policy;
      const thresholds = values['auto-approve']?.map((t) => {
        const [name, value] = t.split('=');
        if (!name || value === undefined || !Number.isFinite(Number(value))) throw new ConfigError(`--auto-approve takes metric=value, got "${t}"`);
        return [name, Number(value)] as const;
      });
      const policy = {
        approvers: values.approvers !== undefined ? Number(values.approvers) : current.approvers,
        fourEyes: values['no-four-eyes'] ? false : values['four-eyes'] ? true : current.fourEyes,
        reminders: values.remind ?? current.reminders,
        ...(values.escalate ?? current.escalationChannel ? { escalationChannel: values.escalate ?? current.escalationChannel } : {}),
        ...(thresholds ? { autoApprove: { thresholds: Object.fromEntries(thresholds), requireSameSchema: true } } : current.autoApprove ? { autoApprove: current.autoApprove } : {}),
      };
      log(JSON.stringify((await api.request<{ policy: ApprovalPolicy }>('PUT', `/v1/models/${enc(model)}/approval-policy`, policy)).policy, null, 2));
      return true;
    }
    default:
      return false;
  }
}
