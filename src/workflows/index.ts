// Entry point of the workflow bundle: every workflow the worker runs, by name.
export { trainingPipeline } from './training-pipeline';
export { rollback, reproduce } from './registry-operations';
export * from './rollouts';
export { modelMonitor, retrainModel } from './monitor';
export { batchScoring } from './batch-scoring';
