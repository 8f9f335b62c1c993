/**
 * What no log line may show, masked in two ways. Objects handed to the logger lose the fields that carry
 * secrets or people's data by name (REDACTED_PATHS: headers, bodies, instances, passwords); and every
 * finished line, whatever built it (an error message, a Temporal log, a stack trace), loses the configured
 * secret values and anything shaped like a credential (maskSecrets). The first is cheap and structural; the
 * second catches what the first cannot name.
 */

/** What a masked value becomes. */
export const MASK = '[redacted]';

/**
 * Object paths pino removes before serialising (its `redact` option). Our own lines never put these
 * fields in; the list is the guard for the day someone logs a request, its headers or its body whole.
 * Exact paths only: a wildcard (`*.password`) makes pino visit every field of every line, which tripled
 * the cost of a request's line (bench/RESULTS.md); maskSecrets below is the net for the rest.
 */
export const REDACTED_PATHS = [
  'authorization', 'headers.authorization', 'req.headers.authorization', 'request.headers.authorization',
  'cookie', 'headers.cookie', 'req.headers.cookie', 'request.headers.cookie',
  '["x-api-key"]', 'headers["x-api-key"]', 'req.headers["x-api-key"]', 'request.headers["x-api-key"]',
  'headers["x-slack-signature"]', 'req.headers["x-slack-signature"]',
  'password', 'secret', 'token', 'signingSecret', 'botToken', 'routingKey', 'databaseUrl', 'connectionString',
  'slack.signingSecret', 'slack.botToken', 'config.slack.signingSecret', 'config.slack.botToken',
  // what a caller sent: predict instances, and any request or response body
  'body', 'req.body', 'request.body', 'res.body', 'response.body', 'instances', 'body.instances', 'payload', 'req.payload',
];

/**
 * Shapes of credentials, masked wherever they appear in a line: the password of a URL
 * (postgres://user:pw@host), an HTTP credential after its scheme (Authorization: Bearer ..., Basic ...),
 * an x-api-key header's value, the platform's API keys (mlk_<id>_<secret>: the id stays, it names the
 * key), and Slack tokens (xoxb-..., xoxp-...).
 */
const CREDENTIAL_SHAPES: [RegExp, string][] = [
  [/([a-z][a-z0-9+.-]*:\/\/[^\s:/?#@"'\\]*):[^\s/?#@"'\\]*@/gi, `$1:${MASK}@`],
  [/\b(Bearer|Basic)(\s+|\\u0020)[A-Za-z0-9._~+/=-]+/gi, `$1 ${MASK}`],
  [/(x-api-key"?\s*[:=]\s*"?)[^\s",}]+/gi, `$1${MASK}`],
  [/\b(mlk_[A-Za-z0-9]+_)[A-Za-z0-9_-]{16,}/g, `$1${MASK}`],
  [/\bxox[abposr]-[A-Za-z0-9-]{8,}/g, MASK],
];

/** Cheap tests that say a line may hold a credential shape at all; most lines hold none and skip the regexes. */
const MAY_HOLD_SHAPE = /:\/\/|earer|asic|x-api-key|mlk_|xox/i;

/**
 * A function that masks, in one serialised line, every configured secret value (also as JSON escapes it)
 * and every credential shape. Lines without any come back as they were, after a few substring scans.
 */
export function maskSecrets(secrets: readonly string[]): (line: string) => string {
  const values = [...new Set(secrets.flatMap((s) => [s, JSON.stringify(s).slice(1, -1)]).filter((s) => s.length > 0))]
    // longest first, so a secret that contains another is masked whole
    .sort((a, b) => b.length - a.length);
  return (line) => {
    let out = line;
    for (const value of values) if (out.includes(value)) out = out.split(value).join(MASK);
    if (MAY_HOLD_SHAPE.test(out)) for (const [shape, replacement] of CREDENTIAL_SHAPES) out = out.replace(shape, replacement);
    return out;
  };
}
