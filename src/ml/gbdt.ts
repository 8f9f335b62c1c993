/**
 * Gradient-boosted decision trees on binned features (the histogram method of LightGBM and
 * scikit-learn's HistGradientBoosting): each feature is cut into at most 255 bins once, trees grow
 * leaf-wise from per-bin gradient sums, and a child's histogram is its parent's minus its sibling's.
 *
 * Losses: binary log loss (one raw score, sigmoid), multinomial log loss (one tree per class per
 * round, softmax) and squared error. Leaf values are Newton steps -G / (H + l2) shrunk by the learning
 * rate. Training stops when the validation loss has not improved for `patience` rounds, and the model
 * keeps the rounds up to its best one. Everything is deterministic: no sampling but a seeded one.
 *
 * Thresholds are float32 values, so the exported ONNX TreeEnsemble (which compares in float32) sends
 * every row down the same branches as `predictGbdt`.
 */
import os from 'node:os';
import { sortedFloat32s } from './drift';
import { Matrix } from './features';
import { RowWorkers, type Split, type SplitRules } from './gbdt-threads';
import { multiclassMetrics, regressionMetrics } from './metrics';
import { createRng } from './random';
import { SearchCandidate, SearchOptions, searchL2 } from './search';
import { softmaxRows } from './softmax';

export interface GbdtOptions {
  /** Most boosting rounds. */
  maxIter?: number;
  learningRate?: number;
  /** Most leaves per tree. */
  maxLeafNodes?: number;
  /** Fewest training rows in a leaf. */
  minSamplesLeaf?: number;
  /** Most bins per feature (at most 255). */
  maxBins?: number;
  /** Rounds without a better validation loss before stopping. */
  patience?: number;
  seed?: number;
  /** Threads for the row loops (default: every core); the model is the same for any number. */
  threads?: number;
}

/** One tree, as parallel arrays indexed by node; a node with feature -1 is a leaf. */
export interface Tree {
  /** Which raw score the tree adds to: 0 for binary and regression, the class for multiclass. */
  output: number;
  feature: number[];
  /** Rows with value <= threshold go left. */
  threshold: number[];
  left: number[];
  right: number[];
  /** Leaf values (learning rate included); 0 on split nodes. */
  value: number[];
}

export interface GbdtModel {
  kind: 'gbdt';
  features: string[];
  /** Class labels (classification); empty for regression. */
  classes: string[];
  l2: number;
  /** Starting raw score per output. */
  baseline: number[];
  trees: Tree[];
  rounds: number;
}

const MIN_HESSIAN = 1e-3;
const DEFAULTS = { maxIter: 100, learningRate: 0.1, maxLeafNodes: 31, minSamplesLeaf: 20, maxBins: 255, patience: 10, seed: 42, threads: os.availableParallelism() };
/** Rows sampled to place the bin edges, as scikit-learn does. */
const BINNING_SAMPLE = 200_000;

/** Raw scores per output: 1 for binary and regression, K for K >= 3 classes. */
const outputsOf = (classes: string[]) => (classes.length > 2 ? classes.length : 1);

/**
 * Bin edges of one feature: midpoints between distinct values (or between quantiles when there are
 * more distinct values than bins), rounded to float32 and strictly increasing.
 */
export function binEdges(values: Float64Array, maxBins: number, rng: () => number): Float32Array {
  let sample = values;
  if (values.length > BINNING_SAMPLE) {
    sample = new Float64Array(BINNING_SAMPLE);
    for (let i = 0; i < BINNING_SAMPLE; i++) sample[i] = values[Math.floor(rng() * values.length)];
  }
  const sorted = sortedFloat32s(sample);
  // the distinct values, unless there are more of them than bins
  let distinct: number[] | undefined = [];
  for (let i = 0; i < sorted.length && distinct; i++) {
    if (i === 0 || sorted[i] !== sorted[i - 1]) distinct.push(sorted[i]);
    if (distinct.length > maxBins) distinct = undefined;
  }
  let points = distinct;
  if (!points) {
    points = [];
    for (let q = 1; q < maxBins; q++) points.push(sorted[Math.floor((q / maxBins) * (sorted.length - 1))]);
    points = [...new Set(points)];
  }
  const edges: number[] = [];
  for (let i = 0; i + 1 < points.length; i++) {
    let mid = Math.fround((points[i] + points[i + 1]) / 2);
    if (mid >= points[i + 1]) mid = points[i]; // adjacent floats: the lower one still separates them
    if (edges.length === 0 || mid > edges[edges.length - 1]) edges.push(mid);
  }
  return Float32Array.from(edges);
}

interface Leaf { node: number; start: number; end: number; g: number; h: number; histogram: Float64Array; split?: Split }

/** Grows one tree leaf-wise on the binned training rows, its row loops on every core (`RowWorkers`). */
class TreeGrower {
  private readonly rules: SplitRules;

  constructor(
    private readonly rows: RowWorkers,
    private readonly edges: Float32Array[],
    private readonly o: Required<GbdtOptions> & { l2: number },
  ) {
    this.rules = { minSamplesLeaf: o.minSamplesLeaf, minHessian: MIN_HESSIAN, l2: o.l2 };
  }

  /**
   * Grows a tree on the gradients in the shared `gh` and adds its leaf values to the shared raw
   * scores (stride `outputs`, offset `output`).
   */
  grow(output: number, outputs: number): Tree {
    const { order, n } = this.rows.s;
    for (let i = 0; i < n; i++) order[i] = i;
    const tree: Tree = { output, feature: [], threshold: [], left: [], right: [], value: [] };
    const newNode = () => { tree.feature.push(-1); tree.threshold.push(0); tree.left.push(-1); tree.right.push(-1); tree.value.push(0); return tree.feature.length - 1; };
    const { g, h } = this.rows.newTree();
    const { histogram, split } = this.rows.rootSplit({ g, h, n }, this.rules);
    const open: Leaf[] = [{ node: newNode(), start: 0, end: n, g, h, histogram, split }];
    let leaves = 1;
    while (open.length > 0 && leaves < this.o.maxLeafNodes) {
      // the open leaf with the largest gain splits next (leaf-wise growth)
      let pick = -1;
      for (let i = 0; i < open.length; i++) if (open[i].split && (pick < 0 || open[i].split!.gain > open[pick].split!.gain)) pick = i;
      if (pick < 0) break;
      const leaf = open.splice(pick, 1)[0];
      const split = leaf.split!;
      const mid = this.rows.partition(leaf.start, leaf.end, split.feature, split.bin);
      tree.feature[leaf.node] = split.feature;
      tree.threshold[leaf.node] = this.edges[split.feature][split.bin];
      const left: Leaf = { node: newNode(), start: leaf.start, end: mid, g: split.left.g, h: split.left.h, histogram: undefined! };
      const right: Leaf = { node: newNode(), start: mid, end: leaf.end, g: leaf.g - split.left.g, h: leaf.h - split.left.h, histogram: undefined! };
      tree.left[leaf.node] = left.node;
      tree.right[leaf.node] = right.node;
      // build the smaller child's histogram; the larger one is the parent's minus it
      const [small, large] = mid - leaf.start <= leaf.end - mid ? [left, right] : [right, left];
      const sums = (l: Leaf) => ({ g: l.g, h: l.h, n: l.end - l.start });
      const children = this.rows.childSplits(small.start, small.end, leaf.histogram, sums(small), sums(large), this.rules);
      small.histogram = children.histogram;
      small.split = children.small;
      large.histogram = leaf.histogram;
      large.split = children.large;
      leaves++;
      open.push(left, right);
    }
    for (const leaf of open) {
      const value = (-leaf.g / (leaf.h + this.o.l2)) * this.o.learningRate;
      tree.value[leaf.node] = value;
      this.rows.addLeafValue(leaf.start, leaf.end, value, output, outputs);
    }
    return tree;
  }
}

/** Adds the tree's value for every row of a row-major matrix to `raw` (stride `outputs`). */
function addTreeToRows(tree: Tree, x: Matrix, raw: Float64Array, outputs: number): void {
  for (let i = 0; i < x.rows; i++) {
    let node = 0;
    const base = i * x.cols;
    while (tree.feature[node] >= 0) node = Math.fround(x.data[base + tree.feature[node]]) <= tree.threshold[node] ? tree.left[node] : tree.right[node];
    raw[i * outputs + tree.output] += tree.value[node];
  }
}

/** Raw scores to probabilities (binary: [1 - p, p] per row; multiclass: softmax) or predictions. */
function finish(raw: Float64Array, n: number, classes: string[]): Float64Array {
  if (classes.length === 0) return raw;
  if (classes.length > 2) { softmaxRows(raw, n, classes.length); return raw; }
  const out = new Float64Array(n * 2);
  for (let i = 0; i < n; i++) { const p = 1 / (1 + Math.exp(-raw[i])); out[i * 2] = 1 - p; out[i * 2 + 1] = p; }
  return out;
}

function rawScores(model: GbdtModel, x: Matrix): Float64Array {
  const outputs = outputsOf(model.classes);
  const raw = new Float64Array(x.rows * outputs);
  for (let i = 0; i < x.rows; i++) for (let k = 0; k < outputs; k++) raw[i * outputs + k] = model.baseline[k];
  for (const tree of model.trees) addTreeToRows(tree, x, raw, outputs);
  return raw;
}

/** Class probabilities [n][K] (K = 2 for binary) or predicted values [n] for preprocessed rows. */
export function predictGbdt(model: GbdtModel, x: Matrix): Float64Array {
  return finish(rawScores(model, x), x.rows, model.classes);
}

function lossOf(raw: Float64Array, y: Float64Array, classes: string[]): number {
  const scores = finish(Float64Array.from(raw), y.length, classes);
  return classes.length === 0 ? regressionMetrics(y, scores).rmse : multiclassMetrics(y, scores, classes.length).logLoss;
}

/** Fits one ensemble at one leaf L2 strength, keeping the rounds up to the best validation loss. */
export function fitGbdt(train: Float64Array[], y: Float64Array, validation: Matrix, yValidation: Float64Array, options: GbdtOptions & { l2: number; features: string[]; classes: string[]; onIteration?: () => void }): GbdtModel {
  const o = { ...DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as Required<GbdtOptions> & typeof options;
  const maxBins = Math.min(255, Math.max(2, o.maxBins));
  const n = y.length;
  const rng = createRng(o.seed);
  const edges = train.map((column) => binEdges(column, maxBins, rng));
  const rows = new RowWorkers(n, train, edges, o.threads, outputsOf(o.classes), o.maxLeafNodes);
  try {
    rows.bin();
    return boost(rows, edges, y, validation, yValidation, { ...o, maxBins });
  } finally {
    rows.release();
  }
}

/** The boosting rounds of `fitGbdt` on binned rows. */
function boost(rows: RowWorkers, edges: Float32Array[], y: Float64Array, validation: Matrix, yValidation: Float64Array, o: Required<GbdtOptions> & { l2: number; features: string[]; classes: string[]; onIteration?: () => void }): GbdtModel {
  const n = y.length;
  const classes = o.classes;
  const outputs = outputsOf(classes);
  const grower = new TreeGrower(rows, edges, o);

  const baseline = new Array<number>(outputs).fill(0);
  if (classes.length === 0) baseline[0] = n > 0 ? y.reduce((s, v) => s + v, 0) / n : 0;
  else {
    const counts = new Float64Array(classes.length);
    for (let i = 0; i < n; i++) counts[y[i]]++;
    const share = (c: number) => Math.min(1 - 1e-12, Math.max(1e-12, counts[c] / n));
    if (outputs === 1) baseline[0] = Math.log(share(1) / share(0));
    else for (let k = 0; k < outputs; k++) baseline[k] = Math.log(share(k));
  }
  // the raw scores live in shared memory, where the helpers compute gradients from them
  const raw = rows.s.raw;
  rows.s.y.set(y);
  for (let i = 0; i < n; i++) for (let k = 0; k < outputs; k++) raw[i * outputs + k] = baseline[k];
  const rawValidation = new Float64Array(validation.rows * outputs);
  for (let i = 0; i < validation.rows; i++) for (let k = 0; k < outputs; k++) rawValidation[i * outputs + k] = baseline[k];

  const gh = rows.s.gh;
  const probabilities = new Float64Array(n * outputs);
  const trees: Tree[] = [];
  let bestLoss = validation.rows > 0 ? lossOf(rawValidation, yValidation, classes) : Infinity;
  let bestRounds = 0;
  for (let round = 1; round <= o.maxIter; round++) {
    o.onIteration?.();
    if (outputs > 1) { probabilities.set(raw); softmaxRows(probabilities, n, outputs); }
    for (let k = 0; k < outputs; k++) {
      if (outputs === 1) rows.gradients(classes.length === 0 ? 1 : 0);
      else {
        for (let i = 0; i < n; i++) {
          const p = probabilities[i * outputs + k];
          gh[2 * i] = p - (y[i] === k ? 1 : 0);
          gh[2 * i + 1] = Math.max(p * (1 - p), 1e-16);
        }
      }
      const tree = grower.grow(k, outputs);
      addTreeToRows(tree, validation, rawValidation, outputs);
      trees.push(tree);
    }
    if (validation.rows === 0) { bestRounds = round; continue; } // nothing to stop on: keep every round
    const loss = lossOf(rawValidation, yValidation, classes);
    if (loss < bestLoss - 1e-7) { bestLoss = loss; bestRounds = round; }
    else if (round - bestRounds >= o.patience) break;
  }
  return { kind: 'gbdt', features: o.features, classes, l2: o.l2, baseline, trees: trees.slice(0, bestRounds * outputs), rounds: bestRounds };
}

/** Searches the leaf L2 grid; each candidate boosts with early stopping; the lowest validation loss wins. */
export function trainGbdt(train: Float64Array[], yTrain: Float64Array, validation: Matrix, yValidation: Float64Array, options: SearchOptions & GbdtOptions & { features: string[]; classes: string[] }): { model: GbdtModel; search: SearchCandidate[] } {
  return searchL2(options, (l2) => {
    const model = fitGbdt(train, yTrain, validation, yValidation, { ...options, l2 });
    return { model, validationLoss: lossOf(rawScores(model, validation), yValidation, model.classes), iterations: model.rounds };
  });
}
