/**
 * An open-loop load generator light enough to share 2 cores with the server it measures: requests are
 * due at an even rate (checked every millisecond), written as prepared bytes on raw keep-alive sockets,
 * and answers are read by their Content-Length without an HTTP client library. Node's http client cost
 * about 150 µs of CPU per request here, enough to put its own queueing into the tail it reports; this
 * costs 40–60 µs, most of it the millisecond timer and the sockets' events.
 *
 * Each request's latency runs from the moment it was due, not from when a connection was free to take
 * it, so a server that falls behind shows it (no coordinated omission). One request at a time per
 * connection, as browsers and autocannon's default send them.
 */
import net from 'node:net';

export interface PacedOptions {
  url: string;
  body: string;
  rate: number;
  seconds: number;
  connections: number;
}

export interface PacedResult {
  /** Milliseconds from due to answered, per 2xx answer. */
  latencies: Float64Array;
  /** When each of those was due, in milliseconds from the start (to see when a server stalled). */
  dueAt: Float64Array;
  ok: number;
  failed: number;
  sent: number;
  elapsedSeconds: number;
}

const HEADER_END = Buffer.from('\r\n\r\n');

export async function pacedLoad(o: PacedOptions): Promise<PacedResult> {
  const url = new URL(o.url);
  const body = Buffer.from(o.body);
  const request = Buffer.concat([
    Buffer.from(`POST ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: keep-alive\r\n\r\n`),
    body,
  ]);
  const latencies = new Float64Array(Math.ceil(o.rate * o.seconds * 1.1) + 16);
  const dueAt = new Float64Array(latencies.length);
  let ok = 0;
  let failed = 0;
  let sent = 0;
  /** Due times of requests waiting for a free connection, oldest first. */
  const waiting: number[] = [];
  let waitingHead = 0;
  const idle: Connection[] = [];
  let t0 = 0;

  class Connection {
    private readonly socket: net.Socket;
    private due = 0;
    private pending: Buffer = Buffer.alloc(0);

    constructor(ready: () => void) {
      this.socket = net.connect({ host: url.hostname, port: Number(url.port) }, ready);
      this.socket.setNoDelay(true);
      this.socket.on('data', (chunk) => this.read(chunk));
      this.socket.on('error', () => { failed++; });
    }

    send(due: number): void {
      this.due = due;
      sent++;
      this.socket.write(request);
    }

    private read(chunk: Buffer): void {
      this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
      const end = this.pending.indexOf(HEADER_END);
      if (end < 0) return;
      const head = this.pending.toString('latin1', 0, end);
      const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
      if (this.pending.length < end + 4 + length) return;
      const status = Number(head.slice(9, 12));
      this.pending = this.pending.subarray(end + 4 + length);
      if (status >= 200 && status < 300) { dueAt[ok] = this.due - t0; latencies[ok++] = performance.now() - this.due; }
      else failed++;
      // the oldest waiting request goes next; otherwise this connection waits for one
      if (waitingHead < waiting.length) this.send(waiting[waitingHead++]);
      else idle.push(this);
    }

    close(): void { this.socket.destroy(); }
  }

  const connections: Connection[] = [];
  await Promise.all(Array.from({ length: o.connections }, () => new Promise<void>((resolve) => { connections.push(new Connection(resolve)); })));
  idle.push(...connections);

  t0 = performance.now();
  let scheduled = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const now = performance.now();
      const elapsed = now - t0;
      // request k is due at k / rate seconds: all with k <= elapsed * rate are due now
      const due = Math.min(Math.floor((elapsed * o.rate) / 1000) + 1, Math.floor(o.rate * o.seconds));
      while (scheduled < due) {
        // the request was due at its own slot, even if this tick ran late
        const at = t0 + (scheduled * 1000) / o.rate;
        scheduled++;
        const free = idle.pop();
        if (free) free.send(at); else waiting.push(at);
      }
      if (elapsed >= o.seconds * 1000) { clearInterval(timer); resolve(); }
    }, 1);
  });
  const elapsedSeconds = (performance.now() - t0) / 1000;
  // let the answers still on their way arrive (up to 10 s)
  for (let waited = 0; ok + failed < scheduled && waited < 10_000; waited += 10) await new Promise((r) => setTimeout(r, 10));
  for (const c of connections) c.close();
  return { latencies: latencies.subarray(0, ok), dueAt: dueAt.subarray(0, ok), ok, failed, sent, elapsedSeconds };
}
