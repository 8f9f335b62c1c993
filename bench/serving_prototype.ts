/**
 * The floor for bench/serving.ts: the smallest Express + onnxruntime-node server one could write, with
 * no validation beyond types, no routing, logging or metrics. It parses the same body as our predict
 * route, runs the same ONNX file and answers the class probabilities. Started by bench/serving.ts in its
 * own process:
 *
 *   node --import tsx bench/serving_prototype.ts <port> <model.onnx> <feature,feature,...>
 */
import fs from 'node:fs';
import express from 'express';
import * as ort from 'onnxruntime-node';

const [port, file, featureList] = [Number(process.argv[2]), process.argv[3], process.argv[4]];
const features = featureList.split(',');

async function main(): Promise<void> {
  const session = await ort.InferenceSession.create(fs.readFileSync(file), { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const [input] = session.inputNames;
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '2mb' }));
  app.get('/healthz', (_req, res) => { res.json({ status: 'ok' }); });
  app.post('/v1/models/:name/predict', async (req, res) => {
    const rows = (req.body as { instances: Record<string, number>[] }).instances;
    const data = new Float32Array(rows.length * features.length);
    rows.forEach((row, i) => features.forEach((f, j) => { data[i * features.length + j] = row[f]; }));
    const out = await session.run({ [input]: new ort.Tensor('float32', data, [rows.length, features.length]) });
    const p = out.probabilities.data as Float32Array;
    const width = p.length / rows.length;
    res.json({ predictions: rows.map((_, i) => Array.from(p.subarray(i * width, (i + 1) * width))) });
  });
  const server = app.listen(port, '127.0.0.1', () => { process.stdout.write(`listening on http://127.0.0.1:${port}\n`); });
  const stop = () => { server.closeAllConnections(); server.close(() => process.exit(0)); };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

void main();
