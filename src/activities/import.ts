/**
 * The import stage of a pipeline that brings a model trained elsewhere: the uploaded ONNX file is checked
 * against the ingested evaluation data (src/import), stored as it will be served, and recorded as the
 * run's model, so evaluation, approval, deployment and lineage treat it like one trained here.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { ImportedSignature } from '../domain/model-version';
import { DomainError } from '../domain/errors';
import { importOnnxModel } from '../import/import-model';
import { parseCsv } from '../ml/csv';
import { cellText, Table } from '../ml/table';
import type { Task } from '../ml/task';
import { FAILURE_TYPES } from '../workflows/activity-options';
import type { ActivityDeps } from './pipeline';

/** Rows of the evaluation data the graph runs on before it is accepted. */
const SAMPLE_ROWS = 8;

export interface ImportModelInput {
  modelName: string;
  runId: string;
  datasetId: string;
  target: string;
  /** The uploaded file, as stored by the API. */
  onnxDigest: string;
  uploadedBy: string;
  task?: Task;
  features?: Record<string, string | string[]>;
  classes?: string[];
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
    async importModel(input: ImportModelInput): Promise<{ onnxDigest: string; signature: ImportedSignature; params: Record<string, unknown> }> {
      const started = Date.now();
      Context.current().heartbeat({ phase: 'reading' });
      const table = parseCsv((await artifacts.get(input.datasetId)).toString('utf8'));
      let imported;
      try {
        imported = await importOnnxModel({
          bytes: await artifacts.get(input.onnxDigest), target: input.target, task: input.task, features: input.features, classes: input.classes,
          columns: table.columns.map((c) => ({ name: c.name, kind: c.kind === 'number' ? 'number' : 'string' })),
          sample: sampleInstances(table, SAMPLE_ROWS).map(({ [input.target]: _target, ...rest }) => rest),
        });
      } catch (err) {
        if (err instanceof DomainError) throw ApplicationFailure.nonRetryable(err.message, FAILURE_TYPES.model, err.details);
        throw err;
      }
      const onnxDigest = await artifacts.put(imported.bytes);
      const params = { source: 'import', uploadedBy: input.uploadedBy, uploadedDigest: input.onnxDigest, ...(imported.signature.rewrites ? { rewrites: imported.signature.rewrites.map((r) => r.kind) } : {}) };
      await repos.runs.recordTraining({
        runId: input.runId, modelName: input.modelName, task: imported.signature.task ?? 'binary', kind: 'import', datasetId: input.datasetId, seed: 0,
        params, trials: [], onnxDigest, codeVersion: codeVersion ?? null, trainMs: Date.now() - started,
      });
      return { onnxDigest, signature: imported.signature, params };
    },
  };
}

export type ImportActivities = ReturnType<typeof createImportActivities>;
