/**
 * Traffic policies: how an API replica routes a model's requests while a rollout puts a new version
 * beside production. Each rollout strategy names its policy (src/rollouts); the model server asks the
 * policy of the route's strategy where each request goes, and knows nothing of strategies itself.
 * Pure: no I/O, no clock; the request's draw is the only chance involved, and the caller supplies it.
 */

/** Where one request goes: which version answers it, and whether the new version also scores it. */
export interface Destination {
  answeredBy: 'production' | 'candidate';
  /** Production answers, and the new version scores the same rows afterwards, for comparison only. */
  mirrored: boolean;
}

/** Production answers alone (also where a model without a route sends every request). */
export const PRODUCTION: Destination = Object.freeze({ answeredBy: 'production', mirrored: false });
const CANDIDATE: Destination = Object.freeze({ answeredBy: 'candidate', mirrored: false });
const MIRRORED: Destination = Object.freeze({ answeredBy: 'production', mirrored: true });

export interface TrafficPolicy {
  /**
   * The new version takes every request at once, so the rollout makes it production itself (moving the
   * alias) rather than routing beside production: nothing needs to be in production before it starts,
   * and its promotion is where it begins. Otherwise the new version needs a production version to sit beside.
   */
  replacesProduction: boolean;
  /**
   * Where a request goes. `share` is the route's percent; `draw` in [0, 100) is the request's place in
   * the traffic (see requestDraw). Called on every request: it must not allocate.
   */
  route(share: number, draw: number): Destination;
  /** The share of requests the new version answers, for a route's `share` (the traffic gauge). */
  answered(share: number): number;
  /** The share of requests the new version scores without answering them. */
  mirrored(share: number): number;
}

/** The new version answers `share` percent of requests; one routing key always lands on one side. */
export const weightedSplit: TrafficPolicy = {
  replacesProduction: false,
  route: (share, draw) => (draw < share ? CANDIDATE : PRODUCTION),
  answered: (share) => share,
  mirrored: () => 0,
};

/** Production answers every request; `share` percent of them are also scored by the new version. */
export const mirror: TrafficPolicy = {
  replacesProduction: false,
  route: (share, draw) => (draw < share ? MIRRORED : PRODUCTION),
  answered: () => 0,
  mirrored: (share) => share,
};

/** Every request goes to the new version at once (a blue-green switch: the previous one stays loaded). */
export const allAtOnce: TrafficPolicy = {
  replacesProduction: true,
  route: () => CANDIDATE,
  answered: () => 100,
  mirrored: () => 0,
};

/**
 * A request's place in the traffic, in [0, 100): with a routing key, a stable hash of it (FNV-1a), so
 * one caller lands on the same side of a split for a whole step; without one, at random.
 */
export function requestDraw(routingKey: string | undefined): number {
  if (routingKey === undefined) return Math.random() * 100;
  let h = 0x811c9dc5;
  for (let i = 0; i < routingKey.length; i++) { h ^= routingKey.charCodeAt(i); h = Math.imul(h, 0x01000193); }
  return ((h >>> 0) % 10_000) / 100;
}
