/**
 * The Slack message that asks for a run's approval: the model and version, its test metrics beside the
 * champion's, the data version, links to the run in the Temporal Web UI and to the version's report,
 * and Approve / Reject buttons whose value is the run id. Once decided, the same message is rewritten
 * with the outcome and without buttons.
 */
import { createHash } from 'node:crypto';
import type { ApprovalRecord, ChampionComparison, MetricSummary } from '../workflows/definitions';

export interface ApprovalMessage {
  runId: string;
  model: string;
  version: number;
  metrics: MetricSummary;
  champion?: ChampionComparison;
  /** Absent, with `unscored` saying why, for a model imported without evaluation data. */
  datasetId?: string;
  unscored?: string;
  required: number;
  requestedBy?: string;
  links: { run?: string; report?: string };
}

export const APPROVE_ACTION = 'mlops_approve';
export const REJECT_ACTION = 'mlops_reject';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const num = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '–' : Number.isInteger(v) ? String(v) : v.toFixed(4));

/** Test metrics beside the champion's, as Block Kit fields (at most 10, the usual ones first). */
function metricFields(metrics: MetricSummary, champion?: ChampionComparison): object[] {
  const order = ['auc', 'accuracy', 'f1', 'macroF1', 'logLoss', 'rmse', 'mae', 'r2'];
  const names = [...order.filter((m) => m in metrics), ...Object.keys(metrics).filter((m) => !order.includes(m) && !['n', 'positives'].includes(m))].slice(0, 10);
  return names.map((m) => ({
    type: 'mrkdwn',
    text: `*${esc(m)}*\n${num(metrics[m])}${champion?.metrics ? `  (champion v${champion.version}: ${num(champion.metrics[m])})` : ''}`,
  }));
}

export function approvalRequestMessage(m: ApprovalMessage): { text: string; blocks: object[] } {
  const links = [m.links.run ? `<${m.links.run}|run in Temporal>` : '', m.links.report ? `<${m.links.report}|report>` : ''].filter(Boolean).join('  |  ');
  const championNote = m.unscored ? 'not compared with the champion' : m.champion?.skipped ? `champion v${m.champion.version} not compared: ${esc(m.champion.skipped)}` : m.champion ? `compared with champion v${m.champion.version}` : 'no production version yet';
  return {
    text: `Approval needed: ${m.model} version ${m.version} (run ${m.runId})`,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: `Approve ${m.model} v${m.version}?`.slice(0, 150) } },
      { type: 'section', text: { type: 'mrkdwn', text: `Run \`${esc(m.runId)}\`${m.requestedBy ? ` started by *${esc(m.requestedBy)}*` : ''}. ${m.required > 1 ? `Needs *${m.required}* distinct approvers. ` : ''}${championNote}.` } },
      ...(Object.keys(m.metrics).length ? [{ type: 'section', fields: metricFields(m.metrics, m.champion) }] : []),
      ...(m.unscored ? [{ type: 'section', text: { type: 'mrkdwn', text: `:warning: *${esc(m.unscored[0].toUpperCase() + m.unscored.slice(1))}*: no metrics, no comparison with the champion, no drift reference. Approve only what was evaluated elsewhere.` } }] : []),
      { type: 'context', elements: [{ type: 'mrkdwn', text: `${m.datasetId ? `data version \`${m.datasetId.slice(0, 12)}\`` : 'no data version'}${links ? `  |  ${links}` : ''}` }] },
      {
        type: 'actions',
        block_id: `approval:${m.runId}`.slice(0, 255),
        elements: [
          { type: 'button', action_id: APPROVE_ACTION, style: 'primary', text: { type: 'plain_text', text: 'Approve' }, value: m.runId },
          { type: 'button', action_id: REJECT_ACTION, style: 'danger', text: { type: 'plain_text', text: 'Reject' }, value: m.runId },
        ],
      },
    ],
  };
}

/** The request rewritten with its outcome: no buttons left to press. */
export function approvalOutcomeMessage(m: { runId: string; model: string; version: number; decision: ApprovalRecord }): { text: string; blocks: object[] } {
  const verb = m.decision.decision === 'approve' ? ':white_check_mark: Approved' : ':x: Rejected';
  const how = m.decision.via === 'timeout' ? 'no decision in time' : m.decision.via === 'policy' ? 'by policy' : `by ${esc(m.decision.by)}`;
  const text = `${verb} ${m.model} v${m.version} (${how})`;
  return {
    text,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `*${text}*${m.decision.comment ? `\n> ${esc(m.decision.comment)}` : ''}` } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: `run \`${esc(m.runId)}\` at ${m.decision.at}` }] },
    ],
  };
}

/** A stable key for one Slack message of a run (request, reminder n, escalation). */
export const messageKey = (runId: string, kind: string) => `${runId}:${kind}`;

/** Digest of a signed Slack delivery, to recognise the same request replayed. */
export const deliveryDigest = (timestamp: string, body: string) => createHash('sha256').update(`${timestamp}:${body}`).digest('hex');
