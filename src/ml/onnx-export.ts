/**
 * Writes a trained model as an ONNX graph with its preprocessing inside, so the served file takes raw
 * features. The protobuf comes from the maintained ONNX schema (onnx-proto), not hand-written bytes.
 *
 * Graph for logistic regression (input `features`: float32 [N, d], NaN = missing):
 *   Where(IsNaN(x), impute, x) -> Sub(center) -> Div(scale) -> MatMul(W) -> Add(b) -> Sigmoid = p
 *   Concat(1 - p, p) -> output `probabilities`: float32 [N, 2], columns in `classes` order.
 */
import { onnx } from 'onnx-proto';
import { LogisticModel } from './logistic';

export const INPUT_NAME = 'features';
export const OUTPUT_NAME = 'probabilities';
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

/** Metadata stored in the ONNX file so it describes itself. */
export interface ModelMetadata {
  features: string[];
  classes: string[];
  [key: string]: unknown;
}

/** Encodes a logistic regression model, preprocessing included, as ONNX bytes (deterministic). */
export function exportLogisticToOnnx(model: LogisticModel, metadata: Record<string, string> = {}): Uint8Array {
  const d = model.features.length;
  const graph: onnx.IGraphProto = {
    name: 'logistic_regression',
    input: [valueInfo(INPUT_NAME, ['N', d])],
    output: [valueInfo(OUTPUT_NAME, ['N', 2])],
    initializer: [
      tensor('impute', [d], model.imputeValues),
      tensor('center', [d], model.center),
      tensor('scale', [d], model.scale),
      tensor('weights', [d, 1], model.weights),
      tensor('bias', [1], [model.bias]),
      tensor('one', [1], [1]),
    ],
    node: [
      node('IsNaN', [INPUT_NAME], ['missing']),
      node('Where', ['missing', 'impute', INPUT_NAME], ['imputed']),
      node('Sub', ['imputed', 'center'], ['centered']),
      node('Div', ['centered', 'scale'], ['standardized']),
      node('MatMul', ['standardized', 'weights'], ['linear']),
      node('Add', ['linear', 'bias'], ['logit']),
      node('Sigmoid', ['logit'], ['p_positive']),
      node('Sub', ['one', 'p_positive'], ['p_negative']),
      node('Concat', ['p_negative', 'p_positive'], [OUTPUT_NAME], [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 1 }]),
    ],
  };
  const props: Record<string, string> = {
    features: JSON.stringify(model.features),
    classes: JSON.stringify(model.classes),
    kind: model.kind,
    ...metadata,
  };
  const proto: onnx.IModelProto = {
    irVersion: 7,
    opsetImport: [{ domain: '', version: 13 }],
    producerName: 'mlops-temporal',
    producerVersion: '0.1.0',
    graph,
    metadataProps: Object.keys(props).sort().map((key) => ({ key, value: props[key] })),
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(proto)).finish();
}
