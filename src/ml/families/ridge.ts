/** Ridge linear regression, solved in closed form for each L2 strength. */
import { trainRidge } from '../ridge';
import { exportRidgeToOnnx } from '../onnx-export';
import { defineFamily, familyParams } from './family';

export const ridge = defineFamily({
  kind: 'ridge',
  tasks: ['regression'],
  defaultFor: ['regression'],
  summary: 'ridge regression (closed form)',
  paramsSchema: familyParams({}),
  train(d) {
    const r = trainRidge(d.x.train, d.y.train, d.x.validation, d.y.validation, { ...d.search, features: d.features });
    return { model: r.model, l2: r.model.l2, search: r.search };
  },
  exportOnnx: (recipe, model) => exportRidgeToOnnx(recipe, model),
});
