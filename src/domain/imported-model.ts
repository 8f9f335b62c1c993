/**
 * What the registry keeps about an ONNX model trained elsewhere and imported: how its graph inputs are
 * fed from a table's columns, and which of its outputs hold the answer. Our own graphs have one fixed
 * layout (see ml/onnx-export.ts); an imported graph brings its own, so its signature says what it is.
 */

/** Element types a graph input may take: what a column of numbers or text can be turned into. */
export type ImportedElementType = 'float32' | 'float64' | 'int64' | 'int32' | 'string';

/** How the columns of a graph input were found. */
export type InputMatch =
  /** a single-column input named like its column */
  | 'name'
  /** the import request's `features` map named them */
  | 'features'
  /** an [N, k] input took the k columns left over (neither target nor fed elsewhere), in table order */
  | 'order';

/** One graph input of an imported model and the columns that feed it. */
export interface ImportedInput {
  /** The graph input's name. */
  name: string;
  type: ImportedElementType;
  /** 1: shape [N], one column. 2: shape [N, k], `columns` in the order of the second axis (k may be 1). */
  rank: 1 | 2;
  columns: string[];
  matchedBy: InputMatch;
}

/** Where an imported classifier's class labels were read. */
export type ClassLabelSource =
  /** the ZipMap node's classlabels_strings / classlabels_int64s (the ZipMap itself is dropped, see below) */
  | 'zipmap'
  /** the classlabels_* attribute of the graph's ai.onnx.ml classifier node (LinearClassifier, TreeEnsembleClassifier, ...) */
  | 'classifier-node'
  /** the model's metadata property `classes`, a JSON list */
  | 'metadata'
  /** the import request's `classes` */
  | 'request';

/** Which outputs of an imported graph hold its answer. */
export type ImportedOutputs =
  | {
    kind: 'classifier';
    /** An [N, C] float tensor, columns in the order of the signature's `classes`. */
    probabilities: string;
    /** An [N] or [N, 1] tensor of labels (text or integers), when the graph has one: what the model itself predicts. */
    label?: string;
    classesFrom: ClassLabelSource;
  }
  | {
    kind: 'regressor';
    /** An [N] or [N, 1] float tensor. */
    value: string;
  };

/**
 * A graph change made at import, recorded so a reader of the version knows the stored file is not
 * byte for byte the upload (the upload's own digest is not the version's).
 */
export type GraphRewrite =
  /** onnxruntime-node returns no sequence of maps, so a ZipMap goes and the tensor it read becomes the output. */
  | { kind: 'drop-zipmap'; node: string; removedOutput: string; exposedOutput: string }
  /** A per-row output declared with a fixed first axis gets a free one, so onnxruntime does not warn on every run. */
  | { kind: 'free-batch-axis'; output: string; declared: number };

/** Why a version has no metrics: it came without evaluation data (an MLflow version whose run names none). */
export const UNSCORED = 'not scored: the model came without evaluation data';
