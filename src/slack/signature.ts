/**
 * Slack's request signing (https://api.slack.com/authentication/verifying-requests-from-slack):
 * `X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:<X-Slack-Request-Timestamp>:<raw body>">` with the app's
 * signing secret. The raw, unparsed body is what was signed; requests more than five minutes from now
 * are refused, so a captured request cannot be replayed later (a replay within the window is caught by
 * the delivery digest the route stores).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const MAX_SKEW_SECONDS = 300;

export function signSlackRequest(secret: string, timestamp: string | number, body: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

/** Why a request's signature is not acceptable, or undefined when it is. */
export function slackSignatureProblem(secret: string, timestamp: string | undefined, body: string, signature: string | undefined, nowSeconds = Date.now() / 1000): string | undefined {
  if (!timestamp || !signature) return 'the request is not signed (X-Slack-Request-Timestamp and X-Slack-Signature are required)';
  if (!/^\d{1,12}$/.test(timestamp)) return 'the request timestamp is not a number of seconds';
  if (Math.abs(nowSeconds - Number(timestamp)) > MAX_SKEW_SECONDS) return `the request timestamp is more than ${MAX_SKEW_SECONDS} s from now`;
  const expected = Buffer.from(signSlackRequest(secret, timestamp, body));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return 'the signature does not match';
  return undefined;
}
