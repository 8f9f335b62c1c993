/**
 * What the domain says when it refuses: the caller asked for something that does not exist, conflicts
 * with the state of things, is invalid, or is not theirs to ask. Use cases and stores throw these; the
 * API maps them onto HTTP answers in one place (api/http-errors.ts), the CLI and workflows read the code.
 */
/** `failed`: the work was attempted and did not succeed; the message says why (an answer the caller can act on, not a bug). */
export type DomainErrorCode = 'invalid' | 'not_found' | 'conflict' | 'forbidden' | 'unavailable' | 'failed';

export class DomainError extends Error {
  constructor(readonly code: DomainErrorCode, message: string, readonly details?: unknown) {
    super(message);
  }
}
