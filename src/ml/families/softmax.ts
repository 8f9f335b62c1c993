/** Multinomial (softmax) logistic regression, L-BFGS with L2; learns two classes as well as many. */
import { trainSoftmax } from '../softmax';
import { exportSoftmaxToOnnx } from '../onnx-export';
import { defineFamily, familyParams } from './family';

export const softmax = defineFamily({
  kind: 'softmax',
  tasks: ['binary', 'multiclass'],
  defaultFor: ['multiclass'],
  summary: 'softmax regression (L-BFGS, L2)',
  paramsSchema: familyParams({}),
  train(d) {
    const r = trainSoftmax(d.x.train, d.y.train, d.x.validation, d.y.validation, { ...d.search, features: d.features, classes: d.classes });
    return { model: r.model, l2: r.model.l2, search: r.search };
  },
  exportOnnx: (recipe, model) => exportSoftmaxToOnnx(recipe, model),
});
