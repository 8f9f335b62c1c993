/**
 * Edits of an ONNX graph made at import, done on the file's bytes (protobuf-fields.ts): the nodes,
 * output declarations and value_info entries named are dropped or replaced, and every other byte is
 * kept as uploaded, fields our schema does not know included. The same upload and the same edit give
 * the same bytes, so the stored file's sha256 follows from the upload.
 */
import { onnx } from 'onnx-proto';
import { joinFields, lengthDelimitedField, splitFields } from './protobuf-fields';

// field numbers of onnx.proto
const MODEL_GRAPH = 7;
const GRAPH_NODE = 1;
const GRAPH_OUTPUT = 12;
const GRAPH_VALUE_INFO = 13;

export interface GraphEdit {
  /** Indices into graph.node of nodes to drop. */
  dropNodes?: ReadonlySet<number>;
  /** Index into graph.output -> its new declaration, or null to drop it. */
  outputs?: ReadonlyMap<number, onnx.IValueInfoProto | null>;
  /** Names whose value_info entries go (values that no longer exist). */
  dropValueInfo?: ReadonlySet<string>;
}

/** The edited file, or an error when the file's graph cannot be edited this way. */
export function editGraph(bytes: Uint8Array, model: onnx.IModelProto, edit: GraphEdit): Uint8Array {
  const graph = model.graph!;
  const modelFields = splitFields(bytes);
  const graphFields = modelFields.filter((f) => f.field === MODEL_GRAPH);
  // protobuf merges a message field written twice; no exporter does that, and editing one part would be wrong
  if (graphFields.length !== 1) throw new Error(`the file holds its graph in ${graphFields.length} parts`);
  const valueInfos = graph.valueInfo ?? [];
  let node = 0;
  let output = 0;
  let valueInfo = 0;
  const parts: Uint8Array[] = [];
  for (const f of splitFields(graphFields[0].payload!)) {
    // (the counters move outside the optional calls: `a?.b(i++)` skips the i++ when a is undefined)
    if (f.field === GRAPH_NODE) {
      const index = node++;
      if (!edit.dropNodes?.has(index)) parts.push(f.bytes);
    } else if (f.field === GRAPH_OUTPUT) {
      const index = output++;
      const replacement = edit.outputs?.get(index);
      if (replacement === undefined) parts.push(f.bytes);
      else if (replacement !== null) parts.push(lengthDelimitedField(GRAPH_OUTPUT, onnx.ValueInfoProto.encode(onnx.ValueInfoProto.create(replacement)).finish()));
    } else if (f.field === GRAPH_VALUE_INFO) {
      const name = valueInfos[valueInfo++]?.name ?? '';
      if (!edit.dropValueInfo?.has(name)) parts.push(f.bytes);
    } else {
      parts.push(f.bytes);
    }
  }
  // the raw walk must meet exactly the entries the decoder did, or the indices above meant other ones
  if (node !== (graph.node ?? []).length || output !== (graph.output ?? []).length || valueInfo !== valueInfos.length) {
    throw new Error('the graph\'s raw fields disagree with its decoded form');
  }
  const newGraph = lengthDelimitedField(MODEL_GRAPH, joinFields(parts));
  return joinFields(modelFields.map((f) => (f.field === MODEL_GRAPH ? newGraph : f.bytes)));
}
