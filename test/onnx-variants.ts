/**
 * Real ONNX files that pass the smoke test and then misbehave in serving, made from a trained model's
 * file, so rollout tests can breach on errors and on latency with real inference:
 *   fixedBatch  the numeric input takes exactly `rows` rows: the smoke test (20 rows in one run) passes,
 *               serving's runs of other sizes fail inside onnxruntime (inference errors)
 *   slow        the same answers, after `rounds` products of an [m, k] matrix with a k x k one that
 *               depend on the input's shape (so onnxruntime cannot fold them away) and add zero
 */
import { onnx } from 'onnx-proto';

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

export function fixedBatch(bytes: Uint8Array, rows: number): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  const input = model.graph!.input!.find((i) => i.name === 'numeric')!;
  input.type!.tensorType!.shape!.dim![0] = onnx.TensorShapeProto.Dimension.create({ dimValue: rows });
  return onnx.ModelProto.encode(model).finish();
}

export function slow(bytes: Uint8Array, o: { m?: number; k?: number; rounds?: number } = {}): Uint8Array {
  const m = o.m ?? 64, k = o.k ?? 1000, rounds = o.rounds ?? 10;
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph!;
  const output = graph.output![0].name!;
  const producer = graph.node!.find((n) => n.output!.includes(output))!;
  producer.output = producer.output!.map((name) => (name === output ? `${output}_fast` : name));
  graph.initializer!.push(
    onnx.TensorProto.create({ name: 'slow_shape', dims: [2], dataType: INT64, int64Data: [m, k] }),
    onnx.TensorProto.create({ name: 'slow_weights', dims: [k, k], dataType: FLOAT, rawData: Buffer.from(new Float32Array(k * k).fill(1 / k).buffer) }),
    onnx.TensorProto.create({ name: 'slow_zero', dims: [1], dataType: FLOAT, floatData: [0] }),
  );
  const node = (opType: string, input: string[], out: string, attribute: onnx.IAttributeProto[] = []) => onnx.NodeProto.create({ opType, input, output: [out], name: out, attribute });
  const nodes = [
    node('Shape', ['numeric'], 'slow_dims'),
    node('Cast', ['slow_dims'], 'slow_dims_f', [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: FLOAT }]),
    node('ReduceMean', ['slow_dims_f'], 'slow_seed'),
    node('Expand', ['slow_seed', 'slow_shape'], 'slow_0'),
  ];
  for (let r = 0; r < rounds; r++) nodes.push(node('MatMul', [`slow_${r}`, 'slow_weights'], `slow_${r + 1}`));
  nodes.push(
    node('ReduceSum', [`slow_${rounds}`], 'slow_sum'),
    node('Mul', ['slow_sum', 'slow_zero'], 'slow_nothing'),
    onnx.NodeProto.create({ opType: 'Add', input: [`${output}_fast`, 'slow_nothing'], output: [output], name: 'slow_answer' }),
  );
  graph.node!.push(...nodes);
  return onnx.ModelProto.encode(model).finish();
}
