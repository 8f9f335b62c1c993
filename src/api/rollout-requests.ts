/** The body of a rollout request, one branch per registered strategy (src/rollouts), and of a promote or abort. */
import { z } from 'zod';
import { RolloutStrategy, STRATEGIES, STRATEGY_NAMES } from '../rollouts';
import { MAX_EXTENSIONS } from '../workflows/rollouts/rollout';

/**
 * Bakes one rollout may take in all, extensions included: each adds about eleven events to the
 * workflow's history, which Temporal cuts off at 51,200.
 */
export const MAX_BAKES = 3_000;

/** Request fields every strategy takes; a strategy's own ones are its `settings`. */
const SHARED_FIELDS = {
  version: z.number().int().min(1).max(2 ** 31 - 1),
  bakeSeconds: z.number().min(0).max(7 * 24 * 3600).optional(),
  thresholds: z.strictObject({
    maxErrorRateIncrease: z.number().min(0).max(1).optional(),
    maxLatencyRatio: z.number().min(1).optional(),
    minLatencyIncreaseMs: z.number().min(0).optional(),
    maxPsi: z.number().positive().optional(),
    maxAccuracyDrop: z.number().min(0).max(1).optional(),
    minLabels: z.number().int().min(1).optional(),
    minRequests: z.number().int().min(1).optional(),
    falseAlarmRate: z.number().positive().max(0.5).optional(),
  }).optional(),
  maxExtensions: z.number().int().min(0).max(1000).optional(),
  by: z.string().min(1).max(200).optional(),
};

/** A field a strategy does not take: say which strategies do, or else what this one takes. */
function notASetting(strategy: RolloutStrategy, keys: string[]): string {
  const elsewhere = keys.flatMap((key) => {
    const takers = STRATEGIES.filter((s) => key in s.settings).map((s) => s.name);
    return takers.length > 0 ? [`${key} is for ${takers.join(' and ')}`] : [];
  });
  const own = `its settings: ${[...Object.keys(SHARED_FIELDS), ...Object.keys(strategy.settings)].join(', ')}`;
  const notes = elsewhere.length === keys.length ? elsewhere : [...elsewhere, own];
  return `${strategy.name} takes no ${keys.map((k) => `"${k}"`).join(', ')} (${notes.join('; ')})`;
}

/** The request body, keyed by `strategy`: one branch per registered strategy, with its settings. */
const [firstStrategy, ...otherStrategies] = STRATEGIES.map((s) => z.strictObject({ strategy: z.literal(s.name), ...SHARED_FIELDS, ...s.settings }, {
  error: (issue) => (issue.code === 'unrecognized_keys' ? notASetting(s, issue.keys) : undefined),
}));
export const rolloutRequestSchema = z.discriminatedUnion('strategy', [firstStrategy, ...otherStrategies], {
  error: (issue) => {
    if (issue.code !== 'invalid_union') return undefined;
    const given = (issue.input as { strategy?: unknown } | undefined)?.strategy;
    return `${given === undefined ? 'required' : `${JSON.stringify(given)} is not a rollout strategy`}; available: ${STRATEGY_NAMES.join(', ')}`;
  },
}).superRefine((r, ctx) => {
  const steps = 'steps' in r && Array.isArray(r.steps) ? r.steps as number[] : undefined;
  const judged = Math.max(1, steps ? steps.filter((p) => p < 100).length : 1);
  const bakes = judged * ((r.maxExtensions ?? MAX_EXTENSIONS) + 1);
  if (bakes > MAX_BAKES) {
    ctx.addIssue({ code: 'custom', path: ['maxExtensions'], message: `${judged} judged step${judged === 1 ? '' : 's'} of up to ${(r.maxExtensions ?? MAX_EXTENSIONS) + 1} bakes each is ${bakes} bakes, over the ${MAX_BAKES} one rollout may take (its workflow history would outgrow Temporal's limit): fewer steps or a lower maxExtensions` });
  }
});

export const decisionSchema = z.strictObject({ by: z.string().min(1).max(200).optional(), reason: z.string().max(2000).optional() });
