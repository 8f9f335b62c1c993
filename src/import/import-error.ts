/**
 * Why an ONNX file is refused at import. A refusal is the uploader's to fix (a 400 through the API's
 * one mapping of domain errors), so its message says what is wrong with the file and, where there is
 * one, what to change.
 */
import { DomainError } from '../domain/errors';

export type ImportRefusalReason =
  /** the bytes are no ONNX ModelProto (another format, corrupt, or a model without a graph) */
  | 'not_onnx'
  /** onnxruntime-node cannot load it: an operator or opset it does not implement, an invalid graph */
  | 'cannot_load'
  /** a graph input of a kind rows cannot feed (an image tensor, a fixed batch size, an element type such as float16) */
  | 'unsupported_input'
  /** a graph input matches no column of the evaluation data, or the `features` map names what is not there */
  | 'unmatched_input'
  /** no output reads as labels with probabilities, or as a value */
  | 'unreadable_output'
  /** the task asked for is not what the graph computes */
  | 'task_mismatch'
  /** the graph loads but fails on rows of the evaluation data */
  | 'cannot_run';

export class OnnxImportError extends DomainError {
  constructor(readonly reason: ImportRefusalReason, message: string, details: Record<string, unknown> = {}) {
    super('invalid', message, { reason, ...details });
  }
}
