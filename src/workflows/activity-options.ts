/**
 * What every workflow proxies its activities with, defined once: the failure types that mean "this input
 * will fail the same way again" (activities throw them, workflows do not retry them), and the retry
 * policy and timeout presets. Sandbox-safe: no Node imports.
 */
import type { ActivityOptions, RetryPolicy } from '@temporalio/common';

/** Failure types activities throw for failures a retry cannot mend. */
export const FAILURE_TYPES = {
  /** The data source cannot be read, or the policy refuses it. */
  dataSource: 'DataSourceError',
  /** The data is malformed (CSV, JSON Lines, encoding). */
  dataFormat: 'DataFormatError',
  /** The data does not fit the model's schema or the target. */
  dataValidation: 'DataValidationError',
  /** The model cannot be trained or scored as asked. */
  model: 'ModelError',
  /** The registry has no such model or version. */
  registryNotFound: 'RegistryNotFound',
  /** The registry refuses the change (e.g. nothing to roll back to). */
  registryConflict: 'RegistryConflict',
  /** A rollout that may not start (unapproved version, no production to compare with, a failed smoke test). */
  rolloutRefused: 'RolloutRefused',
} as const;

export type FailureType = (typeof FAILURE_TYPES)[keyof typeof FAILURE_TYPES];

/**
 * Retries with backoff from 1 s to a minute, except for the failure types given. Thirty attempts wait out
 * a dependency's outage of about 25 minutes; any other failure is made final by the activity itself on
 * its fifth attempt (activities/outages.ts), so only outages and killed workers use the rest.
 */
export function retryExcept(...nonRetryable: FailureType[]): RetryPolicy {
  return { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 30, nonRetryableErrorTypes: nonRetryable };
}

/** Timeout presets by the kind of work, each with its retry policy. */
export const ACTIVITY_PRESETS = {
  /** Store reads and writes, messages: done in a minute or retried. */
  quick: (retry: RetryPolicy): ActivityOptions => ({ startToCloseTimeout: '1 minute', retry }),
  /** Reading and scoring whole datasets: heartbeats between phases, each phase at most a minute. */
  data: (retry: RetryPolicy): ActivityOptions => ({ startToCloseTimeout: '30 minutes', heartbeatTimeout: '1 minute', retry }),
  /** Training in a worker thread: heartbeats at least every 2 s, so a dead worker is noticed in 10 s. */
  compute: (retry: RetryPolicy): ActivityOptions => ({ startToCloseTimeout: '2 hours', heartbeatTimeout: '10 seconds', retry }),
  /** A window of traffic tested feature by feature: heartbeats between phases. */
  checks: (retry: RetryPolicy): ActivityOptions => ({ startToCloseTimeout: '15 minutes', heartbeatTimeout: '2 minutes', retry }),
} as const;

/** The task queue of registered trainers (training code from outside): only workers that opt in poll it. */
export const CUSTOM_TRAINING_QUEUE = 'mlops-custom-training';
