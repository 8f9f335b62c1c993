/**
 * The import stage of a pipeline that brings a model trained elsewhere: the uploaded ONNX file is checked
 * against the ingested evaluation data (src/import), stored as it will be served, and recorded as the
 * run's model, so evaluation, approval, deployment and lineage treat it like one trained here.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { ImportedSignature } from '../domain/model-version';
import { UNSCORED } from '../domain/imported-model';
import { DomainError } from '../domain/errors';
import { importOnnxModel } from '../import/import-model';
import { cellText, Table } from '../ml/table';
import type { Task } from '../ml/task';
import { FAILURE_TYPES } from '../workflows/activity-options';
import { smokeSampleOf } from '../serving/smoke';
import { type ActivityDeps, loadDataset } from './pipeline';

/** Rows of the evaluation data the graph runs on before it is accepted. */
const SAMPLE_ROWS = 8;

export interface ImportModelInput {
  modelName: string;
  runId: string;
  /** The evaluation data; absent for a model that comes without it (imported unscored). */
  datasetId?: string;
  target?: string;
  /** The uploaded file, as stored by the API. */
  onnxDigest: string;
  uploadedBy: string;
  task?: Task;
  features?: Record<string, string | string[]>;
  classes?: string[];
  output?: string;
}

/** Rows of numbers 0 and empty text, as the import's trial run used, for a model that comes without data. */
function madeUpInstances(signature: ImportedSignature): Record<string, number | string>[] {
  const text = new Set(signature.categorical);
  const row = Object.fromEntries(signature.features.map((f) => [f, text.has(f) ? '' : 0]));
  return [row, { ...row }];
}

/** The first rows of a table as the instances a client would send (null where missing). */
function sampleInstances(table: Table, count: number): Record<string, number | string | null>[] {
  return Array.from({ length: Math.min(count, table.rowCount) }, (_, r) => Object.fromEntries(table.columns.map((c) => {
    if (c.kind === 'number') return [c.name, Number.isNaN(c.values[r]) ? null : c.values[r]];
    return [c.name, cellText(c, r)];
  })));
}

export function createImportActivities({ repos, artifacts, codeVersion }: ActivityDeps) {
  return {
    /** Checks and stores an uploaded model; refusals are final (the same file fails the same way). */
    async importModel(input: ImportModelInput): Promise<{ onnxDigest: string; signature: ImportedSignature; params: Record<string, unknown>; smokeDigest?: string; unscored?: string }> {
      const started = Date.now();
      Context.current().heartbeat({ phase: 'reading' });
      // the columns and their types, and a few rows to run the graph on: the first rows, not the whole data
      const table = input.datasetId ? await loadDataset({ repos, artifacts }, input.datasetId, { limit: SAMPLE_ROWS }) : undefined;
      let imported;
      try {
        imported = await importOnnxModel({
          bytes: await artifacts.get(input.onnxDigest), target: input.target, task: input.task, features: input.features, classes: input.classes, output: input.output,
          ...(table ? {
            columns: table.columns.map((c) => ({ name: c.name, kind: c.kind === 'number' ? 'number' as const : 'string' as const })),
            sample: sampleInstances(table, SAMPLE_ROWS).map(({ [input.target ?? '']: _target, ...rest }) => rest),
          } : {}),
        });
      } catch (err) {
        if (err instanceof DomainError) throw ApplicationFailure.nonRetryable(err.message, FAILURE_TYPES.model, err.details);
        throw err;
      }
      const onnxDigest = await artifacts.put(imported.bytes);
      const params = {
        source: 'import', uploadedBy: input.uploadedBy, uploadedDigest: input.onnxDigest,
        ...(imported.signature.rewrites ? { rewrites: imported.signature.rewrites.map((r) => r.kind) } : {}),
        ...(table ? {} : { evaluation: UNSCORED }),
      };
      await repos.runs.recordTraining({
        runId: input.runId, modelName: input.modelName, task: imported.signature.task ?? 'binary', kind: 'import', datasetId: input.datasetId ?? null, seed: 0,
        params, trials: [], onnxDigest, codeVersion: codeVersion ?? null, trainMs: Date.now() - started,
      });
      // With no test rows to take a smoke set from, the made-up rows the import ran stand in: a replica then
      // still checks that the file it loads answers them as the import saw.
      const smokeDigest = table ? undefined : await artifacts.put(Buffer.from(JSON.stringify(await smokeSampleOf(imported.bytes, imported.signature, madeUpInstances(imported.signature)))));
      return { onnxDigest, signature: imported.signature, params, ...(smokeDigest ? { smokeDigest, unscored: UNSCORED } : {}) };
    },
  };
}

export type ImportActivities = ReturnType<typeof createImportActivities>;
