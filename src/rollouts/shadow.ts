/** Shadow: the new version scores a mirrored share of traffic without answering; agreement is reported. */
import { z } from 'zod';
import { mirror } from '../serving/traffic-policy';
import { SHADOW, shadowDeployment } from '../workflows/rollouts/shadow';
import { defineStrategy } from './strategy';

export const shadow = defineStrategy({
  name: SHADOW,
  summary: 'mirror a share of traffic (`percent`, default 100), report agreement',
  settings: {
    percent: z.number().positive().max(100).optional(),
  },
  workflow: shadowDeployment,
  traffic: mirror,
});
