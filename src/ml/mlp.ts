/**
 * A small multilayer perceptron: 1–2 ReLU hidden layers, softmax output for classes (two or more) or a
 * linear output for regression, trained by mini-batch Adam with L2 weight decay and early stopping on
 * the validation loss. Seeded initialisation and shuffling make it repeat exactly.
 */
import { Matrix } from './features';
import { multiclassMetrics, regressionMetrics } from './metrics';
import { createRng, shuffleInPlace } from './random';
import { SearchCandidate, SearchOptions, searchL2 } from './search';
import { softmaxRows } from './softmax';

export interface MlpOptions {
  hidden?: number[];
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  /** Epochs without a better validation loss before stopping. */
  patience?: number;
  seed?: number;
}

export interface MlpModel {
  kind: 'mlp';
  features: string[];
  /** Class labels (classification); empty for regression. */
  classes: string[];
  /** layers[l].weights is [inputs][outputs] row-major; the last layer is the output layer. */
  layers: { inputs: number; outputs: number; weights: number[]; bias: number[] }[];
  l2: number;
  epochs: number;
}

interface Layer { inputs: number; outputs: number; w: Float64Array; b: Float64Array }

const isRegression = (classes: string[]) => classes.length === 0;

/** Forward pass for a batch of rows (row-major [n][d]); returns the activations of every layer. */
function forward(layers: Layer[], x: Float64Array, n: number, regression: boolean): Float64Array[] {
  const activations: Float64Array[] = [x];
  let input = x;
  layers.forEach((layer, l) => {
    const out = new Float64Array(n * layer.outputs);
    for (let i = 0; i < n; i++) {
      for (let o = 0; o < layer.outputs; o++) out[i * layer.outputs + o] = layer.b[o];
      for (let k = 0; k < layer.inputs; k++) {
        const v = input[i * layer.inputs + k];
        if (v === 0) continue;
        const row = k * layer.outputs;
        for (let o = 0; o < layer.outputs; o++) out[i * layer.outputs + o] += v * layer.w[row + o];
      }
    }
    const last = l === layers.length - 1;
    if (!last) for (let j = 0; j < out.length; j++) out[j] = out[j] > 0 ? out[j] : 0;
    else if (!regression) softmaxRows(out, n, layer.outputs);
    activations.push(out);
    input = out;
  });
  return activations;
}

function toLayers(model: MlpModel): Layer[] {
  return model.layers.map((l) => ({ inputs: l.inputs, outputs: l.outputs, w: Float64Array.from(l.weights), b: Float64Array.from(l.bias) }));
}

/** Class probabilities [n][K] or predicted values [n] for preprocessed rows. */
export function predictMlp(model: MlpModel, x: Matrix): Float64Array {
  const activations = forward(toLayers(model), x.data, x.rows, isRegression(model.classes));
  return activations[activations.length - 1];
}

function validationLoss(model: MlpModel, x: Matrix, y: Float64Array): number {
  const out = predictMlp(model, x);
  return isRegression(model.classes) ? regressionMetrics(y, out).rmse : multiclassMetrics(y, out, model.classes.length).logLoss;
}

/** Fits one network at one L2 strength; the weights of the best validation epoch are kept. */
export function fitMlp(train: Float64Array[], y: Float64Array, validation: Matrix, yValidation: Float64Array, o: MlpOptions & { l2: number; features: string[]; classes: string[]; onIteration?: () => void }): MlpModel {
  const n = y.length;
  const d = train.length;
  const regression = isRegression(o.classes);
  const k = regression ? 1 : o.classes.length;
  const hidden = o.hidden ?? [32];
  const rng = createRng(o.seed ?? 42);
  const sizes = [d, ...hidden, k];
  const layers: Layer[] = sizes.slice(1).map((outputs, l) => {
    const inputs = sizes[l];
    const scale = Math.sqrt(2 / inputs); // He initialisation for ReLU layers
    const w = Float64Array.from({ length: inputs * outputs }, () => (rng() * 2 - 1) * scale * Math.sqrt(3));
    return { inputs, outputs, w, b: new Float64Array(outputs) };
  });
  const moments = layers.map((l) => ({ mw: new Float64Array(l.w.length), vw: new Float64Array(l.w.length), mb: new Float64Array(l.b.length), vb: new Float64Array(l.b.length) }));
  const batchSize = o.batchSize ?? 64;
  const rate = o.learningRate ?? 1e-2;
  const [beta1, beta2, eps] = [0.9, 0.999, 1e-8];
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const snapshot = (epochs: number): MlpModel => ({
    kind: 'mlp', features: o.features, classes: o.classes, l2: o.l2, epochs,
    layers: layers.map((l) => ({ inputs: l.inputs, outputs: l.outputs, weights: Array.from(l.w), bias: Array.from(l.b) })),
  });
  let best = snapshot(0);
  let bestLoss = validationLoss(best, validation, yValidation);
  let sinceBest = 0;
  let step = 0;
  const maxEpochs = o.epochs ?? 200;
  for (let epoch = 1; epoch <= maxEpochs; epoch++) {
    o.onIteration?.();
    shuffleInPlace(order, rng);
    for (let start = 0; start < n; start += batchSize) {
      const rows = order.subarray(start, Math.min(n, start + batchSize));
      const m = rows.length;
      const x = new Float64Array(m * d);
      for (let i = 0; i < m; i++) for (let j = 0; j < d; j++) x[i * d + j] = train[j][rows[i]];
      const activations = forward(layers, x, m, regression);
      // Output error: softmax + cross-entropy and linear + squared error both give (prediction - target).
      let delta = Float64Array.from(activations[activations.length - 1]);
      for (let i = 0; i < m; i++) {
        if (regression) delta[i] -= y[rows[i]];
        else delta[i * k + y[rows[i]]] -= 1;
      }
      step++;
      for (let l = layers.length - 1; l >= 0; l--) {
        const layer = layers[l];
        const input = activations[l];
        const gw = new Float64Array(layer.w.length);
        const gb = new Float64Array(layer.outputs);
        for (let i = 0; i < m; i++) {
          for (let oIdx = 0; oIdx < layer.outputs; oIdx++) {
            const g = delta[i * layer.outputs + oIdx];
            if (g === 0) continue;
            gb[oIdx] += g;
            for (let kIdx = 0; kIdx < layer.inputs; kIdx++) gw[kIdx * layer.outputs + oIdx] += input[i * layer.inputs + kIdx] * g;
          }
        }
        if (l > 0) {
          const next = new Float64Array(m * layer.inputs);
          for (let i = 0; i < m; i++) {
            for (let kIdx = 0; kIdx < layer.inputs; kIdx++) {
              if (input[i * layer.inputs + kIdx] <= 0) continue; // ReLU gradient
              let s = 0;
              for (let oIdx = 0; oIdx < layer.outputs; oIdx++) s += layer.w[kIdx * layer.outputs + oIdx] * delta[i * layer.outputs + oIdx];
              next[i * layer.inputs + kIdx] = s;
            }
          }
          delta = next;
        }
        const mo = moments[l];
        const c1 = 1 - beta1 ** step, c2 = 1 - beta2 ** step;
        for (let j = 0; j < layer.w.length; j++) {
          const g = gw[j] / m + o.l2 * layer.w[j];
          mo.mw[j] = beta1 * mo.mw[j] + (1 - beta1) * g;
          mo.vw[j] = beta2 * mo.vw[j] + (1 - beta2) * g * g;
          layer.w[j] -= (rate * (mo.mw[j] / c1)) / (Math.sqrt(mo.vw[j] / c2) + eps);
        }
        for (let j = 0; j < layer.b.length; j++) {
          const g = gb[j] / m;
          mo.mb[j] = beta1 * mo.mb[j] + (1 - beta1) * g;
          mo.vb[j] = beta2 * mo.vb[j] + (1 - beta2) * g * g;
          layer.b[j] -= (rate * (mo.mb[j] / c1)) / (Math.sqrt(mo.vb[j] / c2) + eps);
        }
      }
    }
    const current = snapshot(epoch);
    const loss = validationLoss(current, validation, yValidation);
    if (loss < bestLoss - 1e-9) { best = current; bestLoss = loss; sinceBest = 0; }
    else if (++sinceBest >= (o.patience ?? 10)) break;
  }
  return best;
}

/** Searches the L2 grid; each candidate trains with early stopping; the lowest validation loss wins. */
export function trainMlp(train: Float64Array[], yTrain: Float64Array, validation: Matrix, yValidation: Float64Array, options: SearchOptions & MlpOptions & { features: string[]; classes: string[] }): { model: MlpModel; search: SearchCandidate[] } {
  const { model, search } = searchL2(options, (l2) => {
    const candidate = fitMlp(train, yTrain, validation, yValidation, { ...options, l2 });
    return { model: candidate, validationLoss: validationLoss(candidate, validation, yValidation), iterations: candidate.epochs };
  });
  return { model, search };
}
