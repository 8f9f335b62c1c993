/**
 * The Slack alert channel: alerts as Slack messages, a Block Kit layout (title, summary, the numbers
 * side by side, then severity / model / link) plus a plain-text fallback for notifications and screen
 * readers, posted to SLACK_ALERT_CHANNEL with the process's one Slack client.
 */
import { LogLevel, WebClient } from '@slack/web-api';
import type { AlertChannelFactory } from './channel';

export interface SlackAlert {
  severity: 'info' | 'warning' | 'critical';
  title: string;
  summary: string;
  fields: Record<string, string | number>;
  model?: string;
  link?: string;
}

// Block Kit limits (https://api.slack.com/reference/block-kit/blocks): a header's text is at most
// 150 characters, a section's text 3000, a field's 2000, and a section holds at most 10 fields.
const HEADER_MAX = 150;
const SECTION_MAX = 3000;
const FIELD_MAX = 2000;
const FIELDS_PER_SECTION = 10;

const SEVERITY_MARK = { info: ':information_source:', warning: ':warning:', critical: ':rotating_light:' } as const;

/**
 * A Slack client for alerts. Its own retries are off (and a rate-limited call fails at once instead
 * of sleeping for Retry-After): the caller is a Temporal activity whose retry policy decides when to
 * try again, and a client retrying on its own inside an attempt would blur timeouts and heartbeats.
 */
export function createSlackClient(token: string, apiUrl: string | undefined, timeoutMs: number): WebClient {
  return new WebClient(token, {
    ...(apiUrl ? { slackApiUrl: apiUrl } : {}),
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: timeoutMs,
    logLevel: LogLevel.ERROR,
  });
}

/** Slack, when the process has a Slack client (SLACK_BOT_TOKEN) and an alert channel; a half setting is logged. */
export const slackChannel: AlertChannelFactory = ({ alerts, slack, log }) => {
  const channel = alerts.slackChannel;
  if (slack && channel) {
    return {
      name: 'slack',
      async send(alert) {
        const posted = await postSlackAlert(slack, channel, {
          severity: alert.severity, title: alert.title, summary: alert.summary, fields: alert.fields,
          ...(alert.model ? { model: alert.model } : {}), ...(alert.link ? { link: alert.link } : {}),
        });
        return `${posted.channel} ${posted.ts}`;
      },
    };
  }
  if (slack || channel) log(`alerts: Slack is half configured (${slack ? 'no channel: set SLACK_ALERT_CHANNEL or SLACK_APPROVAL_CHANNEL' : 'no token: set SLACK_BOT_TOKEN'}); not sending alerts to Slack`);
  return undefined;
};

/** Posts the alert; returns the message's timestamp (Slack's id for it). Throws what Slack refused. */
export async function postSlackAlert(client: WebClient, channel: string, alert: SlackAlert): Promise<{ channel: string; ts: string }> {
  try {
    const res = await client.chat.postMessage({ channel, ...slackMessage(alert), unfurl_links: false });
    return { channel: String(res.channel ?? channel), ts: String(res.ts ?? '') };
  } catch (err) {
    throw new Error(describeSlackError(err));
  }
}

/** The message body: a `text` fallback and the blocks. Exported for tests and previews. */
export function slackMessage(alert: SlackAlert): { text: string; blocks: object[] } {
  const blocks: object[] = [
    { type: 'header', text: { type: 'plain_text', text: clip(alert.title, HEADER_MAX), emoji: true } },
  ];
  if (alert.summary) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: clip(escapeMrkdwn(alert.summary), SECTION_MAX) } });
  const fields = Object.entries(alert.fields).map(([name, value]) => ({
    type: 'mrkdwn',
    text: clip(`*${escapeMrkdwn(name)}*\n${escapeMrkdwn(formatValue(value))}`, FIELD_MAX),
  }));
  for (let i = 0; i < fields.length; i += FIELDS_PER_SECTION) {
    blocks.push({ type: 'section', fields: fields.slice(i, i + FIELDS_PER_SECTION) });
  }
  const context = [`${SEVERITY_MARK[alert.severity]} *${alert.severity}*`];
  if (alert.model) context.push(`model \`${escapeMrkdwn(alert.model)}\``);
  if (alert.link) context.push(`<${alert.link}|details>`);
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: context.join('  |  ') }] });

  const numbers = Object.entries(alert.fields).map(([k, v]) => `${k}=${formatValue(v)}`).join(', ');
  const text = [`[${alert.severity}] ${alert.title}`, alert.summary, numbers, alert.link].filter(Boolean).join(' — ');
  return { text: clip(text, SECTION_MAX), blocks };
}

/** Whole numbers as they are; others to 4 significant digits, enough to read a PSI or an AUC. */
export function formatValue(v: string | number): string {
  if (typeof v === 'string') return v;
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
}

// Slack reads &, < and > in mrkdwn as markup (links, mentions); a model name or summary must not.
function escapeMrkdwn(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/** One line that says why Slack refused: its error code, the HTTP status, or the network error. */
function describeSlackError(err: unknown): string {
  const e = err as { code?: string; data?: { error?: string }; statusCode?: number; original?: Error & { cause?: { code?: string } }; retryAfter?: number; message?: string };
  switch (e.code) {
    case 'slack_webapi_platform_error': return e.data?.error ?? 'error';
    case 'slack_webapi_http_error': return `HTTP ${e.statusCode}`;
    case 'slack_webapi_rate_limited_error': return `rate limited, retry after ${e.retryAfter} s`;
    // fetch reports every network failure as "fetch failed"; the cause says which (ECONNREFUSED, ...).
    case 'slack_webapi_request_error': return e.original?.cause?.code ?? e.original?.message ?? e.message ?? 'request failed';
    default: return e.message ?? String(err);
  }
}
