/**
 * Activities of the approval stage under a model's governance policy: what the policy is and whether
 * the data's schema changed, and the Slack messages — the request with its buttons, reminders in its
 * thread, the escalation, and the request rewritten with the outcome. Each message is keyed in
 * `slack_messages`, so a retried activity does not post it again. Without a Slack bot token and
 * channel, the messages are skipped and the run waits for decisions through the API.
 *
 * Slack is a courtesy, never a condition: a message Slack refuses (a deleted request, a channel the bot
 * is not in, a revoked token), or one it still cannot take after a few attempts, is logged and audited
 * as `slack.failed`, and the run goes on. Decisions can always come through the API.
 */
import { Context } from '@temporalio/activity';
import type { WebClient } from '@slack/web-api';
import { approvalOutcomeMessage, approvalRequestMessage, messageKey } from '../slack/approval-messages';
import type { Repositories } from '../store/repositories';
import type { ApprovalRecord, ChampionComparison, GovernancePolicy, MetricSummary } from '../workflows/definitions';
import { PRODUCTION_ALIAS } from '../domain/model-version';

export interface ApprovalDeps {
  repos: Repositories;
  /** The process's one Slack client (SLACK_BOT_TOKEN) and where approval requests go (SLACK_APPROVAL_CHANNEL). */
  slack?: { client: WebClient; approvalChannel?: string };
  /** Link to a workflow run in the Temporal Web UI, for messages. */
  uiUrl?: (workflowId: string) => string;
  /** The API's public address, for links to reports. */
  apiUrl?: string;
}

/** Columns added, removed or retyped between production's training data and this run's. */
export function schemaChanges(before: { name: string; type: string }[], after: { name: string; type: string }[]): string[] {
  const old = new Map(before.map((c) => [c.name, c.type]));
  const now = new Map(after.map((c) => [c.name, c.type]));
  const changes: string[] = [];
  for (const [name, type] of now) {
    if (!old.has(name)) changes.push(`added ${name} (${type})`);
    else if (old.get(name) !== type) changes.push(`${name}: ${old.get(name)} -> ${type}`);
  }
  for (const [name, type] of old) if (!now.has(name)) changes.push(`removed ${name} (${type})`);
  return changes;
}

/** Attempts at a Slack call Slack might still take (a network error, its 5xx, its rate limit) before the run goes on without it. */
const SLACK_ATTEMPTS = 3;

/** Slack said no for good: the request itself is wrong (`slack_webapi_platform_error`: no such message, channel or token). */
const refusedForGood = (err: unknown) => (err as { code?: string }).code === 'slack_webapi_platform_error';

export function createApprovalActivities({ repos, slack, uiUrl, apiUrl }: ApprovalDeps) {
  const channel = slack?.approvalChannel;
  const slackClient = () => slack!.client;
  const enabled = () => !!(slack && channel);

  /**
   * Runs one Slack call. A refusal, or a failure on the last attempt, is logged and audited and answers
   * undefined; an earlier failure Slack might get over is thrown, for the activity's retry.
   */
  async function toSlack<T>(what: string, runId: string, call: () => Promise<T>): Promise<T | undefined> {
    try {
      return await call();
    } catch (err) {
      const { info: { attempt }, log } = Context.current();
      if (!refusedForGood(err) && attempt < SLACK_ATTEMPTS) throw err;
      const reason = (err as Error).message;
      log.warn(`Slack ${what} of ${runId} failed; the run goes on without it: ${reason}`, { attempt });
      await repos.registry.recordAudit({ key: `${runId}:slack-failed:${what}`, actor: 'system', action: 'slack.failed', subject: runId, details: { what, reason, attempt } });
      return undefined;
    }
  }

  /** Posts once per key: a retry finds the message it already posted. Returns where it went. */
  async function postOnce(runId: string, key: string, target: string, message: { text: string; blocks?: object[]; thread_ts?: string }): Promise<{ channel: string; ts: string } | undefined> {
    const already = await repos.slack.postedMessage(key);
    if (already) return already;
    await repos.slack.markPosting(key);
    const res = await toSlack(`post ${key.slice(key.indexOf(':') + 1)}`, runId, () => slackClient().chat.postMessage({ channel: target, unfurl_links: false, ...message }));
    if (!res) return undefined;
    const posted = { channel: String(res.channel ?? target), ts: String(res.ts ?? '') };
    await repos.slack.markPosted(key, posted);
    return posted;
  }

  return {
    /** The model's approval policy, how the run's data schema differs from production's, and whether there is a production version. */
    async approvalContext(input: { modelName: string; datasetId?: string; runId: string }): Promise<{ policy: GovernancePolicy; schemaChanges: string[]; hasProduction: boolean }> {
      const policy = await repos.governance.getApprovalPolicy(input.modelName);
      const production = await repos.registry.getAliasVersion(input.modelName, PRODUCTION_ALIAS);
      if (!production) return { policy, schemaChanges: [], hasProduction: false };
      const dataset = (id: string | null | undefined) => (id ? repos.datasets.getDataset(id) : Promise.resolve(undefined));
      const [before, after] = await Promise.all([dataset(production.datasetId), dataset(input.datasetId)]);
      return { policy, schemaChanges: schemaChanges(before?.columns ?? [], after?.columns ?? []), hasProduction: true };
    },

    /** Records the request in the audit log and posts it to the approval channel with its buttons. */
    async requestApproval(input: { runId: string; model: string; version: number; metrics: MetricSummary; champion?: ChampionComparison; datasetId?: string; required: number; requestedBy?: string; unscored?: string }): Promise<{ posted: boolean }> {
      await repos.registry.recordAudit({ key: `${input.runId}:approval-requested`, actor: 'system', action: 'approval.requested', subject: `${input.model}@${input.version}`, details: { runId: input.runId, required: input.required, ...(input.unscored ? { unscored: input.unscored } : {}) } });
      if (!enabled()) return { posted: false };
      const links = {
        ...(uiUrl ? { run: uiUrl(input.runId) } : {}),
        ...(apiUrl ? { report: `${apiUrl}/v1/models/${encodeURIComponent(input.model)}/versions/${input.version}/report` } : {}),
      };
      const posted = await postOnce(input.runId, messageKey(input.runId, 'approval'), channel!, approvalRequestMessage({ ...input, links }));
      return { posted: posted !== undefined };
    },

    /** A reminder in the request's thread: how long is left and how many approvals are in. */
    async remindApproval(input: { runId: string; model: string; version: number; reminder: number; remainingMs: number; approvals: number; required: number }): Promise<void> {
      await repos.registry.recordAudit({ key: `${input.runId}:reminder:${input.reminder}`, actor: 'system', action: 'approval.reminded', subject: `${input.model}@${input.version}`, details: input });
      if (!enabled()) return;
      const request = await repos.slack.postedMessage(messageKey(input.runId, 'approval'));
      const hours = (input.remainingMs / 3_600_000).toFixed(1);
      await postOnce(input.runId, messageKey(input.runId, `reminder:${input.reminder}`), channel!, {
        text: `Reminder: ${input.model} v${input.version} still needs approval (${input.approvals} of ${input.required}); it is rejected in ${hours} h without a decision.`,
        ...(request?.ts ? { thread_ts: request.ts } : {}),
      });
    },

    /** Tells the escalation channel that a run timed out without enough approvals. */
    async escalateApproval(input: { runId: string; model: string; version: number; channel: string; timeout: string }): Promise<void> {
      await repos.registry.recordAudit({ key: `${input.runId}:escalation`, actor: 'system', action: 'approval.escalated', subject: `${input.model}@${input.version}`, details: input });
      if (!slack) return;
      const run = uiUrl ? ` <${uiUrl(input.runId)}|run>` : '';
      await postOnce(input.runId, messageKey(input.runId, 'escalation'), input.channel, {
        text: `:rotating_light: ${input.model} v${input.version} got no approval decision within ${input.timeout} and was rejected.${run}`,
      });
    },

    /** Rewrites the request with the outcome, so nobody presses a button of a decided run. */
    async closeApprovalRequest(input: { runId: string; model: string; version: number; decision: ApprovalRecord }): Promise<void> {
      if (!enabled()) return;
      const request = await repos.slack.postedMessage(messageKey(input.runId, 'approval'));
      if (!request) return; // auto-approved: nothing was posted
      const updated = await toSlack('update approval', input.runId, () => slackClient().chat.update({ channel: request.channel, ts: request.ts, ...approvalOutcomeMessage(input) }));
      if (!updated) return;
      await repos.slack.markUpdated(messageKey(input.runId, 'approval'));
      Context.current().log.info(`approval message of ${input.runId} updated: ${input.decision.decision}`, { model: input.model, version: input.version });
    },
  };
}

export type ApprovalActivities = ReturnType<typeof createApprovalActivities>;
