/**
 * The PagerDuty alert channel (Events API v2): each alert triggers an event whose `dedup_key` is the
 * alert's problem ("monitor:<model>:drift"), so repeats of one problem land on one PagerDuty incident,
 * and a later clean check resolves that incident with the same key. The routing key is a secret: it goes
 * only into the request body, and is cut out of anything that is logged or stored (error texts).
 */
import type { Alert, AlertChannelFactory, Severity } from './channel';

/** PagerDuty's limits for the fields we fill (Events API v2). */
const SUMMARY_MAX = 1024;
const DEDUP_KEY_MAX = 255;

/** The event body of the Events API v2, as far as we send it. */
export interface PagerDutyEvent {
  routing_key: string;
  event_action: 'trigger' | 'resolve';
  dedup_key: string;
  payload?: {
    summary: string;
    source: string;
    severity: 'critical' | 'error' | 'warning' | 'info';
    timestamp?: string;
    component?: string;
    group?: string;
    class?: string;
    custom_details?: Record<string, string | number>;
  };
  links?: Array<{ href: string; text: string }>;
}

const SEVERITY: Record<Severity, 'critical' | 'warning' | 'info'> = { critical: 'critical', warning: 'warning', info: 'info' };

/** The trigger event of an alert: title and summary in one line, the numbers as custom details. */
export function triggerEvent(routingKey: string, a: Alert): PagerDutyEvent {
  const summary = clip(`${a.title}: ${a.summary}`.replace(/\s+/g, ' ').trim(), SUMMARY_MAX);
  // what kind of problem it is, from the dedup key's last part ("monitor:churn:drift+quality" -> "drift+quality")
  const kind = a.dedupKey.split(':').pop();
  return {
    routing_key: routingKey,
    event_action: 'trigger',
    dedup_key: dedupKeyOf(a.dedupKey),
    payload: {
      summary,
      source: a.model ? `mlops/${a.model}` : 'mlops',
      severity: SEVERITY[a.severity],
      timestamp: a.createdAt,
      ...(a.model ? { component: a.model } : {}),
      group: 'mlops',
      ...(kind ? { class: kind } : {}),
      custom_details: { ...a.fields, summary: a.summary, alert: a.id },
    },
    ...(a.link ? { links: [{ href: a.link, text: 'Details' }] } : {}),
  };
}

export function resolveEvent(routingKey: string, problemKey: string): PagerDutyEvent {
  return { routing_key: routingKey, event_action: 'resolve', dedup_key: dedupKeyOf(problemKey) };
}

/** PagerDuty's dedup_key for a problem: the key itself (ours are at most 200 characters, PagerDuty takes 255). */
function dedupKeyOf(problemKey: string): string {
  return problemKey.slice(0, DEDUP_KEY_MAX);
}

const clip = (s: string, max: number): string => (s.length <= max ? s : `${s.slice(0, max - 1)}…`);

/** PagerDuty, when PAGERDUTY_ROUTING_KEY is set; events go to PAGERDUTY_EVENTS_URL/v2/enqueue. */
export const pagerDutyChannel: AlertChannelFactory = ({ alerts, httpTimeoutMs }) => {
  const settings = alerts.pagerduty;
  if (!settings) return undefined;
  const url = `${settings.eventsUrl.replace(/\/+$/, '')}/v2/enqueue`;
  const timeoutMs = httpTimeoutMs ?? 5_000;
  return {
    name: 'pagerduty',
    async send(alert) {
      return `dedup_key ${await postEvent(url, triggerEvent(settings.routingKey, alert), timeoutMs)}`;
    },
    async resolve(problem) {
      return `dedup_key ${await postEvent(url, resolveEvent(settings.routingKey, problem.key), timeoutMs)}`;
    },
  };
};

/**
 * POSTs one event; resolves with the dedup_key PagerDuty answered (202 `{status, message, dedup_key}`).
 * Throws on anything else — a non-2xx (400 invalid event, 429 throttled, 5xx), a redirect (not followed),
 * a connection error or no answer within `timeoutMs` — with a message free of the routing key. No retries:
 * the alert activity's retry policy decides those, as for the other channels.
 */
export async function postEvent(url: string, event: PagerDutyEvent, timeoutMs: number): Promise<string> {
  const redact = (s: string): string => s.split(event.routing_key).join('[routing key]');
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST', headers: { 'content-type': 'application/json', 'user-agent': 'mlops-temporal-alerts' }, body: JSON.stringify(event),
      redirect: 'manual', signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    if (e.name === 'TimeoutError') throw new Error(`no answer within ${timeoutMs} ms`);
    throw new Error(redact(e.cause?.code ?? e.cause?.message ?? e.message));
  }
  const text = await response.text().catch(() => '');
  if (response.status < 200 || response.status >= 300) {
    const hint = response.status === 429 ? ' (PagerDuty is throttling this routing key)' : response.status === 400 ? ' (PagerDuty refused the event)' : '';
    throw new Error(redact(`HTTP ${response.status}${hint}${text ? `: ${text.slice(0, 200)}` : ''}`));
  }
  let answer: { dedup_key?: unknown } = {};
  try { answer = JSON.parse(text) as { dedup_key?: unknown }; } catch { /* a 2xx without JSON still took the event */ }
  return typeof answer.dedup_key === 'string' ? redact(answer.dedup_key) : event.dedup_key;
}
