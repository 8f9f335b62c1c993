/**
 * Writes a trained model as an ONNX graph with its preprocessing inside, so the served file takes raw
 * features. The protobuf comes from the maintained ONNX schema (onnx-proto), not hand-written bytes.
 *
 * Every graph takes the raw features: `numeric` float32 [N, d] (NaN = missing) and one string input
 * [N] per categorical feature, and starts with the recipe (see recipe.ts)
 *   numeric: Where(IsNaN(x), impute, x) -> Sub(center) -> Div(scale); text: OneHotEncoder; Concat
 * then its head: logistic MatMul -> Add -> Sigmoid -> (1 - p, p); softmax MatMul -> Add -> Softmax,
 * both giving `probabilities` [N, K] in `classes` order; ridge MatMul -> Add giving `prediction` [N, 1].
 * A new model family (families/) writes its head with `encode`, `tensor`, `node` and `valueInfo`.
 */
import { onnx } from 'onnx-proto';
import { GbdtModel } from './gbdt';
import { LogisticModel } from './logistic';
import { MlpModel } from './mlp';
import * as math from 'mathjs';
import type { MathNode } from 'mathjs';
import { DerivedFeature, ONNX_FUNCTIONS, ONNX_OPERATORS, parseDerived } from './expressions';
import { FittedRecipe } from './recipe';
import { RidgeModel } from './ridge';
import { SoftmaxModel } from './softmax';

const ML_DOMAIN = 'ai.onnx.ml';
export const OUTPUT_NAME = 'probabilities';
export const REGRESSION_OUTPUT = 'prediction';
const FLOAT = onnx.TensorProto.DataType.FLOAT;

/** A float32 initializer. */
export function tensor(name: string, dims: number[], values: ArrayLike<number>): onnx.ITensorProto {
  return { name, dims, dataType: FLOAT, floatData: Array.from(values, (v) => Math.fround(v)) };
}

/** A float32 graph output (or input) of these dims; a string dim is symbolic ('N'). */
export function valueInfo(name: string, dims: (number | string)[]): onnx.IValueInfoProto {
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

/** A node of the default ONNX domain, named after its first output. */
export function node(opType: string, input: string[], output: string[], attribute: onnx.IAttributeProto[] = []): onnx.INodeProto {
  return { opType, input, output, name: output[0], attribute };
}


export const NUMERIC_INPUT = 'numeric';
/** Name of the string input of the i-th categorical feature. */
export const categoricalInput = (i: number) => `categorical_${i}`;

/**
 * Nodes computing one derived feature as [N, 1] from the numeric input: columns by Gather, constants as
 * initializers, mathjs operators and functions as their ONNX ops; an infinite result becomes NaN
 * (missing), as in evaluateDerived.
 */
function derivedNodes(feature: DerivedFeature, k: number, inputs: string[], initializer: onnx.ITensorProto[], nodes: onnx.INodeProto[]): string {
  let counter = 0;
  const fresh = () => `derived_${k}_${counter++}`;
  const emit = (n: MathNode): string => {
    const out = fresh();
    switch (n.type) {
      case 'ConstantNode':
        initializer.push(tensor(out, [1], [(n as math.ConstantNode).value as number]));
        return out;
      case 'SymbolNode': {
        const index = fresh();
        initializer.push({ name: index, dims: [1], dataType: onnx.TensorProto.DataType.INT64, int64Data: [inputs.indexOf((n as math.SymbolNode).name)] });
        nodes.push(node('Gather', [NUMERIC_INPUT, index], [out], [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 1 }]));
        return out;
      }
      case 'ParenthesisNode':
        return emit((n as math.ParenthesisNode).content);
      case 'OperatorNode': {
        const op = n as math.OperatorNode;
        const args = op.args.map(emit);
        if (args.length === 1) { if (op.fn === 'unaryPlus') return args[0]; nodes.push(node('Neg', args, [out])); return out; }
        nodes.push(node(ONNX_OPERATORS[op.fn], args, [out]));
        return out;
      }
      case 'FunctionNode': {
        const fn = n as math.FunctionNode;
        nodes.push(node(ONNX_FUNCTIONS[fn.fn.name], [emit(fn.args[0])], [out]));
        return out;
      }
      default:
        throw new Error(`${n.type} cannot be compiled to ONNX`);
    }
  };
  const value = emit(feature.expression);
  const nan = `derived_${k}_nan`;
  initializer.push(tensor(nan, [1], [NaN]));
  nodes.push(node('IsInf', [value], [`derived_${k}_inf`]));
  nodes.push(node('Where', [`derived_${k}_inf`, nan, value], [`derived_${k}`]));
  return `derived_${k}`;
}

function stringInfo(name: string): onnx.IValueInfoProto {
  return { name, type: { tensorType: { elemType: onnx.TensorProto.DataType.STRING, shape: { dim: [{ dimParam: 'N' }] } } } };
}

/**
 * Builds the graph: the recipe's nodes (impute, scale, one-hot, concatenate) produce `standardized`
 * [N, D]; the model's head maps it to the output (`probabilities` [N, K] or `prediction` [N, 1]).
 * `kind` names the graph and is kept in the metadata with `props`. Deterministic bytes for the same inputs.
 */
export function encode(recipe: FittedRecipe, kind: string, head: { initializer: onnx.ITensorProto[]; node: onnx.INodeProto[]; output: onnx.IValueInfoProto }, props: Record<string, string>): Uint8Array {
  const dn = recipe.numeric.length;
  const input: onnx.IValueInfoProto[] = [];
  const initializer: onnx.ITensorProto[] = [];
  const nodes: onnx.INodeProto[] = [];
  const parts: string[] = [];
  if (dn > 0) {
    input.push(valueInfo(NUMERIC_INPUT, ['N', recipe.inputs.length]));
    let numericAll = NUMERIC_INPUT;
    if (recipe.derived.length > 0) {
      const derived = recipe.derived.map((text, k) => derivedNodes(parseDerived(text), k, recipe.inputs, initializer, nodes));
      nodes.push(node('Concat', [NUMERIC_INPUT, ...derived], ['numeric_all'], [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 1 }]));
      numericAll = 'numeric_all';
    }
    initializer.push(
      tensor('impute', [dn], recipe.numeric.map((n) => n.impute)),
      tensor('center', [dn], recipe.numeric.map((n) => n.center)),
      tensor('scale', [dn], recipe.numeric.map((n) => n.scale)),
    );
    nodes.push(
      node('IsNaN', [numericAll], ['missing']),
      node('Where', ['missing', 'impute', numericAll], ['imputed']),
    );
    const outliers = recipe.spec.outliers?.action;
    if (outliers === 'clip' || outliers === 'flag') {
      initializer.push(tensor('lower', [dn], recipe.numeric.map((n) => n.lower!)), tensor('upper', [dn], recipe.numeric.map((n) => n.upper!)));
    }
    if (outliers === 'clip') nodes.push(node('Max', ['imputed', 'lower'], ['raised']), node('Min', ['raised', 'upper'], ['clipped']));
    nodes.push(
      node('Sub', [outliers === 'clip' ? 'clipped' : 'imputed', 'center'], ['centered']),
      node('Div', ['centered', 'scale'], ['numeric_scaled']),
    );
    parts.push('numeric_scaled');
    if (outliers === 'flag') {
      // comparisons with NaN are false, so a missing value is not an outlier, as in applyRecipe
      nodes.push(
        node('Less', [numericAll, 'lower'], ['below']),
        node('Greater', [numericAll, 'upper'], ['above']),
        node('Or', ['below', 'above'], ['outside']),
        node('Cast', ['outside'], ['outlier_flags'], [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: FLOAT }]),
      );
      parts.push('outlier_flags');
    }
  }
  recipe.categorical.forEach((step, i) => {
    const name = categoricalInput(i);
    input.push(stringInfo(name));
    // zeros=1: a missing or unseen category encodes as all zeros instead of failing the request
    nodes.push({
      opType: 'OneHotEncoder', domain: ML_DOMAIN, input: [name], output: [`onehot_${i}`], name: `onehot_${i}`,
      attribute: [
        { name: 'cats_strings', type: onnx.AttributeProto.AttributeType.STRINGS, strings: step.categories.map((c) => Buffer.from(c, 'utf8')) },
        { name: 'zeros', type: onnx.AttributeProto.AttributeType.INT, i: 1 },
      ],
    });
    parts.push(`onehot_${i}`);
  });
  nodes.push(parts.length === 1
    ? node('Identity', parts, ['standardized'])
    : node('Concat', parts, ['standardized'], [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 1 }]));
  const graph: onnx.IGraphProto = {
    name: kind,
    input,
    output: [head.output],
    initializer: [...initializer, ...head.initializer],
    node: [...nodes, ...head.node],
  };
  const all: Record<string, string> = {
    kind,
    numeric: JSON.stringify(recipe.inputs),
    derived: JSON.stringify(recipe.derived),
    categorical: JSON.stringify(recipe.categorical.map((c) => c.name)),
    recipe: JSON.stringify(recipe.spec),
    ...props,
  };
  const proto: onnx.IModelProto = {
    irVersion: 7,
    opsetImport: [{ domain: '', version: 13 }, { domain: ML_DOMAIN, version: 1 }],
    producerName: 'mlops-temporal',
    producerVersion: '0.1.0',
    graph,
    metadataProps: Object.keys(all).sort().map((key) => ({ key, value: all[key] })),
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(proto)).finish();
}

/** Logistic regression: output `probabilities` [N, 2] = (1 - p, p). Deterministic bytes. */
export function exportLogisticToOnnx(recipe: FittedRecipe, model: LogisticModel, metadata: Record<string, string> = {}): Uint8Array {
  const d = model.features.length;
  return encode(recipe, model.kind, {
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
export function exportSoftmaxToOnnx(recipe: FittedRecipe, model: SoftmaxModel, metadata: Record<string, string> = {}): Uint8Array {
  const d = model.features.length;
  const k = model.classes.length;
  // weights as [d, K] so MatMul maps [N, d] to [N, K]
  const w = new Float64Array(d * k);
  for (let j = 0; j < d; j++) for (let c = 0; c < k; c++) w[j * k + c] = model.weights[c][j];
  return encode(recipe, model.kind, {
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
export function exportRidgeToOnnx(recipe: FittedRecipe, model: RidgeModel, metadata: Record<string, string> = {}): Uint8Array {
  const d = model.features.length;
  return encode(recipe, model.kind, {
    initializer: [tensor('weights', [d, 1], model.weights), tensor('bias', [1], [model.bias])],
    node: [
      node('MatMul', ['standardized', 'weights'], ['linear']),
      node('Add', ['linear', 'bias'], [REGRESSION_OUTPUT]),
    ],
    output: valueInfo(REGRESSION_OUTPUT, ['N', 1]),
  }, metadata);
}

/** MLP: MatMul/Add per layer with Relu between; Softmax to `probabilities` [N, K], or `prediction` [N, 1]. */
export function exportMlpToOnnx(recipe: FittedRecipe, model: MlpModel, metadata: Record<string, string> = {}): Uint8Array {
  const regression = model.classes.length === 0;
  const initializer: onnx.ITensorProto[] = [];
  const nodes: onnx.INodeProto[] = [];
  let current = 'standardized';
  model.layers.forEach((layer, l) => {
    initializer.push(tensor(`w${l}`, [layer.inputs, layer.outputs], layer.weights), tensor(`b${l}`, [layer.outputs], layer.bias));
    nodes.push(node('MatMul', [current, `w${l}`], [`mm${l}`]), node('Add', [`mm${l}`, `b${l}`], [`z${l}`]));
    current = `z${l}`;
    if (l < model.layers.length - 1) { nodes.push(node('Relu', [current], [`h${l}`])); current = `h${l}`; }
  });
  const k = model.layers[model.layers.length - 1].outputs;
  if (regression) nodes.push(node('Identity', [current], [REGRESSION_OUTPUT]));
  else nodes.push(node('Softmax', [current], [OUTPUT_NAME], [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 1 }]));
  return encode(recipe, model.kind, {
    initializer,
    node: nodes,
    output: valueInfo(regression ? REGRESSION_OUTPUT : OUTPUT_NAME, ['N', regression ? 1 : k]),
  }, { ...(regression ? {} : { classes: JSON.stringify(model.classes) }), hidden: JSON.stringify(model.layers.slice(0, -1).map((l) => l.outputs)), ...metadata });
}

/**
 * Gradient-boosted trees: one ai.onnx.ml TreeEnsembleRegressor sums the trees into raw scores (one per
 * output, starting from the baseline); Sigmoid to (1 - p, p) for binary, Softmax for multi-class, or
 * the scores themselves as `prediction` [N, 1] for regression.
 */
export function exportGbdtToOnnx(recipe: FittedRecipe, model: GbdtModel, metadata: Record<string, string> = {}): Uint8Array {
  const INT = onnx.AttributeProto.AttributeType.INT;
  const INTS = onnx.AttributeProto.AttributeType.INTS;
  const FLOATS = onnx.AttributeProto.AttributeType.FLOATS;
  const STRINGS = onnx.AttributeProto.AttributeType.STRINGS;
  const regression = model.classes.length === 0;
  const outputs = model.classes.length > 2 ? model.classes.length : 1;
  const n = { treeIds: [] as number[], nodeIds: [] as number[], features: [] as number[], values: [] as number[], modes: [] as Uint8Array[], trueIds: [] as number[], falseIds: [] as number[] };
  const t = { treeIds: [] as number[], nodeIds: [] as number[], ids: [] as number[], weights: [] as number[] };
  const [leq, leaf] = [Buffer.from('BRANCH_LEQ'), Buffer.from('LEAF')];
  model.trees.forEach((tree, id) => {
    tree.feature.forEach((feature, node) => {
      const isLeaf = feature < 0;
      n.treeIds.push(id); n.nodeIds.push(node); n.features.push(isLeaf ? 0 : feature); n.values.push(isLeaf ? 0 : tree.threshold[node]);
      n.modes.push(isLeaf ? leaf : leq); n.trueIds.push(isLeaf ? 0 : tree.left[node]); n.falseIds.push(isLeaf ? 0 : tree.right[node]);
      if (isLeaf) { t.treeIds.push(id); t.nodeIds.push(node); t.ids.push(tree.output); t.weights.push(tree.value[node]); }
    });
  });
  const ints = (name: string, values: number[]): onnx.IAttributeProto => ({ name, type: INTS, ints: values });
  const floats = (name: string, values: number[]): onnx.IAttributeProto => ({ name, type: FLOATS, floats: values.map((v) => Math.fround(v)) });
  const ensemble: onnx.INodeProto = {
    opType: 'TreeEnsembleRegressor', domain: ML_DOMAIN, input: ['standardized'], output: ['raw'], name: 'trees',
    attribute: [
      ints('nodes_treeids', n.treeIds), ints('nodes_nodeids', n.nodeIds), ints('nodes_featureids', n.features), floats('nodes_values', n.values),
      { name: 'nodes_modes', type: STRINGS, strings: n.modes }, ints('nodes_truenodeids', n.trueIds), ints('nodes_falsenodeids', n.falseIds),
      ints('target_treeids', t.treeIds), ints('target_nodeids', t.nodeIds), ints('target_ids', t.ids), floats('target_weights', t.weights),
      { name: 'n_targets', type: INT, i: outputs }, floats('base_values', model.baseline),
      { name: 'aggregate_function', type: onnx.AttributeProto.AttributeType.STRING, s: Buffer.from('SUM') },
      { name: 'post_transform', type: onnx.AttributeProto.AttributeType.STRING, s: Buffer.from('NONE') },
    ],
  };
  const head = regression
    ? { initializer: [], node: [ensemble, node('Identity', ['raw'], [REGRESSION_OUTPUT])] }
    : outputs === 1
      ? {
        initializer: [tensor('one', [1], [1])],
        node: [ensemble, node('Sigmoid', ['raw'], ['p_positive']), node('Sub', ['one', 'p_positive'], ['p_negative']),
          node('Concat', ['p_negative', 'p_positive'], [OUTPUT_NAME], [{ name: 'axis', type: INT, i: 1 }])],
      }
      : { initializer: [], node: [ensemble, node('Softmax', ['raw'], [OUTPUT_NAME], [{ name: 'axis', type: INT, i: 1 }])] };
  return encode(recipe, model.kind, {
    ...head,
    output: valueInfo(regression ? REGRESSION_OUTPUT : OUTPUT_NAME, ['N', regression ? 1 : model.classes.length]),
  }, { ...(regression ? {} : { classes: JSON.stringify(model.classes) }), rounds: String(model.rounds), ...metadata });
}
