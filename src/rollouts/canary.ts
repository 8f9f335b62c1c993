/** Canary: a growing share of traffic to the new version, judged against production after every step. */
import { z } from 'zod';
import { weightedSplit } from '../serving/traffic-policy';
import { CANARY, canaryRollout } from '../workflows/rollouts/canary';
import { defineStrategy } from './strategy';

export const canary = defineStrategy({
  name: CANARY,
  summary: 'traffic steps, each baked and compared with production; a breach rolls back and alerts',
  settings: {
    steps: z.array(z.number().positive().max(100)).min(1).max(20)
      .refine((s) => s.every((p, i) => i === 0 || p > s[i - 1]), 'steps must increase')
      .refine((s) => s[s.length - 1] === 100, 'the last step must be 100').optional(),
  },
  workflow: canaryRollout,
  traffic: weightedSplit,
});
