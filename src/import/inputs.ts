/**
 * Matches an imported graph's inputs with the columns of the evaluation data. Converters write tabular
 * models in one of two ways: one [N, 1] input per column, named after it (skl2onnx with a DataFrame's
 * columns), or one [N, k] tensor of k columns (skl2onnx and onnxmltools with an array, torch.onnx).
 * A single-column input is matched by its name; a tensor input by the request's `features` map or,
 * when it is the only one left, by the order of the columns that nothing else feeds.
 */
import type { Binding } from 'onnxruntime-node/dist/binding';
import type { ImportedElementType, ImportedInput } from '../domain/imported-model';
import { OnnxImportError } from './import-error';

export interface ColumnInfo {
  name: string;
  kind: 'number' | 'string';
}

/** Graph input -> the column it takes, or the columns of an [N, k] input in order. */
export type FeatureMap = Record<string, string | string[]>;

/** onnxruntime's element type numbers (those of onnx.proto's TensorProto.DataType) that rows can feed. */
const FEEDABLE: Record<number, ImportedElementType> = { 1: 'float32', 11: 'float64', 7: 'int64', 6: 'int32', 8: 'string' };
const OTHER_TYPES: Record<number, string> = {
  2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 9: 'bool', 10: 'float16', 12: 'uint32', 13: 'uint64', 14: 'complex64', 15: 'complex128', 16: 'bfloat16',
};

export const typeName = (type: number) => FEEDABLE[type] ?? OTHER_TYPES[type] ?? `element type ${type}`;

/** A shape as people write it: [N, 30], with N for a free axis. */
export function shapeText(shape: readonly number[], symbols: readonly string[] = []): string {
  return `[${shape.map((d, i) => (d >= 0 ? String(d) : symbols[i] || 'N')).join(', ')}]`;
}

interface Pending {
  metadata: Binding.ValueMetadata;
  type: ImportedElementType;
  rank: 1 | 2;
  /** Columns the input takes; undefined when the graph leaves the second axis free. */
  width: number | undefined;
}

/** What can be fed to this input from rows, or a refusal saying why nothing can. */
function feedable(input: Binding.ValueMetadata): Pending {
  if (!input.isTensor) throw new OnnxImportError('unsupported_input', `input "${input.name}" is not a tensor (a sequence or a map); rows of a table feed tensor inputs only`);
  const type = FEEDABLE[input.type];
  if (!type) throw new OnnxImportError('unsupported_input', `input "${input.name}" takes ${typeName(input.type)} values; rows feed float32, float64, int64, int32 or string inputs (cast in the graph, or export with float32 inputs)`);
  const shape = input.shape;
  const where = `input "${input.name}" has shape ${shapeText(shape, input.symbolicDimensions)}`;
  if (shape.length === 0 || shape.length > 2) {
    throw new OnnxImportError('unsupported_input', `${where}: rows of a table feed inputs of shape [N] or [N, k]; images, sequences and scalars are not tabular inputs`);
  }
  if (shape[0] >= 0) {
    throw new OnnxImportError('unsupported_input', `${where}, a fixed batch of ${shape[0]}: rows are sent in batches of any size, so export the model with a free first axis (torch.onnx.export(..., dynamic_axes={"${input.name}": {0: "N"}}), skl2onnx: [None, k])`);
  }
  const rank = shape.length as 1 | 2;
  return { metadata: input, type, rank, width: rank === 1 ? 1 : shape[1] >= 0 ? shape[1] : undefined };
}

/**
 * The layout of every graph input: its columns, how they were found, its element type and rank.
 * Refuses (OnnxImportError) inputs rows cannot feed, inputs that match no column, and a `features`
 * map that names what is not there.
 */
export function matchInputs(graphInputs: readonly Binding.ValueMetadata[], o: { columns: readonly ColumnInfo[]; target?: string; features?: FeatureMap }): ImportedInput[] {
  const kinds = new Map(o.columns.map((c) => [c.name, c.kind]));
  const columnList = () => o.columns.map((c) => c.name).join(', ');
  const inputNames = new Set(graphInputs.map((i) => i.name));
  for (const key of Object.keys(o.features ?? {})) {
    if (!inputNames.has(key)) throw new OnnxImportError('unmatched_input', `features names "${key}", which is not an input of the graph (its inputs: ${[...inputNames].join(', ')})`);
  }
  const pending = graphInputs.map(feedable);
  const matched = new Map<string, ImportedInput>();
  const byOrder: Pending[] = [];
  const unmatched: Pending[] = [];
  for (const p of pending) {
    const name = p.metadata.name;
    const mapped = o.features?.[name];
    if (mapped !== undefined) {
      const columns = typeof mapped === 'string' ? [mapped] : mapped;
      if (!Array.isArray(columns) || columns.length === 0 || columns.some((c) => typeof c !== 'string')) {
        throw new OnnxImportError('unmatched_input', `features["${name}"] must be a column name or a non-empty list of column names`);
      }
      const absent = columns.filter((c) => !kinds.has(c));
      if (absent.length > 0) throw new OnnxImportError('unmatched_input', `features maps input "${name}" to ${absent.map((c) => `"${c}"`).join(', ')}, which ${absent.length === 1 ? 'is not a column' : 'are not columns'} of the evaluation data (its columns: ${columnList()})`);
      if (o.target !== undefined && columns.includes(o.target)) throw new OnnxImportError('unmatched_input', `features maps input "${name}" to the target column "${o.target}"; a model cannot take what it predicts`);
      if (p.width !== undefined && columns.length !== p.width) {
        throw new OnnxImportError('unmatched_input', `input "${name}" takes ${p.width} column${p.width === 1 ? '' : 's'} (shape ${shapeText(p.metadata.shape, p.metadata.symbolicDimensions)}), but features names ${columns.length}`);
      }
      matched.set(name, { name, type: p.type, rank: p.rank, columns, matchedBy: 'features' });
    } else if (p.width === 1) {
      if (name === o.target) throw new OnnxImportError('unmatched_input', `input "${name}" is the target column; a model cannot take what it predicts`);
      if (kinds.has(name)) matched.set(name, { name, type: p.type, rank: p.rank, columns: [name], matchedBy: 'name' });
      else unmatched.push(p);
    } else {
      byOrder.push(p);
    }
  }
  // one [N, k] input with no map takes the k columns nothing else feeds, as they stand in the table
  if (byOrder.length === 1 && byOrder[0].width !== undefined) {
    const taken = new Set([...(o.target === undefined ? [] : [o.target]), ...[...matched.values()].flatMap((i) => i.columns)]);
    const left = o.columns.map((c) => c.name).filter((c) => !taken.has(c));
    const p = byOrder[0];
    if (left.length === p.width) matched.set(p.metadata.name, { name: p.metadata.name, type: p.type, rank: p.rank, columns: left, matchedBy: 'order' });
    else unmatched.push(p);
  } else {
    unmatched.push(...byOrder);
  }
  if (unmatched.length > 0) throw unmatchedError(unmatched, o.columns, o.target, matched);

  const inputs = graphInputs.map((i) => matched.get(i.name)!);
  for (const input of inputs) {
    if (input.type === 'string') continue;
    const text = input.columns.filter((c) => kinds.get(c) === 'string');
    if (text.length > 0) {
      throw new OnnxImportError('unmatched_input', `input "${input.name}" takes ${input.type} numbers, but column${text.length === 1 ? '' : 's'} ${text.map((c) => `"${c}"`).join(', ')} of the evaluation data ${text.length === 1 ? 'holds' : 'hold'} text`);
    }
  }
  return inputs;
}

function unmatchedError(unmatched: Pending[], columns: readonly ColumnInfo[], target: string | undefined, matched: Map<string, ImportedInput>): OnnxImportError {
  const describe = (p: Pending) => `"${p.metadata.name}" (${p.type}, shape ${shapeText(p.metadata.shape, p.metadata.symbolicDimensions)})`;
  const taken = new Set([...(target === undefined ? [] : [target]), ...[...matched.values()].flatMap((i) => i.columns)]);
  const free = columns.map((c) => c.name).filter((c) => !taken.has(c));
  const why = unmatched.map((p) => {
    if (p.width === 1) return `${describe(p)} is named like no column`;
    if (p.width === undefined) return `${describe(p)} leaves its number of columns free, so they cannot be taken by order`;
    return `${describe(p)} takes ${p.width} columns, and ${free.length} column${free.length === 1 ? ' is' : 's are'} left to take by order`;
  });
  const example = unmatched[0].width === 1 ? `{"${unmatched[0].metadata.name}": "<column>"}` : `{"${unmatched[0].metadata.name}": ["<column>", ...]}`;
  return new OnnxImportError(
    'unmatched_input',
    `${unmatched.length === 1 ? 'an input' : `${unmatched.length} inputs`} of the graph match${unmatched.length === 1 ? 'es' : ''} no column of the evaluation data: ${why.join('; ')}. The data's columns: ${columns.map((c) => c.name).join(', ')}${target === undefined ? '' : ` (target: ${target})`}. Name the columns with features, e.g. ${example}`,
    { inputs: unmatched.map((p) => p.metadata.name) },
  );
}

/**
 * The columns a graph takes, read from the graph alone: for a model that comes without evaluation data.
 * A single-column input is a column of its name (text for a string input, numbers otherwise), or of the
 * name `features` gives it; an [N, k] input takes the k columns `features` names, else `<input>_0` ..
 * `<input>_<k-1>`. An input that leaves its number of columns free needs `features` to name them.
 */
export function columnsFromGraph(graphInputs: readonly Binding.ValueMetadata[], features: FeatureMap = {}): ColumnInfo[] {
  return graphInputs.flatMap((input) => {
    const p = feedable(input);
    const kind = p.type === 'string' ? 'string' as const : 'number' as const;
    const mapped = features[input.name];
    if (mapped !== undefined) return (typeof mapped === 'string' ? [mapped] : Array.isArray(mapped) ? mapped : []).map((name) => ({ name: String(name), kind }));
    if (p.width === 1) return [{ name: input.name, kind }];
    if (p.width === undefined) {
      throw new OnnxImportError('unmatched_input', `input "${input.name}" has shape ${shapeText(input.shape, input.symbolicDimensions)}, which leaves its number of columns free; without evaluation data, name its columns with features, e.g. {"${input.name}": ["<column>", ...]}`);
    }
    return Array.from({ length: p.width }, (_, i) => ({ name: `${input.name}_${i}`, kind }));
  });
}
