import fs from 'node:fs';
import { pacedLoad } from './paced-load';
async function main() {
  const body = fs.readFileSync('/tmp/dev/body.json', 'utf8').trim();
  const rate = Number(process.env.RATE ?? 3000);
  for (const port of (process.env.PORTS ?? '').split(',')) {
    await pacedLoad({ url: `http://127.0.0.1:${port}/v1/models/cancer/predict`, body, rate: 1000, seconds: 2, connections: 16 });
    const r = await pacedLoad({ url: `http://127.0.0.1:${port}/v1/models/cancer/predict`, body, rate, seconds: Number(process.env.S ?? 8), connections: 16 });
    const l = Float64Array.from(r.latencies).sort();
    const q = (p: number) => l[Math.min(l.length - 1, Math.floor(p * l.length))].toFixed(2);
    console.log(`port ${port} rate ${rate}: p50 ${q(0.5)} p90 ${q(0.9)} p99 ${q(0.99)} max ${l[l.length - 1].toFixed(1)}`);
  }
}
void main();
