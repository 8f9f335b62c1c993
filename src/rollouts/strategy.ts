/**
 * What a rollout strategy is: its name, the request settings only it takes, the workflow it runs and
 * the traffic policy replicas apply while it runs. The registry in index.ts lists the strategies; the
 * name union, the API's request schema, the OpenAPI enums, the workflow dispatch and the model server's
 * routing are derived from it. The workflow itself lives in the sandbox (src/workflows/rollouts), which
 * is why a strategy is two files: this side holds zod and serving code that workflow code may not load.
 */
import type { z } from 'zod';
import type { TrafficPolicy } from '../serving/traffic-policy';
import type { RolloutInput, RolloutStatus } from '../workflows/rollouts/rollout';

export interface RolloutStrategy<N extends string = string, S extends z.ZodRawShape = z.ZodRawShape, I extends RolloutInput = RolloutInput> {
  /** What requests write in `strategy`. Its workflow declares it, since it records it in its history. */
  name: N;
  /** One line for the API's documentation: what it does with traffic, and when it decides. */
  summary: string;
  /** The request fields only this strategy takes, beside the ones every strategy takes (src/api/rollout-requests.ts). */
  settings: S;
  /** The workflow it runs (started by function reference), with the request's fields as its input. */
  workflow: (input: I) => Promise<RolloutStatus>;
  /** How each replica routes the model's requests while it runs. */
  traffic: TrafficPolicy;
}

/** The workflow input a request makes: the shared fields and the strategy's settings, as its schemas output them. */
type InputWith<S extends z.ZodRawShape> = RolloutInput & (keyof S extends never ? unknown : z.output<z.ZodObject<S>>);

/** Declares a strategy; the identity, with the workflow's input checked against the settings and the literal name kept. */
export function defineStrategy<const N extends string, S extends z.ZodRawShape>(strategy: RolloutStrategy<N, S, InputWith<S>>): RolloutStrategy<N, S, InputWith<S>> {
  return strategy;
}
