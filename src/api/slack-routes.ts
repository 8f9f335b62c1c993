/**
 * `POST /slack/interactions`: Slack's signed callbacks when someone presses Approve or Reject on an
 * approval message. The signature is checked on the raw body, a replayed delivery is refused, the Slack
 * user must be registered with at least the approver role, and the decision then goes the same way as
 * one from the API (four-eyes, one approval per person, only while the run waits). Refusals of signed
 * requests are audited; unsigned and forged ones come from anyone, so they are throttled per address
 * (like invalid API keys) and counted in `mlops_slack_refused_total`, never one audit entry each. The
 * person who pressed the button is told what happened in an ephemeral message.
 */
import express from 'express';
import type { WebClient } from '@slack/web-api';
import { Counter, Registry } from 'prom-client';
import { createSlackClient } from '../alerts/slack-alerts';
import { allows } from '../auth/roles';
import type { Config } from '../config';
import { ApiError } from '../errors';
import { APPROVE_ACTION, deliveryDigest, REJECT_ACTION } from '../slack/approval-messages';
import { slackSignatureProblem } from '../slack/signature';
import { FailureThrottle, SecuredRoutes } from './access';
import { decide } from '../usecases/approvals';
import { route } from './http';
import { PipelineService } from '../usecases/pipelines';
import type { Repositories } from '../store/repositories';
import { DomainError } from '../domain/errors';

interface BlockActions {
  type: string;
  user?: { id?: string; username?: string };
  channel?: { id?: string };
  actions?: { action_id?: string; value?: string }[];
}

export function slackRoutes(routes: SecuredRoutes, deps: { repos: Repositories; pipelines: PipelineService; slack: Config['slack']; metrics: Registry }): void {
  const { repos, pipelines, slack } = deps;
  const untrusted = new FailureThrottle();
  const refusedUnsigned = new Counter({ name: 'mlops_slack_refused_total', help: 'Slack interaction requests refused before they were trusted, by reason', labelNames: ['reason'], registers: [deps.metrics] });
  let client: WebClient | undefined;
  /**
   * Tells the person in Slack, without waiting: Slack wants the press answered within 3 s, and its Web
   * API can take longer. Telling is a courtesy; the decision stands whatever becomes of it.
   */
  const tell = (channel: string | undefined, user: string | undefined, text: string): void => {
    if (!slack.botToken || !channel || !user) return;
    client ??= createSlackClient(slack.botToken, slack.apiUrl, 5_000);
    void client.chat.postEphemeral({ channel, user, text }).catch(() => undefined);
  };
  const refuse = async (action: string, details: Record<string, unknown>, error: ApiError): Promise<never> => {
    await repos.registry.recordAudit({ actor: String(details.slackUser ?? 'unknown'), action, subject: 'POST /slack/interactions', details: { ...details, reason: error.message } });
    throw error;
  };

  // the raw body: Slack signs the bytes it sent, before any parsing
  routes.post('/slack/interactions', 'open', express.raw({ type: () => true, limit: '64kb' }), route(async (req, res) => {
    if (!slack.signingSecret) throw new ApiError('not_found', 'Slack interactions are not enabled here: set SLACK_SIGNING_SECRET');
    const body = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
    const timestamp = req.get('x-slack-request-timestamp');
    const address = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    const problem = slackSignatureProblem(slack.signingSecret, timestamp, body, req.get('x-slack-signature'));
    if (problem) {
      refusedUnsigned.inc({ reason: 'signature' });
      untrusted.count(address, 'too many unsigned or forged Slack requests from this address; wait a minute');
      throw new ApiError('unauthorized', problem);
    }
    if (!(await repos.slack.acceptDelivery(deliveryDigest(timestamp!, body)))) {
      // a replay carries a real signature, but anyone who saw one request can send it again
      refusedUnsigned.inc({ reason: 'replayed' });
      untrusted.count(address, 'too many replayed Slack requests from this address; wait a minute');
      throw new ApiError('conflict', 'this signed request was already handled');
    }

    let payload: BlockActions;
    try {
      payload = JSON.parse(new URLSearchParams(body).get('payload') ?? '') as BlockActions;
    } catch {
      throw new ApiError('invalid_request', 'the body must be form data with a JSON "payload" field');
    }
    const action = payload.actions?.[0];
    const runId = action?.value;
    if (payload.type !== 'block_actions' || !action || ![APPROVE_ACTION, REJECT_ACTION].includes(action.action_id ?? '') || !runId) {
      throw new ApiError('invalid_request', 'not an approval button press (block_actions with an approve or reject action)');
    }
    const slackUser = payload.user?.id ?? '';
    const channel = payload.channel?.id;
    const user = slackUser ? await repos.governance.getSlackUser(slackUser) : undefined;
    if (!user || !allows(user.role, 'approver')) {
      const why = user ? `Slack user ${slackUser} (${user.name}) has the ${user.role} role; approving needs approver` : `Slack user ${slackUser || '(none)'} is not registered; an admin adds them with PUT /v1/slack/users/<id>`;
      tell(channel, slackUser, `Your decision was not recorded: ${why}.`);
      await refuse('slack.refused', { slackUser, runId }, new ApiError('forbidden', why));
    }
    const decision = action.action_id === APPROVE_ACTION ? 'approve' : 'reject';
    try {
      const result = await decide(repos, pipelines, runId, { decision, by: user!.name, channel: 'slack', comment: `from Slack (${slackUser})` });
      const progress = result.required && result.required > 1 && decision === 'approve' ? ` (${result.approvals} of ${result.required} approvals)` : '';
      tell(channel, slackUser, `Recorded: you ${decision === 'approve' ? 'approved' : 'rejected'} run ${runId}${progress}.`);
      res.json({ ok: true, decision, runId, ...(result.required ? { approvals: result.approvals, required: result.required } : {}) });
    } catch (err) {
      // a refusal the person can act on is told to them; a fault of ours is not explained in Slack
      if (err instanceof ApiError || err instanceof DomainError) tell(channel, slackUser, `Your decision was not recorded: ${err.message}`);
      throw err;
    }
  }));
}
