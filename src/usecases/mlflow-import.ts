/**
 * ONNX versions registered through the MLflow client become versions of ours through the same import
 * pipeline as an upload, then approval, then deployment. The run says which data to evaluate them on
 * with two params, `evaluation_dataset` (a dataset id: POST /v1/datasets, `mlops data upload`) and
 * `evaluation_target` (the column the model predicts). A run that names neither is imported unscored:
 * checked and stored, with no metrics, and its approval request says so. Naming only one is a mistake
 * the client reads, and the MLflow version is kept, not imported.
 */
import { DomainError } from '../domain/errors';
import type { ImportOnnxVersion } from '../api/mlflow/onnx-import';
import type { Repositories } from '../store/repositories';
import type { PipelineService } from './pipelines';

export const EVALUATION_DATASET_PARAM = 'evaluation_dataset';
export const EVALUATION_TARGET_PARAM = 'evaluation_target';

export function importMlflowVersions(repos: Pick<Repositories, 'mlflow'>, pipelines: PipelineService): ImportOnnxVersion {
  return async (r) => {
    const run = r.mlflowRunId ? await repos.mlflow.getRun(r.mlflowRunId) : undefined;
    const dataset = run?.params[EVALUATION_DATASET_PARAM];
    const target = run?.params[EVALUATION_TARGET_PARAM];
    if (!dataset !== !target) {
      throw new DomainError('invalid', `to evaluate this ONNX version, log both run params ${EVALUATION_DATASET_PARAM} (a dataset id from POST /v1/datasets or mlops data upload) and ${EVALUATION_TARGET_PARAM} (the column the model predicts), or neither to import it unscored; the version is kept, not imported`);
    }
    const started = await pipelines.start(
      { model: r.model, ...(dataset && target ? { data: { dataset }, target } : {}), import: { onnxDigest: r.onnxDigest, uploadedBy: r.uploadedBy } },
      // a retried registration joins the same run
      { requestedBy: r.uploadedBy, idempotencyKey: `mlflow:${r.model}:${r.mlflowRunId ?? ''}:${r.onnxDigest}` },
    );
    return { workflowId: started.id };
  };
}
