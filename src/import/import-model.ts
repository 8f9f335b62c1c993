/**
 * Importing an ONNX model trained elsewhere: from the uploaded bytes and the evaluation data's columns
 * to the file to store and the signature it is served by, or a refusal (OnnxImportError, a 400) that
 * says what is wrong. After this the model goes through the same stages as one trained here:
 * evaluation scores the stored file, the smoke test replays its rows, approval, deployment.
 *
 * The order of the checks is the order of the questions: is it ONNX at all; can it be made readable by
 * onnxruntime-node (a ZipMap dropped, see zipmap.ts); does onnxruntime-node load it (unknown operators
 * and opsets are found by loading, not by a list of ours that would drift from the runtime's); can rows
 * feed its inputs; does it run on them; and can its outputs be read as an answer.
 */
import type { onnx } from 'onnx-proto';
import { DomainError } from '../domain/errors';
import type { ImportedSignature } from '../domain/model-version';
import type { Task } from '../ml/task';
import { checkImportedInstances, columnKinds, ImportedLayout, importedFeeds } from '../serving/imported-feeds';
import { createSession, RawOutput, Session } from '../serving/onnx-runner';
import { freeBatchAxes } from './batch-axis';
import { OnnxImportError } from './import-error';
import { ColumnInfo, columnsFromGraph, FeatureMap, matchInputs } from './inputs';
import { readOnnxModel } from './onnx-file';
import { graphClassLabels, readOutputs } from './outputs';
import { DroppedZipMap, dropZipMaps } from './zipmap';

export interface ImportRequest {
  /** The uploaded file. */
  bytes: Uint8Array;
  /** The column the model predicts, in the evaluation data (absent with the data). */
  target?: string;
  /**
   * The evaluation data's columns (target included) and whether each holds numbers or text. Absent for a
   * model that comes without evaluation data: the columns are then read from the graph (columnsFromGraph).
   */
  columns?: readonly ColumnInfo[];
  /** binary, multiclass or regression; found from the outputs when absent, refused when they disagree. */
  task?: Task;
  /** Graph input -> column, or -> the columns of an [N, k] input in order; inputs not named are matched by name, then by order. */
  features?: FeatureMap;
  /** Class labels in the order of the probability columns, for a graph that names none. */
  classes?: string[];
  /** The output to read as probabilities or value, when several could be. */
  output?: string;
  /**
   * A few rows of the evaluation data as JSON instances (as predict takes them): the graph is run on
   * them before it is accepted. Without them, two made-up rows (numbers 0, text empty) are used.
   */
  sample?: readonly Record<string, unknown>[];
}

export interface ImportedModel {
  /** The file to store and serve: the upload itself, or the upload edited where onnxruntime-node needs it (then `signature.rewrites` says how). */
  bytes: Uint8Array;
  signature: ImportedSignature;
}

/** How many made-up rows the trial run takes when the request brings none. */
const TRIAL_ROWS = 2;

/** Checks an uploaded ONNX file against the evaluation data and describes how to feed and read it. */
export async function importOnnxModel(request: ImportRequest): Promise<ImportedModel> {
  if (request.columns && (request.target === undefined || !request.columns.some((c) => c.name === request.target))) {
    throw new DomainError('invalid', `the target "${request.target ?? ''}" is not a column of the evaluation data (its columns: ${request.columns.map((c) => c.name).join(', ')})`);
  }
  const uploaded = readOnnxModel(request.bytes);
  const withoutZipMap = dropZipMaps(request.bytes, uploaded);
  const session = await load(withoutZipMap.bytes, withoutZipMap.model);
  let found;
  try {
    const columns = request.columns ?? columnsFromGraph(session.inputMetadata, request.features);
    found = readGraph(session, { ...request, columns }, new Map(columns.map((c) => [c.name, c.kind])), withoutZipMap.model, withoutZipMap.dropped);
  } finally {
    await session.release();
  }
  const freed = freeBatchAxes(withoutZipMap.bytes, withoutZipMap.model, found.trial, found.rows);
  // an edited file is loaded once more: what is stored must be what was checked
  if (freed.bytes !== withoutZipMap.bytes) await (await load(freed.bytes, freed.model)).release();
  const rewrites = [...withoutZipMap.dropped.map((d) => d.rewrite), ...freed.rewrites];
  return { bytes: freed.bytes, signature: { ...found.signature, ...(rewrites.length > 0 ? { rewrites } : {}) } };
}

/**
 * The checks that need no data: an ONNX file that onnxruntime-node loads (after the same ZipMap rewrite
 * the import makes). Refuses like the import does; used where the evaluation data is not read yet.
 */
export async function checkOnnxFile(bytes: Uint8Array): Promise<void> {
  const uploaded = readOnnxModel(bytes);
  const withoutZipMap = dropZipMaps(bytes, uploaded);
  await (await load(withoutZipMap.bytes, withoutZipMap.model)).release();
}

/** The signature of a loaded graph: its inputs matched with the columns, a trial run, its outputs read. */
function readGraph(session: Session, request: ImportRequest & { columns: readonly ColumnInfo[] }, kinds: Map<string, 'number' | 'string'>, model: onnx.IModelProto, dropped: DroppedZipMap[]): { signature: ImportedSignature; trial: Record<string, RawOutput>; rows: number } {
  const inputs = matchInputs(session.inputMetadata, { columns: request.columns, target: request.target, features: request.features });
  const notTensors = session.outputMetadata.filter((o) => !o.isTensor).map((o) => `"${o.name}"`);
  if (notTensors.length > 0) {
    throw new OnnxImportError('unreadable_output', `output${notTensors.length === 1 ? '' : 's'} ${notTensors.join(', ')} ${notTensors.length === 1 ? 'is' : 'are'} a sequence or map, which onnxruntime-node cannot return (only a ZipMap that writes a graph output is dropped at import): export tensor outputs`);
  }
  const { features, numeric, categorical } = columnKinds(inputs);
  const unused = request.columns.map((c) => c.name).filter((c) => !features.includes(c));
  const layout: ImportedLayout = { inputs, unused };
  const { trial, rows } = runTrial(session, layout, request, kinds);
  const { outputs, classes, task } = readOutputs({
    trial, rows, task: request.task, output: request.output, classes: request.classes, graphLabels: graphClassLabels(model, dropped),
  });
  const signature: ImportedSignature = {
    source: 'import',
    task,
    features,
    numeric,
    categorical,
    classes,
    output: outputs.kind === 'classifier' ? outputs.probabilities : outputs.value,
    unused,
    inputs,
    outputs,
  };
  return { signature, trial, rows };
}

/** Opens the file in onnxruntime-node, or refuses it with the runtime's own reason. */
async function load(bytes: Uint8Array, model: onnx.IModelProto): Promise<Session> {
  try {
    return await createSession(bytes);
  } catch (err) {
    const opsets = (model.opsetImport ?? []).map((o) => `${o.domain || 'ai.onnx'} ${String(o.version)}`);
    const reason = (err as Error).message.split('\n')[0].replace(/^Load model from \S+ failed:/, '').trim();
    throw new OnnxImportError('cannot_load', `onnxruntime-node cannot load the model: ${reason} (the file declares IR version ${String(model.irVersion)} and the opsets ${[...new Set(opsets)].join(', ') || 'none'}; an operator or opset the runtime does not implement must be exported differently, e.g. with a lower target_opset)`, { runtimeError: reason });
  }
}

/** Runs the graph once on the sample rows (or made-up ones) through the serving path; refuses a graph that fails. */
function runTrial(session: Session, layout: ImportedLayout, request: ImportRequest, kinds: Map<string, 'number' | 'string'>): { trial: Record<string, RawOutput>; rows: number } {
  const made = Array.from({ length: TRIAL_ROWS }, () => Object.fromEntries(layout.inputs.flatMap((i) => i.columns).map((c) => [c, kinds.get(c) === 'number' ? 0 : ''])));
  const sample = request.sample ?? [];
  // at least two rows, so an output that gives one value per row shows as such and not as a constant
  const instances = sample.length === 0 ? made : sample.length === 1 ? [sample[0], sample[0]] : sample;
  const source = sample.length > 0 ? 'the sample rows' : 'made-up rows (numbers 0, text empty)';
  let data;
  try {
    data = checkImportedInstances(instances, layout, instances.length);
  } catch (err) {
    throw new OnnxImportError('cannot_run', `${source} cannot be fed to the graph: ${(err as Error).message}`);
  }
  try {
    return { trial: session.run(importedFeeds(layout.inputs, data)), rows: data.rows };
  } catch (err) {
    const inputs = layout.inputs.map((i) => `${i.name} (${i.type}, ${i.columns.length} column${i.columns.length === 1 ? '' : 's'})`).join(', ');
    throw new OnnxImportError('cannot_run', `the graph loads but fails on ${source}: ${(err as Error).message.split('\n')[0]} (fed as ${inputs})`);
  }
}
