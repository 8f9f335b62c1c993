/**
 * A small round-robin HTTP load balancer (node:http) in front of API replicas, for the chaos suite.
 *
 * It behaves as a load balancer with passive health checks does: a replica that refuses the connection
 * (nothing was sent to it) is skipped and the request goes to the next one; a replica that fails after
 * the request was sent to it (killed mid-request) gets a 502 answer, because the request may have had its
 * effect and only the client can decide to repeat it. Each such failure is recorded with its replica and
 * when the request was sent, so a test can tell the requests in flight at a killed replica from any other
 * failure. Every answer says which replica gave it (x-upstream).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxyFailure {
  upstream: string;
  method: string;
  path: string;
  /** When the proxy sent the request on (ms since the epoch), and when it failed. */
  sentAt: number;
  failedAt: number;
  error: string;
}

export interface RoundRobinProxy {
  url: string;
  /** Requests sent to this replica and not yet answered (those whose path `matches`, if given). */
  inFlight(upstream: string, matches?: RegExp): number;
  /** Requests that failed at a replica after they were sent to it. */
  readonly failures: ProxyFailure[];
  close(): Promise<void>;
}

/** Errors that mean the connection was never made, so the request did not reach the replica. */
const NOT_SENT = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH']);

export async function startRoundRobinProxy(upstreams: string[], o: { port?: number } = {}): Promise<RoundRobinProxy> {
  let next = 0;
  const open = new Set<{ upstream: string; path: string }>();
  const failures: ProxyFailure[] = [];

  /** Sends the request to `order[0]`; if it refuses the connection, to the next replica in `order`. */
  const forward = (req: http.IncomingMessage, body: Buffer, res: http.ServerResponse, order: string[]) => {
    const [upstream, ...rest] = order;
    const sentAt = Date.now();
    const target = new URL(req.url ?? '/', upstream);
    // one connection per request (no keep-alive): a reused socket to a replica that died in between would
    // fail like a request in flight, though it was sent after the death
    const out = http.request(target, { method: req.method, headers: { ...req.headers, host: target.host, connection: 'close' }, agent: false });
    const request = { upstream, path: req.url ?? '' };
    open.add(request);
    const settle = () => open.delete(request);
    out.on('response', (answer) => {
      res.writeHead(answer.statusCode ?? 502, { ...answer.headers, 'x-upstream': upstream });
      answer.pipe(res);
      answer.on('end', settle);
      answer.on('error', (err) => { settle(); failures.push({ upstream, method: req.method ?? '', path: req.url ?? '', sentAt, failedAt: Date.now(), error: err.message }); res.destroy(); });
    });
    out.on('error', (err: NodeJS.ErrnoException) => {
      settle();
      if (res.headersSent) return;
      if (NOT_SENT.has(err.code ?? '') && rest.length > 0) { forward(req, body, res, rest); return; }
      failures.push({ upstream, method: req.method ?? '', path: req.url ?? '', sentAt, failedAt: Date.now(), error: err.code ?? err.message });
      res.writeHead(502, { 'content-type': 'application/json', 'x-upstream': upstream });
      res.end(JSON.stringify({ error: { code: 'bad_gateway', message: `the replica ${upstream} failed: ${err.code ?? err.message}` } }));
    });
    out.end(body);
  };

  const server = http.createServer((req, res) => {
    // bodies here are small JSON documents: buffered, so a refused connection can be retried elsewhere
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    // this request's turn in the rotation, then the others in order (each tried at most once)
    const first = next++ % upstreams.length;
    const order = [...upstreams.slice(first), ...upstreams.slice(0, first)];
    req.on('end', () => forward(req, Buffer.concat(chunks), res, order));
  });
  await new Promise<void>((resolve) => server.listen(o.port ?? 0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    inFlight: (upstream, matches) => [...open].filter((r) => r.upstream === upstream && (!matches || matches.test(r.path))).length,
    failures,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
