/** The API's error answers, shared by the Express app and the predict fast path so both speak alike. */
import { DomainError, DomainErrorCode } from '../domain/errors';
import { ApiError, ErrorCode, STATUS_OF } from '../errors';

/** The API's word for each domain refusal: the one place domain errors become HTTP answers. */
const API_CODE_OF: Record<DomainErrorCode, ErrorCode> = {
  invalid: 'invalid_request',
  not_found: 'not_found',
  conflict: 'conflict',
  forbidden: 'forbidden',
  unavailable: 'unavailable',
  failed: 'internal',
};

/** Maps what handlers and body parsing throw onto the API's error vocabulary. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof DomainError) return new ApiError(API_CODE_OF[err.code], err.message, err.details);
  const e = err as { type?: string; status?: number; message?: string };
  if (e?.type === 'entity.parse.failed') return new ApiError('invalid_json', `the body is not valid JSON: ${e.message}`);
  if (e?.type === 'entity.too.large') return new ApiError('payload_too_large', 'the body is larger than the server accepts');
  if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported') return new ApiError('invalid_request', e.message ?? 'unsupported encoding');
  if (e?.status && e.status >= 400 && e.status < 500) return new ApiError('invalid_request', e.message ?? 'bad request');
  if (isDependencyDown(err)) return new ApiError('unavailable', 'a service the API depends on (Temporal or the database) is unreachable; try again shortly');
  const missing = missingNamespace(err);
  if (missing !== undefined) {
    return new ApiError('unavailable', `Temporal does not know the namespace "${missing}" right now: it is not registered, or Temporal cannot read its own database; try again shortly`);
  }
  return new ApiError('internal', 'internal error');
}

/**
 * PostgreSQL going away: admin_shutdown (a fast shutdown ends the session), crash_shutdown (another
 * backend crashed), cannot_connect_now (shutting down or starting up, as the chaos suite's restarts show).
 */
const DATABASE_GOING = new Set(['57P01', '57P02', '57P03']);

/** Connection failures to Temporal (gRPC UNAVAILABLE) or PostgreSQL: a 503, not a bug. */
function isDependencyDown(err: unknown): boolean {
  for (let e = err as { code?: unknown; cause?: unknown; name?: string; message?: string } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (e.code === 14 || e.code === 'ECONNREFUSED' || e.code === 'ECONNRESET' || DATABASE_GOING.has(String(e.code))) return true;
    // pg's words for a connection the server dropped (a killed postmaster), which carry no code
    if (e.message === 'Connection terminated unexpectedly') return true;
  }
  return false;
}

/**
 * The namespace Temporal said it does not know (NamespaceNotFoundError), if that is the error. A cluster
 * whose PostgreSQL is restarting answers so for a namespace that exists (the chaos suite saw it), so
 * it is a 503 to retry, never a 500; a namespace never registered reads the same and says so.
 */
function missingNamespace(err: unknown): string | undefined {
  for (let e = err as { name?: string; namespace?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (e.name === 'NamespaceNotFoundError') return String(e.namespace ?? '');
  }
  return undefined;
}

/** The status and JSON body of an error answer. */
export function errorAnswer(e: ApiError): { status: number; body: { error: { code: string; message: string; details?: unknown } } } {
  return { status: STATUS_OF[e.code], body: { error: { code: e.code, message: e.message, ...(e.details !== undefined ? { details: e.details } : {}) } } };
}

/** PostgreSQL text and jsonb cannot hold U+0000: such a request is refused at the door rather than failing in a query with a 500. */
export const NUL_REFUSED = 'text may not contain the NUL character (U+0000)';

/** Whether a parsed JSON value holds U+0000 in any string or key (plain loops: it runs on every predict body). */
export function holdsNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) {
    for (const item of value) if (holdsNul(item)) return true;
    return false;
  }
  for (const key in value) if (key.includes('\u0000') || holdsNul((value as Record<string, unknown>)[key])) return true;
  return false;
}
