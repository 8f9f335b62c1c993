/** Binary logistic regression (Newton; `penalty: "l1"` makes the searched strength an L1 one). */
import { z } from 'zod';
import { trainLogistic } from '../logistic';
import { exportLogisticToOnnx } from '../onnx-export';
import { defineFamily, familyParams } from './family';

export const logistic = defineFamily({
  kind: 'logistic',
  tasks: ['binary'],
  defaultFor: ['binary'],
  summary: 'logistic regression (Newton, L2; params.penalty "l1" for sparse weights by proximal Newton)',
  paramsSchema: familyParams({
    // which penalty the searched strength applies to
    penalty: z.enum(['l2', 'l1']).optional(),
  }),
  train(d, params) {
    const penalty = params.penalty ?? 'l2';
    const r = trainLogistic(d.x.train, d.y.train, d.x.validation, d.y.validation, { ...d.search, penalty, features: d.features, classes: d.classes as [string, string] });
    // for an L1 fit, the searched strength is the L1 one
    return { model: r.model, l2: penalty === 'l1' ? r.model.l1! : r.model.l2, search: r.search };
  },
  exportOnnx: (recipe, model) => exportLogisticToOnnx(recipe, model),
});
