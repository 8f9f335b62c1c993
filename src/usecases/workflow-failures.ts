/** What a failed workflow says: the innermost message, and the typed failure that ended it. */
import { ApplicationFailure } from '@temporalio/client';

/** The innermost message of a failure chain: the activity's or workflow's own words, not the SDK's wrappers. */
export function rootMessage(err: unknown): string {
  let current = err as { message?: string; cause?: unknown } | undefined;
  let message = current?.message ?? String(err);
  while (current?.cause) {
    current = current.cause as { message?: string; cause?: unknown };
    if (current.message) message = current.message;
  }
  return message;
}

/** The type of the first ApplicationFailure in the chain, if any: what the workflow or activity said went wrong. */
export function failureType(err: unknown): string | undefined {
  for (let cause = err as { cause?: unknown } | undefined; cause; cause = cause.cause as typeof cause) {
    if (cause instanceof ApplicationFailure) return cause.type ?? undefined;
  }
  return undefined;
}
