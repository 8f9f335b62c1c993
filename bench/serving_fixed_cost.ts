/**
 * The tail benchmark's yardstick: a bare node:http server that reads and parses the predict body, then
 * burns a fixed CPU time per request and answers a constant. It has no garbage to speak of, no batching,
 * no logging and no store, so its latency against load is what the machine, the kernel's loopback and the
 * load generator allow a single Node thread with that cost per request. Our predict is compared with it
 * at the same shares of each one's own peak; at 0 µs, paced at our predict's own rates, it is the floor
 * under ours (bench/serving_tail.ts, `floor`).
 *
 *   node --import tsx bench/serving_fixed_cost.ts <port> [microseconds per request, default 80]
 */
import http from 'node:http';

const port = Number(process.argv[2]);
const costNs = BigInt(Math.round(Number(process.argv[3] ?? 80) * 1000));
const ANSWER = '{"predictions":[{"id":"01a21d09-5754-76ed-9910-dcbcb4adc315","label":"malignant","probabilities":{"benign":0,"malignant":1}}],"model":{"name":"cancer","version":1}}';

http.createServer((req, res) => {
  if (req.method !== 'POST') { res.end('ok'); return; } // the benchmark's readiness check
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    JSON.parse(Buffer.concat(chunks).toString('utf8'));
    // a busy wait, not a sleep: the cost must occupy the thread as real work would
    const until = process.hrtime.bigint() + costNs;
    while (process.hrtime.bigint() < until);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(ANSWER) });
    res.end(ANSWER);
  });
}).listen(port, '127.0.0.1');
