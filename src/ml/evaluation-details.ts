/**
 * What a version's report draws, computed once at evaluation from the test split's labels and the
 * model's outputs, and stored with the version (so the report never re-scores the data).
 */
import { averagePrecision, precisionRecallCurve, rocAuc, rocCurve, thinCurve } from './metrics';
import type { Task } from './task';

/** Test-split labels and the model's outputs for them (row-major, `width` per row). */
export interface Scored { y: Float64Array; outputs: Float64Array | Float32Array; width: number }

/**
 * What the version's report draws, computed once at evaluation: ROC and precision-recall curves
 * (binary), the confusion matrix (classifiers), predicted against actual (regression, a sample).
 */
export function evaluationDetails(task: Task, classes: string[], scored: Scored, confusion?: number[][]): EvaluationDetails {
  const { y, outputs, width } = scored;
  if (task === 'regression') {
    const step = Math.max(1, Math.ceil(y.length / 2000));
    const actual: number[] = [];
    const predicted: number[] = [];
    for (let i = 0; i < y.length; i += step) { actual.push(y[i]); predicted.push(outputs[i]); }
    return { task, classes, scatter: { actual, predicted } };
  }
  if (task === 'multiclass') return { task, classes, ...(confusion ? { confusion } : {}) };
  const score = Float64Array.from(y, (_, i) => outputs[i * width + 1]);
  const roc = rocCurve(y, score);
  const pr = precisionRecallCurve(y, score);
  const rocThin = thinCurve(roc.fpr, roc.tpr, 400);
  const prThin = thinCurve(pr.recall, pr.precision, 400);
  const matrix = [[0, 0], [0, 0]];
  for (let i = 0; i < y.length; i++) matrix[y[i]][score[i] >= 0.5 ? 1 : 0]++;
  return {
    task, classes, confusion: matrix,
    roc: { fpr: rocThin.xs, tpr: rocThin.ys, auc: rocAuc(y, score) },
    pr: { recall: prThin.xs, precision: prThin.ys, averagePrecision: averagePrecision(y, score) },
  };
}

export interface EvaluationDetails {
  task: Task;
  classes: string[];
  roc?: { fpr: number[]; tpr: number[]; auc: number };
  pr?: { recall: number[]; precision: number[]; averagePrecision: number };
  confusion?: number[][];
  scatter?: { actual: number[]; predicted: number[] };
}
