/**
 * Writes a trained model as an ONNX graph with its preprocessing inside, so the served file takes raw
 * features. The protobuf comes from the maintained ONNX schema (onnx-proto), not hand-written bytes.
 *
 * Every graph takes `features`: float32 [N, d], NaN = missing, and starts with the preprocessing
 *   Where(IsNaN(x), impute, x) -> Sub(center) -> Div(scale)
 * then its head: logistic MatMul -> Add -> Sigmoid -> (1 - p, p); softmax MatMul -> Add -> Softmax,
 * both giving `probabilities` [N, K] in `classes` order; ridge MatMul -> Add giving `prediction` [N, 1].
 */
import { onnx } from 'onnx-proto';
import { LogisticModel } from './logistic';
import { RidgeModel } from './ridge';
import { SoftmaxModel } from './softmax';

export const INPUT_NAME = 'features';
export const OUTPUT_NAME = 'probabilities';
export const REGRESSION_OUTPUT = 'prediction';
const FLOAT = onnx.TensorProto.DataType.FLOAT;

function tensor(name: string, dims: number[], values: ArrayLike<number>): onnx.ITensorProto {
  return { name, dims, dataType: FLOAT, floatData: Array.from(values, (v) => Math.fround(v)) };
}

function valueInfo(name: string, dims: (number | string)[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function node(opType: string, input: string[], output: string[], attribute: onnx.IAttributeProto[] = []): onnx.INodeProto {
  return { opType, input, output, name: output[0], attribute };
}


type Preprocessed = { features: string[]; imputeValues: number[]; center: number[]; scale: number[]; kind: string };

/** Builds the graph: shared preprocessing nodes, then the model's own head, and encodes it. */
function encode(model: Preprocessed, head: { initializer: onnx.ITensorProto[]; node: onnx.INodeProto[]; output: onnx.IValueInfoProto }, props: Record<string, string>): Uint8Array {
  const d = model.features.length;
  const graph: onnx.IGraphProto = {
    name: model.kind,
    input: [valueInfo(INPUT_NAME, ['N', d])],
    output: [head.output],
    initializer: [
      tensor('impute', [d], model.imputeValues),
      tensor('center', [d], model.center),
      tensor('scale', [d], model.scale),
      ...head.initializer,
    ],
    node: [
      node('IsNaN', [INPUT_NAME], ['missing']),
      node('Where', ['missing', 'impute', INPUT_NAME], ['imputed']),
      node('Sub', ['imputed', 'center'], ['centered']),
      node('Div', ['centered', 'scale'], ['standardized']),
      ...head.node,
    ],
  };
  const all: Record<string, string> = { features: JSON.stringify(model.features), kind: model.kind, ...props };
  const proto: onnx.IModelProto = {
    irVersion: 7,
    opsetImport: [{ domain: '', version: 13 }],
    producerName: 'mlops-temporal',
    producerVersion: '0.1.0',
    graph,
    metadataProps: Object.keys(all).sort().map((key) => ({ key, value: all[key] })),
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(proto)).finish();
}

/** Logistic regression: output `probabilities` [N, 2] = (1 - p, p). Deterministic bytes. */
export function exportLogisticToOnnx(model: LogisticModel, metadata: Record<string, string> = {}): Uint8Array {
  const d = model.features.length;
  return encode(model, {
    initializer: [tensor('weights', [d, 1], model.weights), tensor('bias', [1], [model.bias]), tensor('one', [1], [1])],
    node: [
      node('MatMul', ['standardized', 'weights'], ['linear']),
      node('Add', ['linear', 'bias'], ['logit']),
      node('Sigmoid', ['logit'], ['p_positive']),
      node('Sub', ['one', 'p_positive'], ['p_negative']),
      node('Concat', ['p_negative', 'p_positive'], [OUTPUT_NAME], [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 1 }]),
    ],
    output: valueInfo(OUTPUT_NAME, ['N', 2]),
  }, { classes: JSON.stringify(model.classes), ...metadata });
}

/** Softmax regression: output `probabilities` [N, K] in `classes` order. */
export function exportSoftmaxToOnnx(model: SoftmaxModel, metadata: Record<string, string> = {}): Uint8Array {
  const d = model.features.length;
  const k = model.classes.length;
  // weights as [d, K] so MatMul maps [N, d] to [N, K]
  const w = new Float64Array(d * k);
  for (let j = 0; j < d; j++) for (let c = 0; c < k; c++) w[j * k + c] = model.weights[c][j];
  return encode(model, {
    initializer: [tensor('weights', [d, k], w), tensor('bias', [k], model.bias)],
    node: [
      node('MatMul', ['standardized', 'weights'], ['linear']),
      node('Add', ['linear', 'bias'], ['logits']),
      node('Softmax', ['logits'], [OUTPUT_NAME], [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 1 }]),
    ],
    output: valueInfo(OUTPUT_NAME, ['N', k]),
  }, { classes: JSON.stringify(model.classes), ...metadata });
}

/** Ridge regression: output `prediction` [N, 1]. */
export function exportRidgeToOnnx(model: RidgeModel, metadata: Record<string, string> = {}): Uint8Array {
  const d = model.features.length;
  return encode(model, {
    initializer: [tensor('weights', [d, 1], model.weights), tensor('bias', [1], [model.bias])],
    node: [
      node('MatMul', ['standardized', 'weights'], ['linear']),
      node('Add', ['linear', 'bias'], [REGRESSION_OUTPUT]),
    ],
    output: valueInfo(REGRESSION_OUTPUT, ['N', 1]),
  }, metadata);
}
