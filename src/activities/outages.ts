/**
 * How activities fail: a dependency that is down (PostgreSQL restarting, a network path gone, the
 * artifact disk full, the Temporal frontend away) is waited out, and anything else is given up on after
 * a few attempts. The retry policy (workflows/activity-options.ts) allows enough attempts to ride out
 * an outage of about 25 minutes; `givingUpOnFaults` makes every other failure final on its fifth attempt,
 * as the policy alone did before. So a decision that waited days for people is not lost because the
 * database restarted for half a minute as it was recorded, and a bug still fails its run within seconds.
 */
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import { ArtifactStoreFull } from '../store/artifacts';

/** Attempts a failure that is not an outage gets: the policy's old limit. */
export const ATTEMPTS_FOR_FAULTS = 5;

/** Socket errors: the other side is down or the path to it is. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNABORTED']);
/** PostgreSQL's SQLSTATEs of a server going away or not taking connections (class 08 is connection exceptions). */
const POSTGRES_DOWN = new Set(['57P01', '57P02', '57P03', '53300']);
/** What node-postgres says, without a code, when the connection it held is lost or cannot be had. */
const POSTGRES_LOST = /Connection terminated|Client has encountered a connection error|timeout exceeded when trying to connect|Connection terminated due to connection timeout/;
/** gRPC's UNAVAILABLE, as the Temporal client reports an unreachable frontend. */
const GRPC_UNAVAILABLE = 14;

/** True when the error says a dependency is down, not that this input or this code is wrong. */
export function isDependencyOutage(err: unknown): boolean {
  for (let e = err as { code?: unknown; message?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (e instanceof ArtifactStoreFull) return true;
    if (typeof e.code === 'string' && (NETWORK_CODES.has(e.code) || POSTGRES_DOWN.has(e.code) || e.code.startsWith('08'))) return true;
    if (e.code === GRPC_UNAVAILABLE) return true;
    if (typeof e.message === 'string' && POSTGRES_LOST.test(e.message)) return true;
  }
  return false;
}

/** The error to throw from an attempt: unchanged, or made final once a fault has had its attempts. */
export function finalOnFifthFault(err: unknown): unknown {
  if (err instanceof CancelledFailure || isDependencyOutage(err)) return err;
  if (Context.current().info.attempt < ATTEMPTS_FOR_FAULTS) return err;
  if (err instanceof ApplicationFailure) {
    return err.nonRetryable ? err : ApplicationFailure.create({ message: err.message, type: err.type ?? undefined, details: err.details as unknown[] | undefined, nonRetryable: true, cause: err });
  }
  const e = err instanceof Error ? err : new Error(String(err));
  return ApplicationFailure.create({ message: e.message, type: e.name, nonRetryable: true, cause: e });
}

type Activities = Record<string, (...args: never[]) => Promise<unknown>>;

/** The same activities, each failing as `finalOnFifthFault` says. */
export function givingUpOnFaults<T extends Activities>(activities: T): T {
  return Object.fromEntries(Object.entries(activities).map(([name, activity]) => [name, async (...args: never[]) => {
    try {
      return await activity(...args);
    } catch (err) {
      throw finalOnFifthFault(err);
    }
  }])) as T;
}
