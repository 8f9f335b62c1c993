/** A stand-in for Slack's Web API over real HTTP, and button presses signed as Slack signs them. */
import http from 'node:http';
import { APPROVE_ACTION } from '../../src/slack/approval-messages';
import { signSlackRequest } from '../../src/slack/signature';

export interface SlackStandIn {
  /** The base URL to set as SLACK_API_URL. */
  url: string;
  /** Every Web API call received, in order, with the ts it was answered with. */
  calls: { method: string; body: Record<string, any>; ts: string }[];
  /** Holds every call of `method` unanswered until the function returned is called; the calls are answered then. */
  hold(method: string): () => void;
  /** Calls that arrived and are held, unanswered. */
  held: string[];
  /** Answers every call of `method` with Slack's refusal `{ok: false, error}` until the function returned is called. */
  refuse(method: string, error: string): () => void;
  close(): Promise<void>;
}

/** Slack's Web API as far as the platform uses it, recording every call and answering as slowly as Slack can (latencyMs). */
export async function slackStandIn(o: { latencyMs?: number } = {}): Promise<SlackStandIn> {
  const latencyMs = o.latencyMs ?? 300;
  const calls: SlackStandIn['calls'] = [];
  let ts = 1_700_000_000;
  const holding = new Map<string, (() => void)[]>();
  const held: string[] = [];
  const refusing = new Map<string, string>();
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => { raw += c; });
    req.on('end', () => {
      const body: Record<string, any> = (req.headers['content-type'] ?? '').includes('json') ? JSON.parse(raw) : Object.fromEntries(new URLSearchParams(raw));
      for (const k of ['blocks']) if (typeof body[k] === 'string') body[k] = JSON.parse(body[k]);
      const method = String(req.url).replace(/^\/api\//, '');
      const answered = body.ts ?? `${ts++}.000100`;
      res.setHeader('content-type', 'application/json');
      // A real round trip to Slack takes a few hundred ms, and a message counts as posted once Slack has
      // answered: what the tests read from the run must not depend on Slack being quicker.
      const refusal = refusing.get(method);
      const answer = () => setTimeout(() => {
        if (refusal) { res.end(JSON.stringify({ ok: false, error: refusal })); return; }
        calls.push({ method, body, ts: answered });
        res.end(JSON.stringify({ ok: true, channel: body.channel ?? 'C1', ts: answered }));
      }, latencyMs);
      const queue = holding.get(method);
      if (queue) {
        held.push(method);
        queue.push(() => { held.splice(held.indexOf(method), 1); answer(); });
      } else {
        answer();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const hold = (method: string) => {
    holding.set(method, []);
    return () => { const queue = holding.get(method) ?? []; holding.delete(method); for (const release of queue) release(); };
  };
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/api/`, calls, hold, held, refuse: (method, error) => { refusing.set(method, error); return () => refusing.delete(method); }, close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

/** A button press as Slack sends it: form data with a JSON payload, signed with the signing secret. */
export function buttonPress(o: { user: string; runId: string; secret: string; action?: string; timestamp?: number }): { raw: string; headers: Record<string, string> } {
  const payload = { type: 'block_actions', user: { id: o.user }, channel: { id: 'C-APPROVALS' }, actions: [{ action_id: o.action ?? APPROVE_ACTION, value: o.runId }] };
  const raw = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  const timestamp = String(o.timestamp ?? Math.floor(Date.now() / 1000));
  return { raw, headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': timestamp, 'x-slack-signature': signSlackRequest(o.secret, timestamp, raw) } };
}
