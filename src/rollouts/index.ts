/**
 * The rollout strategy registry: one line per strategy. Everything that names strategies is derived
 * from it: the StrategyName union and STRATEGY_NAMES (OpenAPI enums, the CLI's --strategy), the API's
 * request schema (a union keyed by `strategy`, with each strategy's settings), the workflow a request
 * starts, and the traffic policy a replica applies to a route. Adding a strategy: its workflow in
 * src/workflows/rollouts (and a line in that folder's index.ts, the worker's list), a file here with its
 * descriptor (see strategy.ts and docs/extending.md), and a line below.
 */
import { blueGreen } from './blue-green';
import { canary } from './canary';
import { shadow } from './shadow';
import type { RolloutStrategy } from './strategy';

export const STRATEGIES = [blueGreen, canary, shadow] as const;

export type StrategyName = (typeof STRATEGIES)[number]['name'];
export const STRATEGY_NAMES = STRATEGIES.map((s) => s.name) as [StrategyName, ...StrategyName[]];

export type { RolloutStrategy } from './strategy';

/** The strategy of a name, or undefined for a name this process does not know (a newer replica's, say). */
export function findStrategy(name: string): RolloutStrategy | undefined {
  return STRATEGIES.find((s) => s.name === name);
}

/** The strategy of a name; throws for one no strategy has (a request the API should have refused). */
export function strategyOf(name: string): RolloutStrategy {
  const strategy = findStrategy(name);
  if (!strategy) throw new Error(`no rollout strategy is called "${name}"; available: ${STRATEGY_NAMES.join(', ')}`);
  return strategy;
}
