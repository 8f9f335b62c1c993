// The rollout workflows the worker registers, one line per strategy. The API's side of each strategy
// (request schema, traffic policy) is in src/rollouts, whose registry names these same functions.
export { blueGreenDeployment } from './blue-green';
export { canaryRollout } from './canary';
export { shadowDeployment } from './shadow';
