/**
 * Routes of who may do what: API keys, the Slack users allowed to press approval buttons, and each
 * model's approval policy. Every change is written to the audit log.
 */
import { z } from 'zod';
import { ROLES } from '../auth/roles';
import { ApiError } from '../errors';
import { actorOf, SecuredRoutes } from './access';
import { modelName, route } from './http';
import { parseBody } from './pipeline-requests';
import type { Repositories } from '../store/repositories';

export const keyRequestSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9 ._@-]{0,99}$/, 'a name of 1-100 letters, digits, spaces, ".", "_", "@" or "-"'),
  role: z.enum(ROLES),
  expiresInDays: z.number().int().min(1).max(3650).optional(),
});

export const slackUserSchema = z.strictObject({ name: z.string().min(1).max(200), role: z.enum(ROLES) });

const DURATION = /^\d+(\.\d+)?\s*(s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?)$/i;
export const approvalPolicySchema = z.strictObject({
  /** Distinct people who must approve before a run deploys. */
  approvers: z.number().int().min(1).max(5).default(1),
  /** The person who started a run may not approve it. */
  fourEyes: z.boolean().default(true),
  /** Reminders to the approval channel this long before the approval times out, e.g. ["24 hours", "1 hour"]. */
  reminders: z.array(z.string().regex(DURATION, 'a duration such as "1 hour"')).max(5).default([]),
  /** A channel told when a run times out without a decision. */
  escalationChannel: z.string().min(1).max(200).optional(),
  /** Approve without a person when every threshold passes and the data schema did not change. */
  autoApprove: z.strictObject({ thresholds: z.record(z.string(), z.number().finite()), requireSameSchema: z.boolean().default(true) }).optional(),
});
export type ApprovalPolicyRequest = z.infer<typeof approvalPolicySchema>;

export function adminRoutes(routes: SecuredRoutes, deps: { repos: Repositories }): void {
  const { repos } = deps;
  const audit = (actor: string, action: string, subject: string, details: unknown) => repos.registry.recordAudit({ actor, action, subject, details });

  routes.post('/v1/keys', 'admin', route(async (req, res) => {
    const body = parseBody(keyRequestSchema, req.body);
    const actor = actorOf(res);
    const key = await repos.apiKeys.createApiKey({ name: body.name, role: body.role, createdBy: actor, ...(body.expiresInDays ? { expiresAt: new Date(Date.now() + body.expiresInDays * 86_400_000) } : {}) });
    await audit(actor, 'key.created', `key:${key.id}`, { name: key.name, role: key.role, expiresAt: key.expiresAt });
    res.status(201).json({ ...key, note: 'the token is shown once; store it now' });
  }));
  routes.get('/v1/keys', 'admin', route(async (_req, res) => {
    res.json({ keys: await repos.apiKeys.listApiKeys() });
  }));
  routes.delete('/v1/keys/:id', 'admin', route(async (req, res) => {
    const id = String(req.params.id);
    const key = /^[a-z0-9]{12}$/.test(id) ? await repos.apiKeys.revokeApiKey(id) : undefined;
    if (!key) throw new ApiError('not_found', `no API key has the id "${id}"`);
    await audit(actorOf(res), 'key.revoked', `key:${key.id}`, { name: key.name, role: key.role });
    res.json(key);
  }));

  routes.get('/v1/slack/users', 'admin', route(async (_req, res) => {
    res.json({ users: await repos.governance.listSlackUsers() });
  }));
  routes.put('/v1/slack/users/:id', 'admin', route(async (req, res) => {
    const id = String(req.params.id);
    if (!/^[UW][A-Z0-9]{2,20}$/.test(id)) throw new ApiError('invalid_request', `"${id}" is not a Slack user id (U... or W...)`);
    const body = parseBody(slackUserSchema, req.body);
    const user = await repos.governance.putSlackUser({ slackUserId: id, ...body });
    await audit(actorOf(res), 'slack_user.set', `slack:${id}`, body);
    res.json(user);
  }));
  routes.delete('/v1/slack/users/:id', 'admin', route(async (req, res) => {
    const id = String(req.params.id);
    if (!(await repos.governance.deleteSlackUser(id))) throw new ApiError('not_found', `no Slack user "${id}" is registered`);
    await audit(actorOf(res), 'slack_user.removed', `slack:${id}`, {});
    res.status(204).end();
  }));

  routes.get('/v1/models/:name/approval-policy', 'viewer', route(async (req, res) => {
    const name = modelName(req);
    res.json({ model: name, policy: await repos.governance.getApprovalPolicy(name) });
  }));
  routes.put('/v1/models/:name/approval-policy', 'admin', route(async (req, res) => {
    // a policy may be set before the model's first run registers it
    const name = modelName(req);
    const policy = parseBody(approvalPolicySchema, req.body);
    const actor = actorOf(res);
    await repos.governance.setApprovalPolicy(name, policy, actor);
    await audit(actor, 'approval_policy.set', name, policy);
    res.json({ model: name, policy });
  }));
}
