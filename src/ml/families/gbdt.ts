/** Histogram gradient-boosted trees for every task, exported as an ONNX-ML TreeEnsemble. */
import { z } from 'zod';
import { trainGbdt } from '../gbdt';
import { exportGbdtToOnnx } from '../onnx-export';
import { defineFamily, familyParams } from './family';

export const gbdt = defineFamily({
  kind: 'gbdt',
  tasks: ['binary', 'multiclass', 'regression'],
  defaultFor: [],
  summary: 'gradient-boosted trees (histogram, leaf-wise, early stopping; params.maxIter, learningRate, maxLeafNodes, minSamplesLeaf, maxBins, patience; the L2 applies to leaf values)',
  paramsSchema: familyParams({
    maxIter: z.number().int().min(1).max(10_000).optional(),
    learningRate: z.number().positive().max(1).optional(),
    maxLeafNodes: z.number().int().min(2).max(4096).optional(),
    minSamplesLeaf: z.number().int().min(1).max(1_000_000).optional(),
    maxBins: z.number().int().min(2).max(255).optional(),
    patience: z.number().int().min(1).max(1000).optional(),
  }),
  train(d, params) {
    const r = trainGbdt(d.x.train, d.y.train, d.x.validation, d.y.validation, { ...d.search, ...params, seed: d.seed, features: d.features, classes: d.classes });
    return { model: r.model, l2: r.model.l2, search: r.search };
  },
  exportOnnx: (recipe, model) => exportGbdtToOnnx(recipe, model),
});
