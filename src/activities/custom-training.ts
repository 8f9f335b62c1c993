/**
 * Training with a registered trainer: the platform writes the data (the training and validation rows of
 * its own seeded split; the test rows stay held out for its evaluation), runs the admin's command in its
 * own process group with nothing of the worker's environment but PATH, streams its output to a log
 * artifact, and takes back `model.onnx` (and `metrics.json` if written). The model then goes through the
 * import path like any outside model. Runs only on workers that opt in (MLOPS_CUSTOM_TRAINING=on), on
 * their own task queue.
 */
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { canonicalCsvChunks } from '../ml/csv';
import { encodeTarget, splitRows } from '../ml/prepare';
import { Table } from '../ml/table';
import type { Task } from '../ml/task';
import { runTrainerProcess } from '../trainers/process-runner';
import { FAILURE_TYPES } from '../workflows/activity-options';
import { type ActivityDeps, beating, loadDataset } from './pipeline';

export interface CustomTrainingInput {
  trainer: string;
  params?: Record<string, unknown>;
  datasetId: string;
  target: string;
  task: Task;
  positiveClass?: string;
  seed: number;
  runId: string;
}

export interface CustomTrainingOutput {
  /** The model the trainer wrote, as it wrote it (the import stage checks it next). */
  onnxDigest: string;
  /** Everything it printed. */
  logDigest: string;
  /** What it reported in metrics.json (numbers only). */
  metrics: Record<string, number>;
  /** features.json, when written: which column feeds each graph input (or each position of an [N, k] one). */
  features?: Record<string, string | string[]>;
  trainMs: number;
}

/**
 * Writes train.csv and validation.csv: the rows of the platform's own seeded split (the one evaluation
 * holds its test rows out of), as canonical CSV written in chunks.
 */
async function writeSplit(table: Table, input: CustomTrainingInput, dir: string): Promise<{ classes: string[] }> {
  if (!table.columns.some((c) => c.name === input.target)) throw refuse(`the target "${input.target}" is not a column of the data`);
  const { classes, y } = encodeTarget(table, input);
  const split = splitRows(y, input.task, input.seed);
  await pipeline(Readable.from(canonicalCsvChunks(table, split.train)), createWriteStream(path.join(dir, 'train.csv')));
  await pipeline(Readable.from(canonicalCsvChunks(table, split.validation)), createWriteStream(path.join(dir, 'validation.csv')));
  return { classes };
}

/** What a trainer's metrics.json and features.json may add to the run's history. */
const MAX_METRICS = 50;
const MAX_FEATURES_BYTES = 64 * 1024;

const refuse = (message: string, details?: unknown) => ApplicationFailure.nonRetryable(message, FAILURE_TYPES.model, details);

export function createCustomTrainingActivities({ repos, artifacts }: Pick<ActivityDeps, 'repos' | 'artifacts'>) {
  return {
    async trainWithTrainer(input: CustomTrainingInput): Promise<CustomTrainingOutput> {
      const ctx = Context.current();
      const trainer = await repos.trainers.getTrainer(input.trainer);
      if (!trainer) throw refuse(`no trainer is named "${input.trainer}"; an admin registers it (PUT /v1/trainers/${input.trainer})`);
      const workspace = await fs.mkdtemp(path.join(os.tmpdir(), `mlops-trainer-${input.trainer}-`));
      try {
        const inputDir = path.join(workspace, 'input');
        const outputDir = path.join(workspace, 'output');
        await fs.mkdir(inputDir);
        await fs.mkdir(outputDir);
        ctx.heartbeat({ phase: 'writing inputs' });
        const dataset = await repos.datasets.getDataset(input.datasetId);
        if (!dataset) throw refuse(`dataset ${input.datasetId} is not registered`);
        // heartbeats go on while the split is written: a large dataset takes longer than the heartbeat timeout
        const written = await beating({ phase: 'writing inputs' }, writeSplit(await loadDataset({ repos, artifacts }, input.datasetId), input, inputDir));
        await fs.writeFile(path.join(inputDir, 'schema.json'), JSON.stringify({
          columns: dataset.columns,
          target: input.target, task: input.task, ...(input.task === 'regression' ? {} : { classes: written.classes }),
        }, null, 2));
        await fs.writeFile(path.join(inputDir, 'params.json'), JSON.stringify(input.params ?? {}, null, 2));

        const logFile = path.join(workspace, 'trainer.log');
        // a trainer may be silent for minutes: the activity says it is alive whether or not it prints
        let tail: string[] = [];
        const beat = setInterval(() => ctx.heartbeat({ phase: 'training', tail: tail.slice(-5) }), 5_000);
        const outcome = await runTrainerProcess({
          command: trainer.command,
          cwd: trainer.workdir ?? workspace,
          // the worker's own environment (database URLs, keys) is not the trainer's business
          env: { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin', HOME: workspace, LANG: 'C.UTF-8', ...trainer.env, MLOPS_INPUT_DIR: inputDir, MLOPS_OUTPUT_DIR: outputDir },
          timeoutMs: trainer.timeoutSeconds * 1000,
          logFile,
          onProgress: (latest) => { tail = latest; ctx.heartbeat({ phase: 'training', tail: latest.slice(-5) }); },
          signal: ctx.cancellationSignal,
        }).finally(() => clearInterval(beat));
        const logDigest = await artifacts.put(await fs.readFile(logFile));
        const lastLines = outcome.tail.length > 0 ? `; its last lines:\n${outcome.tail.slice(-10).join('\n')}` : '';
        const details = { logDigest, tail: outcome.tail };
        if (outcome.kind === 'cancelled') throw new CancelledFailure(`trainer "${trainer.name}" was stopped: the run was cancelled`);
        if (outcome.kind === 'not_started') throw refuse(`trainer "${trainer.name}" could not start ${JSON.stringify(trainer.command[0])}: ${outcome.reason}`, details);
        if (outcome.kind === 'timed_out') throw refuse(`trainer "${trainer.name}" ran past its time limit of ${trainer.timeoutSeconds} s and was stopped${lastLines}`, details);
        if (outcome.code !== 0) throw refuse(`trainer "${trainer.name}" exited with code ${outcome.code}${lastLines}`, details);
        let onnx: Buffer;
        try {
          onnx = await fs.readFile(path.join(outputDir, 'model.onnx'));
        } catch {
          throw refuse(`trainer "${trainer.name}" exited 0 but wrote no model.onnx in MLOPS_OUTPUT_DIR${lastLines}`, details);
        }
        const metrics: Record<string, number> = {};
        try {
          const reported = JSON.parse(await fs.readFile(path.join(outputDir, 'metrics.json'), 'utf8')) as Record<string, unknown>;
          // the first MAX_METRICS numbers with short names: they travel in the run's history, which has a size limit
          const numbers = Object.entries(reported ?? {}).filter(([name, value]) => typeof value === 'number' && Number.isFinite(value) && name.length <= 100);
          for (const [name, value] of numbers.slice(0, MAX_METRICS)) metrics[name] = value as number;
        } catch {
          // metrics.json is optional, and a malformed one is not worth failing a trained model for
        }
        let features: Record<string, string | string[]> | undefined;
        const featuresFile = path.join(outputDir, 'features.json');
        const featuresBytes = await fs.stat(featuresFile).then((s) => s.size, () => undefined);
        if (featuresBytes !== undefined) {
          // it travels in the run's history too: a map of graph inputs to columns is small, or it is wrong
          if (featuresBytes > MAX_FEATURES_BYTES) throw refuse(`trainer "${trainer.name}" wrote a features.json over ${MAX_FEATURES_BYTES / 1024} KiB: it maps graph inputs to columns, and should be small`, details);
          try {
            features = JSON.parse(await fs.readFile(featuresFile, 'utf8')) as Record<string, string | string[]>;
          } catch (err) {
            throw refuse(`trainer "${trainer.name}" wrote a features.json that is not JSON: ${(err as Error).message}`, details);
          }
        }
        return { onnxDigest: await artifacts.put(onnx), logDigest, metrics, ...(features ? { features } : {}), trainMs: outcome.ms };
      } finally {
        await fs.rm(workspace, { recursive: true, force: true });
      }
    },
  };
}

export type CustomTrainingActivities = ReturnType<typeof createCustomTrainingActivities>;
