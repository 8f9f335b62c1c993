/** Blue-green: the whole of traffic to the new version at once, watched through a bake, switched back on a breach. */
import { allAtOnce } from '../serving/traffic-policy';
import { BLUE_GREEN, blueGreenDeployment } from '../workflows/rollouts/blue-green';
import { defineStrategy } from './strategy';

export const blueGreen = defineStrategy({
  name: BLUE_GREEN,
  summary: 'smoke test, atomic switch, bake, switch back on a breach',
  settings: {},
  workflow: blueGreenDeployment,
  traffic: allAtOnce,
});
