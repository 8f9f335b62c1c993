/**
 * The store as its users see it: one repository per module of src/store, each function with the pool
 * already given. Activities and use cases receive a `Repositories` at the composition root (worker.ts,
 * the API's stack) and never hold the pool, so what they may do to the database is exactly what these
 * types list, and a test can hand them any other implementation of the same shape.
 */
import { Pool } from 'pg';
import * as alerts from './alerts';
import * as apiKeys from './api-keys';
import * as audit from './audit';
import * as batchJobs from './batch-jobs';
import * as connections from './connections';
import * as consoleSessions from './console-sessions';
import * as datasets from './datasets';
import * as db from './db';
import * as governance from './governance';
import * as lineage from './lineage';
import * as mlflow from './mlflow';
import * as monitoring from './monitoring';
import * as predictionLog from './prediction-log';
import * as privacy from './privacy';
import * as registry from './registry';
import * as review from './review';
import * as rollouts from './rollouts';
import * as runs from './runs';
import * as servingStats from './serving-stats';
import * as slack from './slack';
import * as stepCache from './step-cache';
import * as trainers from './trainers';

/** A store module's functions that take the pool first, as functions of their other arguments. */
export type Repository<Module> = {
  readonly [Name in keyof Module as Module[Name] extends (pool: Pool, ...args: never[]) => unknown ? Name : never]:
    Module[Name] extends (pool: Pool, ...args: infer Args) => infer Result ? (...args: Args) => Result : never;
};

/**
 * Binds a store module to a pool. The binding is looked up by name when called, so only what the type
 * lists is reachable from typed code, and nothing is copied at start.
 */
export function repository<Module extends object>(pool: Pool, module: Module): Repository<Module> {
  return new Proxy({}, {
    get(_target, name) {
      const fn = (module as Record<PropertyKey, unknown>)[name];
      if (typeof fn !== 'function') return undefined;
      return (...args: unknown[]) => (fn as (...all: unknown[]) => unknown)(pool, ...args);
    },
  }) as Repository<Module>;
}

export interface Repositories {
  alerts: Repository<typeof alerts>;
  apiKeys: Repository<typeof apiKeys>;
  audit: Repository<typeof audit>;
  batchJobs: Repository<typeof batchJobs>;
  connections: Repository<typeof connections>;
  consoleSessions: Repository<typeof consoleSessions>;
  datasets: Repository<typeof datasets>;
  db: Repository<typeof db>;
  governance: Repository<typeof governance>;
  lineage: Repository<typeof lineage>;
  mlflow: Repository<typeof mlflow>;
  monitoring: Repository<typeof monitoring>;
  predictionLog: Repository<typeof predictionLog>;
  privacy: Repository<typeof privacy>;
  registry: Repository<typeof registry>;
  review: Repository<typeof review>;
  rollouts: Repository<typeof rollouts>;
  runs: Repository<typeof runs>;
  servingStats: Repository<typeof servingStats>;
  slack: Repository<typeof slack>;
  stepCache: Repository<typeof stepCache>;
  trainers: Repository<typeof trainers>;
}

export function createRepositories(pool: Pool): Repositories {
  const bind = <Module extends object>(module: Module) => repository(pool, module);
  return {
    alerts: bind(alerts), apiKeys: bind(apiKeys), audit: bind(audit), batchJobs: bind(batchJobs), connections: bind(connections), consoleSessions: bind(consoleSessions), datasets: bind(datasets), db: bind(db),
    governance: bind(governance), lineage: bind(lineage), mlflow: bind(mlflow), monitoring: bind(monitoring), predictionLog: bind(predictionLog),
    privacy: bind(privacy), registry: bind(registry), review: bind(review), rollouts: bind(rollouts), runs: bind(runs), servingStats: bind(servingStats),
    slack: bind(slack), stepCache: bind(stepCache), trainers: bind(trainers),
  };
}
