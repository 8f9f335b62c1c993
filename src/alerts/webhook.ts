/**
 * The webhook alert channel: every alert POSTed as JSON to MLOPS_ALERT_WEBHOOK_URL, signed so the
 * receiver can tell it came from us and was not replayed. The signature is `v1=<hex HMAC-SHA256 of "<timestamp>.<raw body>">` with
 * the shared secret; the timestamp (unix seconds) travels in its own header and is part of what is
 * signed, so an old request cannot be sent again with a fresh timestamp.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AlertChannelFactory } from './channel';

export const TIMESTAMP_HEADER = 'X-Mlops-Timestamp';
export const SIGNATURE_HEADER = 'X-Mlops-Signature';
const SCHEME = 'v1=';

/** What the webhook receives for every alert. */
export interface WebhookPayload {
  id: string;
  severity: string;
  title: string;
  summary: string;
  fields: Record<string, string | number>;
  model: string | null;
  link: string | null;
  createdAt: string;
}

/** `v1=<hex>`: the value of the X-Mlops-Signature header for this timestamp and raw body. */
export function signWebhook(secret: string, timestamp: number | string, body: string | Buffer): string {
  const mac = createHmac('sha256', secret);
  mac.update(`${timestamp}.`);
  mac.update(body);
  return SCHEME + mac.digest('hex');
}

/**
 * True when `signature` is ours for this timestamp and raw body, and the timestamp is within
 * `toleranceSeconds` of `now` (either way: a clock running ahead is refused too). Hash the body
 * exactly as received, before any JSON parsing, or the signature will not match.
 */
export function verifyWebhookSignature(
  secret: string, timestamp: number | string | undefined, body: string | Buffer, signature: string | undefined,
  toleranceSeconds = 300, now: Date = new Date(),
): boolean {
  if (!secret || timestamp === undefined || signature === undefined) return false;
  const ts = String(timestamp);
  if (!/^\d{1,12}$/.test(ts)) return false;
  if (Math.abs(now.getTime() / 1000 - Number(ts)) > toleranceSeconds) return false;
  if (!signature.startsWith(SCHEME)) return false;
  const given = signature.slice(SCHEME.length);
  // A SHA-256 digest is 64 hex characters; anything else cannot match, and Buffer.from(..., 'hex')
  // would silently drop non-hex characters, so reject those before comparing.
  if (!/^[0-9a-f]{64}$/i.test(given)) return false;
  const expected = Buffer.from(signWebhook(secret, ts, body).slice(SCHEME.length), 'hex');
  return timingSafeEqual(expected, Buffer.from(given, 'hex'));
}

/** The webhook, when MLOPS_ALERT_WEBHOOK_URL is set; unsigned (and logged) without a secret. */
export const webhookChannel: AlertChannelFactory = ({ alerts, log, httpTimeoutMs }) => {
  const url = alerts.webhookUrl;
  if (!url) return undefined;
  if (!alerts.webhookSecret) log('alerts: MLOPS_ALERT_WEBHOOK_SECRET is not set; webhook requests go out unsigned');
  return {
    name: 'webhook',
    async send(a, at) {
      const payload: WebhookPayload = { id: a.id, severity: a.severity, title: a.title, summary: a.summary, fields: a.fields, model: a.model, link: a.link, createdAt: a.createdAt };
      await postWebhook(url, alerts.webhookSecret, payload, { now: at, timeoutMs: httpTimeoutMs ?? 5_000 });
    },
  };
};

/**
 * POSTs one alert. Resolves when the receiver answered 2xx; throws otherwise (non-2xx, a redirect,
 * a connection error, or no answer within `timeoutMs`). Redirects are not followed: a signed POST
 * should reach the configured URL or fail visibly.
 */
export async function postWebhook(
  url: string, secret: string | undefined, payload: WebhookPayload, o: { now: Date; timeoutMs: number },
): Promise<void> {
  const body = JSON.stringify(payload);
  const timestamp = Math.floor(o.now.getTime() / 1000);
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'mlops-temporal-alerts', [TIMESTAMP_HEADER]: String(timestamp) };
  if (secret) headers[SIGNATURE_HEADER] = signWebhook(secret, timestamp, body);
  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', headers, body, redirect: 'manual', signal: AbortSignal.timeout(o.timeoutMs) });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    if (e.name === 'TimeoutError') throw new Error(`no answer within ${o.timeoutMs} ms`);
    throw new Error(e.cause?.code ?? e.cause?.message ?? e.message);
  }
  // Drain the body so the connection can be reused; its content is only used in the error message.
  const text = await response.text().catch(() => '');
  if (response.status < 200 || response.status >= 300) {
    throw new Error(`HTTP ${response.status}${text ? `: ${text.slice(0, 200)}` : ''}`);
  }
}
