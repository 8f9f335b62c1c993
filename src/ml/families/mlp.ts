/** A small multilayer perceptron (1–2 ReLU hidden layers, Adam, early stopping) for every task. */
import { z } from 'zod';
import { trainMlp } from '../mlp';
import { exportMlpToOnnx } from '../onnx-export';
import { defineFamily, familyParams } from './family';

export const mlp = defineFamily({
  kind: 'mlp',
  tasks: ['binary', 'multiclass', 'regression'],
  defaultFor: [],
  summary: 'multilayer perceptron (1–2 ReLU hidden layers, Adam, early stopping; params.hidden, epochs, batchSize, learningRate, patience)',
  paramsSchema: familyParams({
    hidden: z.array(z.number().int().min(1).max(512)).min(1).max(2).optional(),
    epochs: z.number().int().min(1).max(10_000).optional(),
    batchSize: z.number().int().min(1).max(65_536).optional(),
    learningRate: z.number().positive().max(1).optional(),
    patience: z.number().int().min(1).max(1000).optional(),
  }),
  train(d, params) {
    const r = trainMlp(d.x.train, d.y.train, d.x.validation, d.y.validation, { ...d.search, ...params, seed: d.seed, features: d.features, classes: d.classes });
    return { model: r.model, l2: r.model.l2, search: r.search };
  },
  exportOnnx: (recipe, model) => exportMlpToOnnx(recipe, model),
});
