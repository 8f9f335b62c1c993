/**
 * Changes to a model's versions made by a person: moving an alias (production by deployment) and
 * archiving a version. Each is recorded in the audit trail; a change that moves what is served has this
 * replica serve it before the call returns (others follow their notification).
 */
import { randomUUID } from 'node:crypto';
import { PRODUCTION_ALIAS } from '../domain/model-version';
import type { Repositories } from '../store/repositories';

export type ModelChangeRepositories = Pick<Repositories, 'registry' | 'audit'>;

export interface ChangeBy {
  actor: string;
  reason?: string;
}

export function createModelChanges(repos: ModelChangeRepositories, serving: { refresh(): Promise<void> }) {
  return {
    /** Points an alias at a version; `production` deploys it (once per idempotency key). */
    async moveAlias(model: string, alias: string, version: number, by: ChangeBy & { idempotencyKey?: string }): Promise<{ name: string; aliases: Record<string, number> }> {
      if (alias === PRODUCTION_ALIAS) {
        const current = await repos.registry.getAliasVersion(model, alias);
        if (current?.version !== version) {
          await repos.registry.deployVersion(model, version, `api:${model}:${by.idempotencyKey ?? randomUUID()}`, { actor: by.actor, reason: by.reason });
          await serving.refresh();
        }
      } else {
        await repos.registry.setAlias(model, alias, version, { actor: by.actor, reason: by.reason });
      }
      await repos.audit.appendAudit({ actor: by.actor, action: 'alias.moved', subject: `${model}@${version}`, details: { alias, reason: by.reason } });
      return { name: model, aliases: await repos.registry.listAliases(model) };
    },

    /** Takes an approved or rejected version out of use for good; refused while it serves. */
    async archive(model: string, version: number, by: ChangeBy) {
      const archived = await repos.registry.transitionVersion(model, version, 'archived', { actor: by.actor, reason: by.reason });
      await repos.audit.appendAudit({ actor: by.actor, action: 'model.archived', subject: `${model}@${version}`, details: { reason: by.reason ?? null } });
      return { model, version, status: archived.status, deployment: archived.deployment };
    },
  };
}

export type ModelChanges = ReturnType<typeof createModelChanges>;
