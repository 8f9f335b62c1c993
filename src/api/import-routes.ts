/**
 * Bringing a model trained elsewhere: POST /v1/models/:name/versions takes an ONNX file and how to
 * evaluate it, checks what can be checked at once (a 400 that says why, before anything is stored or
 * started), and starts a pipeline that imports, evaluates, waits for approval and deploys it like any
 * version trained here. The run is followed at GET /v1/pipelines/:id.
 */
import { z } from 'zod';
import { ApiError } from '../errors';
import { DomainError } from '../domain/errors';
import { checkOnnxFile, importOnnxModel } from '../import/import-model';
import type { ArtifactStore } from '../store/artifacts';
import type { Repositories } from '../store/repositories';
import type { PipelineService } from '../usecases/pipelines';
import { actorOf, checkApprovalMode, SecuredRoutes } from './access';
import { modelName, route } from './http';
import { readMultipart } from './multipart';
import { dataSourceSchema, parseBody, pipelineRequestSchema } from './pipeline-requests';

export const importMetadataSchema = z.strictObject({
  /** The data the model is scored on (its test split), profiled for drift, and smoke-tested with. */
  evaluation: z.union([z.strictObject({ data: dataSourceSchema }), z.strictObject({ dataset: z.string().regex(/^[0-9a-f]{64}$/, 'a dataset id is the 64 hex digits POST /v1/datasets gave') })]),
  target: z.string().min(1),
  task: z.enum(['binary', 'multiclass', 'regression']).optional(),
  positiveClass: z.string().min(1).optional(),
  /** Graph input -> column, or -> the columns of an [N, k] input in order. */
  features: z.record(z.string().min(1), z.union([z.string().min(1), z.array(z.string().min(1)).min(1)])).optional(),
  /** Class labels in the order of the probability columns, for a graph that names none. */
  classes: z.array(z.string()).min(2).optional(),
  /** The graph output to read as probabilities or value, when several could be. */
  output: z.string().min(1).optional(),
  approval: pipelineRequestSchema.shape.approval,
  seed: pipelineRequestSchema.shape.seed,
});

export function importRoutes(routes: SecuredRoutes, deps: { repos: Pick<Repositories, 'datasets' | 'registry'>; artifacts: ArtifactStore; pipelines: PipelineService; maxUploadBytes: number }): void {
  const { repos, artifacts, pipelines } = deps;

  routes.post('/v1/models/:name/versions', 'scientist', route(async (req, res) => {
    const model = modelName(req);
    const body = await readMultipart(req, { files: ['onnx'], fields: ['metadata'], maxFileBytes: deps.maxUploadBytes, maxFieldBytes: 256 * 1024 });
    const bytes = body.files.get('onnx');
    if (!bytes || bytes.length === 0) throw new ApiError('invalid_request', 'the part "onnx" (the model file) is missing or empty');
    const text = body.fields.get('metadata');
    if (text === undefined) throw new ApiError('invalid_request', 'the part "metadata" (JSON: evaluation, target, ...) is missing');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new ApiError('invalid_json', `the part "metadata" is not valid JSON: ${(err as Error).message}`);
    }
    const metadata = parseBody(importMetadataSchema, json);
    checkApprovalMode(res, metadata.approval);
    const data = 'dataset' in metadata.evaluation ? { dataset: metadata.evaluation.dataset } : metadata.evaluation.data;

    // What can be judged now is judged now: a stored evaluation dataset gives the columns, so the whole
    // import is tried; otherwise the file must at least be ONNX that onnxruntime-node loads.
    const stored = 'dataset' in data ? await repos.datasets.getDataset(data.dataset) : undefined;
    if ('dataset' in data && !stored) throw new DomainError('invalid', `dataset version "${data.dataset}" does not exist; upload it with POST /v1/datasets`);
    if (stored) {
      await importOnnxModel({
        bytes, target: metadata.target, task: metadata.task, features: metadata.features, classes: metadata.classes, output: metadata.output,
        columns: stored.columns.map((c) => ({ name: c.name, kind: c.type === 'number' ? 'number' : 'string' })),
      });
    } else {
      await checkOnnxFile(bytes);
    }

    const actor = actorOf(res);
    const onnxDigest = await artifacts.put(bytes);
    const started = await pipelines.start({
      model, data, target: metadata.target, positiveClass: metadata.positiveClass, approval: metadata.approval, seed: metadata.seed,
      import: { onnxDigest, uploadedBy: actor, ...(metadata.task ? { task: metadata.task } : {}), ...(metadata.features ? { features: metadata.features } : {}), ...(metadata.classes ? { classes: metadata.classes } : {}), ...(metadata.output ? { output: metadata.output } : {}) },
    }, { requestedBy: actor, idempotencyKey: req.get('Idempotency-Key') ?? undefined });
    await repos.registry.recordAudit({ key: `${started.id}:import`, actor, action: 'model.import_started', subject: started.id, details: { model, onnxDigest, bytes: bytes.length, target: metadata.target } });
    res.status(202).location(`/v1/pipelines/${started.id}`).json(started);
  }));
}
