/**
 * HTTP(S) requests for data sources that cannot be turned against the server's neighbours. Before each
 * request the URL is checked by the source policy; while connecting, the address the name resolved to
 * is checked again (a DNS answer that changed since the check gains nothing); redirects are followed by
 * hand, at most MAX_REDIRECTS, each one checked like the first. Node's fetch offers no hook at connect
 * time, which is why this speaks node:http directly.
 */
import dns from 'node:dns';
import http, { IncomingMessage } from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { checkAddress, checkUrl, isAllowedHost, portOf, SourcePolicy, SourceRefused } from './source-policy';

export const MAX_REDIRECTS = 5;

export interface GuardedResponse {
  /** The URL that answered, after redirects. */
  url: string;
  status: number;
  header(name: string): string | undefined;
  body: IncomingMessage;
}

/** A lookup that refuses internal addresses for hosts MLOPS_URL_ALLOW does not list. */
function guardedLookup(policy: SourcePolicy, url: URL): LookupFunction {
  return ((hostname: string, options: dns.LookupOptions, callback: (err: Error | null, address: string | dns.LookupAddress[], family?: number) => void) => {
    dns.lookup(hostname, options, (err, address: string | dns.LookupAddress[], family?: number) => {
      if (err) return callback(err, address, family);
      const found = Array.isArray(address) ? address.map((a) => a.address) : [address];
      try {
        for (const a of found) checkAddress(policy, url, a);
      } catch (refused) {
        return callback(refused as Error, address, family);
      }
      callback(null, address, family);
    });
  }) as LookupFunction;
}

function requestOnce(policy: SourcePolicy, url: URL, method: 'GET' | 'HEAD', timeoutMs: number): Promise<IncomingMessage> {
  const client = url.protocol === 'https:' ? https : http;
  const allowed = isAllowedHost(policy, url.hostname, portOf(url));
  return new Promise((resolve, reject) => {
    const request = client.request(url, { method, headers: { accept: '*/*', 'user-agent': 'mlops-temporal' }, ...(allowed ? {} : { lookup: guardedLookup(policy, url) }) }, resolve);
    request.setTimeout(timeoutMs, () => request.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
    request.once('error', reject);
    request.end();
  });
}

/**
 * GETs (or HEADs) a source URL under the policy, following redirects. Refusals are SourceRefused;
 * network failures are ordinary errors (the caller decides whether to retry).
 */
export async function guardedRequest(policy: SourcePolicy, uri: string, o: { method?: 'GET' | 'HEAD'; timeoutMs?: number } = {}): Promise<GuardedResponse> {
  let url = await checkUrl(policy, uri);
  for (let hop = 0; ; hop++) {
    const response = await requestOnce(policy, url, o.method ?? 'GET', o.timeoutMs ?? 120_000);
    const status = response.statusCode ?? 0;
    const location = response.headers.location;
    if (status >= 300 && status < 400 && location) {
      response.resume(); // drop the redirect's own body
      if (hop >= MAX_REDIRECTS) throw new SourceRefused(`${uri} redirects more than ${MAX_REDIRECTS} times`, 'source');
      let next: string;
      try {
        next = new URL(location, url).toString();
      } catch {
        throw new SourceRefused(`${url.origin} redirects to an invalid address`, 'source');
      }
      url = await checkUrl(policy, next);
      continue;
    }
    const header = (name: string) => {
      const v = response.headers[name.toLowerCase()];
      return Array.isArray(v) ? v.join(', ') : v;
    };
    return { url: url.toString(), status, header, body: response };
  }
}
