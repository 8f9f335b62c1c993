/**
 * Finds which outputs of an imported graph hold its answer, from what a trial run on a few rows gave
 * back (shapes and element types as onnxruntime computed them: converters often declare output shapes
 * loosely, onnxmltools for one declares its label output as [1]):
 *   labels:        string, int64 or int32, one per row;
 *   probabilities: float32 or float64, [N, C] with C >= 2, rows in [0, 1] summing to 1;
 *   a value:       float32 or float64, one per row (regression).
 * Class labels, in the order of the probability columns, come from the graph where it names them (a
 * ZipMap, an ai.onnx.ml classifier node, a `classes` metadata property) or else from the request.
 */
import type { onnx } from 'onnx-proto';
import type { ClassLabelSource, ImportedOutputs } from '../domain/imported-model';
import { MAX_CLASSES, Task } from '../ml/task';
import { labelsOf } from '../serving/imported-outputs';
import type { RawOutput } from '../serving/onnx-runner';
import { OnnxImportError } from './import-error';
import { classLabelsOf, DroppedZipMap, ML_DOMAIN } from './zipmap';

/** How far a trial row's probabilities may stray from [0, 1] and from summing to 1 (float32 rounding). */
const PROBABILITY_SLACK = 1e-3;

/** Labels the graph itself names, by where they were found. */
export interface GraphClassLabels {
  /** Per exposed tensor, the labels of the ZipMap that was dropped in front of it. */
  zipmap: Map<string, string[]>;
  /** The labels of the graph's classifier node(s), when they all agree. */
  classifierNode?: string[];
  /** The metadata property `classes`. */
  metadata?: string[];
}

/** What the graph says about class labels, before outputs are read. */
export function graphClassLabels(model: onnx.IModelProto, dropped: DroppedZipMap[]): GraphClassLabels {
  const zipmap = new Map(dropped.map((d) => [d.rewrite.exposedOutput, d.classes]));
  const lists = (model.graph?.node ?? []).filter((n) => n.domain === ML_DOMAIN && n.opType !== 'ZipMap').map(classLabelsOf).filter((l): l is string[] => l !== undefined);
  const distinct = [...new Set(lists.map((l) => JSON.stringify(l)))];
  const found: GraphClassLabels = { zipmap };
  if (distinct.length === 1) found.classifierNode = JSON.parse(distinct[0]) as string[];
  const property = (model.metadataProps ?? []).find((p) => p.key === 'classes');
  if (property) {
    let parsed: unknown;
    try { parsed = JSON.parse(property.value ?? ''); } catch { parsed = undefined; }
    if (!Array.isArray(parsed) || parsed.length === 0 || parsed.some((c) => typeof c !== 'string' && typeof c !== 'number')) {
      throw new OnnxImportError('unreadable_output', `the model's metadata property "classes" must be a JSON list of class labels, got ${JSON.stringify(property.value).slice(0, 80)}`);
    }
    found.metadata = parsed.map(String);
  }
  return found;
}

interface Candidate {
  name: string;
  type: string;
  /** Values per row. */
  width: number;
  rank: number;
  tensor: RawOutput;
}

const LABEL_TYPES = new Set(['string', 'int64', 'int32']);
const FLOAT_TYPES = new Set(['float32', 'float64']);

/** One output among several of a kind: the one `prefer` names, else none (ambiguous). */
function pickOne(candidates: Candidate[], prefer: RegExp): Candidate | undefined {
  if (candidates.length <= 1) return candidates[0];
  const named = candidates.filter((c) => prefer.test(c.name));
  return named.length === 1 ? named[0] : undefined;
}

export interface OutputRequest {
  /** The trial run's outputs (every graph output, all tensors). */
  trial: Record<string, RawOutput>;
  rows: number;
  task?: Task;
  /** The output to read as probabilities or value, when the request names one. */
  output?: string;
  /** Class labels sent with the request, for graphs that name none. */
  classes?: string[];
  graphLabels: GraphClassLabels;
}

/** Which outputs hold the answer, with the class labels and the task; refuses outputs that cannot be read. */
export function readOutputs(o: OutputRequest): { outputs: ImportedOutputs; classes: string[]; task: Task } {
  const all: Candidate[] = Object.entries(o.trial).map(([name, tensor]) => ({
    name, type: tensor.type, rank: tensor.dims.length, tensor,
    width: tensor.dims.slice(1).reduce((a, b) => a * b, 1),
  }));
  // an output that does not give one entry per row (a constant, a summary) answers nothing about a row
  const perRow = all.filter((c) => c.rank >= 1 && c.rank <= 2 && c.tensor.dims[0] === o.rows);
  const labels = perRow.filter((c) => LABEL_TYPES.has(c.type) && c.width === 1);
  const probabilities = perRow.filter((c) => FLOAT_TYPES.has(c.type) && c.rank === 2 && c.width >= 2);
  const values = perRow.filter((c) => FLOAT_TYPES.has(c.type) && c.width === 1);
  const listing = all.map((c) => `"${c.name}" (${c.type} [${c.tensor.dims.join(', ')}] for ${o.rows} rows)`).join(', ');

  if (o.output !== undefined && !all.some((c) => c.name === o.output)) {
    throw new OnnxImportError('unreadable_output', `output "${o.output}" is not an output of the graph (its outputs: ${all.map((c) => c.name).join(', ')})`);
  }
  const named = (list: Candidate[]) => (o.output !== undefined ? list.filter((c) => c.name === o.output) : list);
  const regression = o.output !== undefined
    ? namedIsValue(o, values, probabilities, listing)
    : o.task === 'regression' || (o.task === undefined && probabilities.length === 0 && labels.length === 0 && values.length > 0);

  if (regression) {
    const value = pickOne(named(values), /pred|value|variable|output/i);
    if (!value) {
      const why = named(values).length > 1 ? `several outputs could be it (${named(values).map((c) => c.name).join(', ')}): name one with output` : 'no output gives one float per row';
      throw new OnnxImportError(probabilities.length > 0 ? 'task_mismatch' : 'unreadable_output', `the outputs cannot be read as a regression's value: ${why}. The graph's outputs: ${listing}`);
    }
    return { outputs: { kind: 'regressor', value: value.name }, classes: [], task: 'regression' };
  }

  const chosen = pickOne(named(probabilities), /prob/i);
  if (!chosen) {
    const why = named(probabilities).length > 1
      ? `several outputs could be the probabilities (${named(probabilities).map((c) => c.name).join(', ')}): name one with output`
      : labels.length > 0
        ? 'the graph gives labels but no class probabilities, which evaluation (AUC, calibration) and serving need: export with probabilities (e.g. keep predict_proba; for a single sigmoid column, output [1 - p, p])'
        : values.length > 0
          ? 'no output gives two or more class probabilities per row; a single column per row is read only as a regression value (send task "regression"), so a binary classifier must output both columns [1 - p, p]'
          : 'no output gives labels, class probabilities or a value per row';
    throw new OnnxImportError('unreadable_output', `the outputs cannot be read as labels, probabilities or values: ${why}. The graph's outputs: ${listing}`);
  }
  const { classes, from } = classLabels(o, chosen);
  // a label output is read only when it speaks in these classes (an ArgMax's indices beside named classes do not)
  const label = [pickOne(labels, /label/i)].find((c) => c !== undefined && labelsOf(c.tensor).every((l) => classes.includes(l)));
  if (classes.length !== chosen.width) {
    throw new OnnxImportError('unreadable_output', `output "${chosen.name}" gives ${chosen.width} probabilities per row, but the ${SOURCE_WORDS[from]} names ${classes.length} class${classes.length === 1 ? '' : 'es'} (${classes.join(', ')})`);
  }
  if (new Set(classes).size !== classes.length) throw new OnnxImportError('unreadable_output', `the class labels (from the ${SOURCE_WORDS[from]}) repeat: ${classes.join(', ')}`);
  if (classes.length > MAX_CLASSES) throw new OnnxImportError('unreadable_output', `output "${chosen.name}" has ${classes.length} classes; at most ${MAX_CLASSES} are supported`);
  checkProbabilities(chosen, o.rows);
  const task: Task = classes.length === 2 ? 'binary' : 'multiclass';
  if (o.task !== undefined && o.task !== task) {
    throw new OnnxImportError('task_mismatch', `the task asked for is ${o.task}, but the graph gives probabilities of ${classes.length} classes (${classes.join(', ')}): a ${task} classifier`);
  }
  return { outputs: { kind: 'classifier', probabilities: chosen.name, ...(label ? { label: label.name } : {}), classesFrom: from }, classes, task };
}

/** Whether the output the request names is a value (regression) or probabilities; refuses one that is neither or that the task contradicts. */
function namedIsValue(o: OutputRequest, values: Candidate[], probabilities: Candidate[], listing: string): boolean {
  const isValue = values.some((c) => c.name === o.output);
  if (!isValue && !probabilities.some((c) => c.name === o.output)) {
    throw new OnnxImportError('unreadable_output', `output "${o.output}" is neither class probabilities ([N, C] floats, C >= 2) nor one float per row. The graph's outputs: ${listing}`);
  }
  if (o.task !== undefined && (o.task === 'regression') !== isValue) {
    throw new OnnxImportError('task_mismatch', `the task asked for is ${o.task}, but output "${o.output}" gives ${isValue ? 'one value per row (a regression)' : 'class probabilities'}`);
  }
  return isValue;
}

const SOURCE_WORDS: Record<ClassLabelSource, string> = {
  zipmap: 'ZipMap', 'classifier-node': 'classifier node', metadata: 'metadata property "classes"', request: 'request',
};

/** The class labels of the chosen probabilities, from the best source that has them. */
function classLabels(o: OutputRequest, chosen: Candidate): { classes: string[]; from: ClassLabelSource } {
  const graph = o.graphLabels;
  const fromGraph: { classes: string[]; from: ClassLabelSource } | undefined = graph.zipmap.has(chosen.name)
    ? { classes: graph.zipmap.get(chosen.name)!, from: 'zipmap' }
    : graph.classifierNode ? { classes: graph.classifierNode, from: 'classifier-node' }
      : graph.metadata ? { classes: graph.metadata, from: 'metadata' }
        : undefined;
  if (fromGraph) {
    if (o.classes && o.classes.join('\u0000') !== fromGraph.classes.join('\u0000')) {
      throw new OnnxImportError('task_mismatch', `the request names the classes ${o.classes.join(', ')}, but the graph's ${SOURCE_WORDS[fromGraph.from]} names ${fromGraph.classes.join(', ')} (in the order of output "${chosen.name}")`);
    }
    return fromGraph;
  }
  if (o.classes) return { classes: o.classes.map(String), from: 'request' };
  throw new OnnxImportError('unreadable_output', `output "${chosen.name}" holds probabilities of ${chosen.width} classes, but nothing names them: the graph has no ZipMap, no classifier node with class labels and no metadata property "classes"; send classes (in the order of the probability columns) with the import, or add the property (onnx.helper.set_model_props(model, {"classes": json.dumps(labels)}))`);
}

/** Refuses scores that are not probabilities (logits, margins): evaluation and serving read them as such. */
function checkProbabilities(c: Candidate, rows: number): void {
  const data = c.tensor.data as Float32Array | Float64Array;
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    let low = Infinity;
    let high = -Infinity;
    for (let k = 0; k < c.width; k++) {
      const v = data[r * c.width + k];
      sum += v; low = Math.min(low, v); high = Math.max(high, v);
    }
    if (!(low >= -PROBABILITY_SLACK && high <= 1 + PROBABILITY_SLACK && Math.abs(sum - 1) <= PROBABILITY_SLACK)) {
      throw new OnnxImportError('unreadable_output', `output "${c.name}" does not hold probabilities: on trial row ${r} its ${c.width} values run from ${low} to ${high} and sum to ${sum}; end the graph in a Softmax (or expose predict_proba) so each row sums to 1`);
    }
  }
}
