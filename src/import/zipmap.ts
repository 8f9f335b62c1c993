/**
 * skl2onnx and onnxmltools end classifiers in a ZipMap by default: probabilities as a sequence of maps
 * {class label: probability}, one map per row. onnxruntime-node returns tensors only (a run that
 * fetches a sequence fails with "Non tensor type is temporarily not supported"), so the ZipMap is
 * dropped and the tensor it reads, [N, C] in the order of its class labels, becomes the graph output.
 * The labels themselves are kept from the node's classlabels_strings / classlabels_int64s attribute.
 */
import { onnx } from 'onnx-proto';
import type { GraphRewrite } from '../domain/imported-model';
import { editGraph } from './graph-edit';
import { OnnxImportError } from './import-error';

export const ML_DOMAIN = 'ai.onnx.ml';

export interface DroppedZipMap {
  rewrite: Extract<GraphRewrite, { kind: 'drop-zipmap' }>;
  /** Class labels in the order of the exposed tensor's columns, as text. */
  classes: string[];
}

/** A node attribute's strings or integers as text (the class labels of a ZipMap or a classifier). */
export function labelAttribute(node: onnx.INodeProto, name: string): string[] | undefined {
  const attribute = (node.attribute ?? []).find((a) => a.name === name);
  if (!attribute) return undefined;
  if (attribute.strings && attribute.strings.length > 0) return attribute.strings.map((s) => Buffer.from(s).toString('utf8'));
  if (attribute.ints && attribute.ints.length > 0) return attribute.ints.map((v) => String(v));
  return undefined;
}

export function classLabelsOf(node: onnx.INodeProto): string[] | undefined {
  return labelAttribute(node, 'classlabels_strings') ?? labelAttribute(node, 'classlabels_int64s');
}

function isZipMap(node: onnx.INodeProto): boolean {
  return node.opType === 'ZipMap' && node.domain === ML_DOMAIN;
}

/**
 * The file with every ZipMap that writes a graph output dropped, and what was dropped. A file without
 * one comes back as the same bytes. A ZipMap whose maps feed further nodes cannot be dropped: refused.
 */
export function dropZipMaps(bytes: Uint8Array, model: onnx.ModelProto): { bytes: Uint8Array; model: onnx.ModelProto; dropped: DroppedZipMap[] } {
  const graph = model.graph!;
  const nodes = graph.node ?? [];
  const outputIndex = new Map((graph.output ?? []).map((o, i) => [o.name, i]));
  const dropNodes = new Set<number>();
  const outputs = new Map<number, onnx.IValueInfoProto | null>();
  const dropValueInfo = new Set<string>();
  const dropped: DroppedZipMap[] = [];
  nodes.forEach((node, index) => {
    if (!isZipMap(node)) return;
    const [input] = node.input ?? [];
    const [output] = node.output ?? [];
    const at = outputIndex.get(output);
    if (at === undefined) return; // its maps reach no output: nothing reads them
    const consumers = nodes.filter((n) => (n.input ?? []).includes(output)).map((n) => n.name || n.opType);
    if (consumers.length > 0) {
      throw new OnnxImportError('unreadable_output', `the ZipMap "${node.name}" feeds its sequence of maps to ${consumers.join(', ')}: onnxruntime-node cannot return such values, and a ZipMap is only dropped where it writes a graph output; export without it (skl2onnx: options={'zipmap': False})`);
    }
    const classes = classLabelsOf(node);
    if (!classes) throw new OnnxImportError('unreadable_output', `the ZipMap "${node.name}" has no classlabels_strings or classlabels_int64s attribute, so its probabilities have no class labels`);
    dropNodes.add(index);
    dropValueInfo.add(output);
    // the tensor may already be an output of its own; then the sequence's declaration just goes
    outputs.set(at, outputIndex.has(input) ? null : {
      name: input,
      type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{}, { dimValue: classes.length }] } } },
    });
    dropped.push({ classes, rewrite: { kind: 'drop-zipmap', node: node.name ?? '', removedOutput: output, exposedOutput: input } });
  });
  if (dropped.length === 0) return { bytes, model, dropped };
  let edited: Uint8Array;
  try {
    edited = editGraph(bytes, model, { dropNodes, outputs, dropValueInfo });
  } catch (err) {
    throw new OnnxImportError('unreadable_output', `the ZipMap cannot be dropped (${(err as Error).message}): export without it (skl2onnx: options={'zipmap': False})`);
  }
  return { bytes: edited, model: onnx.ModelProto.decode(edited), dropped };
}
