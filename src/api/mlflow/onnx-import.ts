/**
 * The seam between the MLflow registry and the platform's ONNX import. When a registered MLflow version
 * holds an ONNX flavour, the MLflow routes hand its file (by digest, already in the artifact store) to
 * `ImportOnnxVersion`, which the composition root provides: the import workflow (evaluation when there is
 * data, the approval request, deployment once approved) lives behind it, not here. The version of the
 * platform it registers has the workflow id as its run id; that is how the MLflow record finds it again.
 */
import { DomainError } from '../../domain/errors';

export interface OnnxImportRequest {
  /** The platform model the version joins: the MLflow registered model's name. */
  model: string;
  /** sha256 of the ONNX file, stored in the artifact store. */
  onnxDigest: string;
  /** The MLflow run the model was logged from, when it came from one. */
  mlflowRunId?: string;
  /** Who registered it: the API key's name. */
  uploadedBy: string;
  /**
   * Evaluation data for scoring the model. An MLflow registration brings none, so the import skips
   * scoring and says so in its approval request.
   */
  evaluation?: undefined;
}

/** Starts the import of an ONNX model version; answers with the id of the workflow that waits for its approval. */
export type ImportOnnxVersion = (request: OnnxImportRequest) => Promise<{ workflowId: string }>;

/**
 * What a composition root without the import workflow passes: the MLflow version is kept and reported
 * as not imported (FAILED_REGISTRATION with this reason), rather than pretending it waits for approval.
 */
export const importWorkflowMissing: ImportOnnxVersion = () =>
  Promise.reject(new DomainError('unavailable', 'this server has no ONNX import workflow (POST /v1/models/:name/versions); the version is stored but cannot be imported for approval'));
