// Entry point of the workflow bundle: every workflow the worker runs, by name.
export { trainingPipeline } from './training-pipeline';
