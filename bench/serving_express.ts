/**
 * The HTTP ceiling for bench/serving.ts: bare Express parsing the same JSON body as our predict route and
 * answering a constant. Started by bench/serving.ts in its own process:
 *
 *   node --import tsx bench/serving_express.ts <port>
 */
import express from 'express';

const port = Number(process.argv[2]);
const app = express();
app.disable('x-powered-by');
app.use(express.json({ limit: '2mb' }));
app.get('/healthz', (_req, res) => { res.json({ status: 'ok' }); });
app.post('/v1/models/:name/predict', (_req, res) => { res.json({ ok: true }); });
const server = app.listen(port, '127.0.0.1', () => { process.stdout.write(`listening on http://127.0.0.1:${port}\n`); });
const stop = () => { server.closeAllConnections(); server.close(() => process.exit(0)); };
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
