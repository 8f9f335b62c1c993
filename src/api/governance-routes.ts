/**
 * Routes of accountability and privacy: the hash-chained audit log and its verification, each model's
 * PII policy for the prediction log, and data subjects' rights (export, erasure). Reading the audit
 * log and touching a subject's data are admin powers; a policy is readable by anyone who can read models.
 */
import { Request } from 'express';
import type { Config } from '../config';
import { ApiError } from '../errors';
import { DecryptionError } from '../privacy/encryption';
import { pseudonym, PrivacyPolicy, privacyPolicySchema } from '../privacy/pii';
import { actorOf, SecuredRoutes } from './access';
import { limitOf, modelName, route } from './http';
import { parseBody } from './pipeline-requests';
import { PRODUCTION_ALIAS } from '../domain/model-version';
import type { Repositories } from '../store/repositories';

/** An optional text query parameter, given once, of 1-500 characters. */
function queryText(req: Request, name: string): string | undefined {
  const value = req.query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0 || value.length > 500) throw new ApiError('invalid_request', `${name} must be given once, as text of 1 to 500 characters`);
  return value;
}

function beforeId(req: Request): number | undefined {
  const value = req.query.before;
  if (value === undefined) return undefined;
  const n = Number(value);
  if (typeof value !== 'string' || !Number.isSafeInteger(n) || n < 1) throw new ApiError('invalid_request', 'before must be an audit entry id (a positive whole number)');
  return n;
}

/** The subject id from the path: any text a caller's systems use (1-500 characters), never logged or stored. */
function subjectId(req: Request): string {
  const id = String(req.params.id);
  if (id.length === 0 || id.length > 500) throw new ApiError('invalid_request', 'a subject id has 1 to 500 characters');
  return id;
}

/** What a policy will do that its author may not expect, given the production version and the keys configured. */
async function policyWarnings(repos: Repositories, model: string, policy: PrivacyPolicy, privacy: Config['privacy']): Promise<string[]> {
  const warnings: string[] = [];
  if (!privacy.piiKey) warnings.push('MLOPS_PII_KEY is not set: columns marked "pseudonymise" are dropped instead, and no subject is recorded (subjects cannot be exported or erased)');
  const production = await repos.registry.getAliasVersion(model, PRODUCTION_ALIAS);
  if (!production) return warnings;
  const signature = production.signature;
  const accepted = new Set([...signature.features, ...(signature.unused ?? [])]);
  for (const column of Object.keys(policy.pii)) {
    if (signature.features.includes(column)) warnings.push(`"${column}" is a feature of version ${production.version}: drift monitoring sees its ${policy.pii[column] === 'drop' ? 'absence' : 'pseudonyms'}, not the values the model was trained on`);
    else if (!accepted.has(column)) warnings.push(`version ${production.version} does not accept the column "${column}": requests that send it are refused, so this rule never applies to it`);
  }
  if (policy.subjectColumn !== undefined && !accepted.has(policy.subjectColumn)) {
    warnings.push(`version ${production.version} does not accept the column "${policy.subjectColumn}": requests cannot name their subject`);
  }
  return warnings;
}

export function governanceRoutes(routes: SecuredRoutes, deps: { repos: Repositories; config: Config['privacy'] }): void {
  const { repos, config: privacy } = deps;

  routes.get('/v1/audit', 'admin', route(async (req, res) => {
    const entries = await repos.audit.listAudit({ limit: limitOf(req.query.limit), action: queryText(req, 'action'), subject: queryText(req, 'subject'), before: beforeId(req) });
    res.json({ entries });
  }));
  routes.get('/v1/audit/verify', 'admin', route(async (_req, res) => {
    // a broken chain is a finding, not a failed request: 200 either way, `ok` says which
    res.json(await repos.audit.verifyAuditChain());
  }));

  routes.get('/v1/models/:name/privacy', 'viewer', route(async (req, res) => {
    const name = modelName(req);
    const stored = await repos.privacy.getPrivacyPolicy(name);
    res.json(stored
      ? { model: name, policy: stored.policy, updatedBy: stored.updatedBy, updatedAt: stored.updatedAt }
      : { model: name, policy: { pii: {} }, updatedBy: null, updatedAt: null });
  }));
  routes.put('/v1/models/:name/privacy', 'admin', route(async (req, res) => {
    // like approval policies, a privacy policy may be set before the model's first run, so its first predictions are covered
    const name = modelName(req);
    const body = parseBody(privacyPolicySchema, req.body);
    const policy: PrivacyPolicy = { pii: body.pii, ...(body.subjectColumn !== undefined ? { subjectColumn: body.subjectColumn } : {}) };
    const actor = actorOf(res);
    const stored = await repos.privacy.setPrivacyPolicy(name, policy, actor);
    await repos.registry.recordAudit({ actor, action: 'privacy.policy_set', subject: name, details: policy });
    res.json({ model: name, policy: stored.policy, updatedBy: stored.updatedBy, updatedAt: stored.updatedAt, warnings: await policyWarnings(repos, name, policy, privacy) });
  }));

  /** The subject's pseudonym, or a 409 when there is no key to compute it: nothing was logged under one. */
  const subjectOf = (req: Request): string => {
    const id = subjectId(req);
    if (!privacy.piiKey) {
      throw new ApiError('conflict', 'subjects cannot be found: MLOPS_PII_KEY is not set, so predictions are logged without a subject pseudonym (set it, and a model\'s privacy policy naming its subjectColumn, for predictions logged from then on)');
    }
    return pseudonym(privacy.piiKey, id);
  };
  routes.delete('/v1/subjects/:id', 'admin', route(async (req, res) => {
    const subject = subjectOf(req);
    const erased = await repos.privacy.eraseSubject(subject);
    // the audit log names the pseudonym: it proves which erasure happened without keeping who asked for it
    await repos.registry.recordAudit({ actor: actorOf(res), action: 'subject.erased', subject, details: erased });
    res.json({ subject, erased });
  }));
  routes.get('/v1/subjects/:id/export', 'admin', route(async (req, res) => {
    const subject = subjectOf(req);
    const exported = await repos.privacy.exportSubject(subject, privacy.decryptionKeys).catch((err) => {
      // a key this replica lacks is its configuration to fix, not a bug: say which key, never the data
      if (err instanceof DecryptionError) throw new ApiError('unavailable', `the subject's predictions cannot be read here: ${err.message}`);
      throw err;
    });
    await repos.registry.recordAudit({ actor: actorOf(res), action: 'subject.exported', subject, details: { predictions: exported.predictions.length, truncated: exported.truncated } });
    res.json({ subject, ...exported });
  }));
}
