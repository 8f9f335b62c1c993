/**
 * The parts of MLflow's REST protocol every route shares: its error answers (`{"error_code", "message"}`
 * with the status MLflow gives each code, since the client raises on the code it reads), how a request's
 * fields arrive (a JSON body, or the query string for GETs), and page tokens.
 */
import type { Request } from 'express';
import { DomainError } from '../../domain/errors';
import { ApiError } from '../../errors';

/** MLflow's error codes this API answers with, and their HTTP statuses (as MLflow's server sends them). */
export const MLFLOW_STATUS = {
  INVALID_PARAMETER_VALUE: 400,
  MALFORMED_REQUEST: 400,
  RESOURCE_ALREADY_EXISTS: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  RESOURCE_DOES_NOT_EXIST: 404,
  ENDPOINT_NOT_FOUND: 404,
  // MLflow has no code of its own for a body over the size limit; the status says it plainly
  RESOURCE_EXHAUSTED: 413,
  REQUEST_LIMIT_EXCEEDED: 429,
  INTERNAL_ERROR: 500,
  TEMPORARILY_UNAVAILABLE: 503,
} as const;

export type MlflowErrorCode = keyof typeof MLFLOW_STATUS;

/** A refusal in MLflow's words; its message is safe to show the client. */
export class MlflowError extends Error {
  constructor(readonly code: MlflowErrorCode, message: string) {
    super(message);
  }

  get status(): number {
    return MLFLOW_STATUS[this.code];
  }
}

export const invalid = (message: string) => new MlflowError('INVALID_PARAMETER_VALUE', message);
export const missing = (message: string) => new MlflowError('RESOURCE_DOES_NOT_EXIST', message);

const FROM_API: Partial<Record<ApiError['code'], MlflowErrorCode>> = {
  invalid_request: 'INVALID_PARAMETER_VALUE',
  invalid_json: 'MALFORMED_REQUEST',
  payload_too_large: 'RESOURCE_EXHAUSTED',
  unauthorized: 'UNAUTHENTICATED',
  forbidden: 'PERMISSION_DENIED',
  not_found: 'RESOURCE_DOES_NOT_EXIST',
  conflict: 'RESOURCE_ALREADY_EXISTS',
  rate_limited: 'REQUEST_LIMIT_EXCEEDED',
  unavailable: 'TEMPORARILY_UNAVAILABLE',
};

const FROM_DOMAIN: Record<DomainError['code'], MlflowErrorCode> = {
  invalid: 'INVALID_PARAMETER_VALUE',
  not_found: 'RESOURCE_DOES_NOT_EXIST',
  // the MLflow store says conflict only when a name is taken
  conflict: 'RESOURCE_ALREADY_EXISTS',
  forbidden: 'PERMISSION_DENIED',
  unavailable: 'TEMPORARILY_UNAVAILABLE',
  failed: 'INTERNAL_ERROR',
};

/** What handlers, access checks and body parsing throw, in MLflow's words; anything unexpected is an internal error. */
export function toMlflowError(err: unknown): MlflowError {
  if (err instanceof MlflowError) return err;
  if (err instanceof DomainError) return new MlflowError(FROM_DOMAIN[err.code], err.message);
  if (err instanceof ApiError) {
    const code = FROM_API[err.code];
    return code ? new MlflowError(code, err.message) : new MlflowError('INTERNAL_ERROR', 'internal error');
  }
  const e = err as { type?: string; status?: number; message?: string; code?: unknown };
  if (e?.type === 'entity.parse.failed') return new MlflowError('MALFORMED_REQUEST', `the body is not valid JSON: ${e.message}`);
  if (e?.type === 'entity.too.large') return new MlflowError('RESOURCE_EXHAUSTED', 'the body is larger than the server accepts (MLOPS_MAX_BODY)');
  if (e?.status && e.status >= 400 && e.status < 500) return new MlflowError('MALFORMED_REQUEST', e.message ?? 'bad request');
  if (e?.code === 'ECONNREFUSED' || e?.code === 14) return new MlflowError('TEMPORARILY_UNAVAILABLE', 'a service the API depends on is unreachable; try again shortly');
  return new MlflowError('INTERNAL_ERROR', 'internal error');
}

export function errorBody(e: MlflowError): { error_code: string; message: string } {
  return { error_code: e.code, message: e.message };
}

// ---- request fields

/** A request's fields: the JSON body, or for GETs the query string (where the client puts them). */
export type Fields = Record<string, unknown>;

export function fieldsOf(req: Request): Fields {
  const source: unknown = req.method === 'GET' ? req.query : req.body;
  if (source === undefined || source === null) return {};
  if (typeof source !== 'object' || Array.isArray(source)) throw new MlflowError('MALFORMED_REQUEST', 'the body must be a JSON object');
  return source as Fields;
}

/** A text field; '' when absent. */
export function text(fields: Fields, name: string, o: { required?: boolean; max?: number } = {}): string {
  const value = fields[name];
  if (value === undefined || value === null || value === '') {
    if (o.required) throw invalid(`missing value for required parameter '${name}'`);
    return '';
  }
  if (typeof value !== 'string') throw invalid(`parameter '${name}' must be a string, got ${JSON.stringify(value)}`);
  if (o.max !== undefined && value.length > o.max) throw invalid(`parameter '${name}' is longer than ${o.max} characters`);
  return value;
}

/** A whole number (int64 arrives as a JSON number, or as text in query strings and from some encoders). */
export function integer(fields: Fields, name: string, o: { required?: boolean } = {}): number | undefined {
  const value = fields[name];
  if (value === undefined || value === null || value === '') {
    if (o.required) throw invalid(`missing value for required parameter '${name}'`);
    return undefined;
  }
  const number = typeof value === 'number' ? value : typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(number)) throw invalid(`parameter '${name}' must be a whole number, got ${JSON.stringify(value)}`);
  return number;
}

/** A double, with MLflow's JSON spellings of NaN and the infinities. */
export function double(fields: Fields, name: string): number {
  const value = fields[name];
  if (typeof value === 'number') return value;
  if (value === 'NaN') return NaN;
  if (value === 'Infinity') return Infinity;
  if (value === '-Infinity') return -Infinity;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  throw invalid(`parameter '${name}' must be a number, got ${JSON.stringify(value)}`);
}

/** A repeated field: a JSON array, or one or more query parameters of the same name. */
export function list(fields: Fields, name: string): unknown[] {
  const value = fields[name];
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

export function textList(fields: Fields, name: string): string[] {
  return list(fields, name).map((v) => {
    if (typeof v !== 'string') throw invalid(`parameter '${name}' must be a list of strings`);
    return v;
  });
}

/** MLflow's rule for metric, param and tag keys: letters, digits, _ - . space / and :, at most 250. */
const KEY = /^[\w\-. /:]{1,250}$/;

export function checkKey(key: unknown, what: string): string {
  if (typeof key !== 'string' || !KEY.test(key)) {
    throw invalid(`invalid ${what} name ${JSON.stringify(key)}: names are 1-250 letters, digits, underscores (_), dashes (-), periods (.), spaces ( ), colons (:) and slashes (/)`);
  }
  if (key.split('/').some((part) => part === '..' || part === '.') || key.startsWith('/')) throw invalid(`invalid ${what} name "${key}": it may not be a path that climbs or starts at the root`);
  return key;
}

/** `[{key, value}]` pairs (tags, params), checked. */
export function pairs(fields: Fields, name: string, what: string, maxValue: number): { key: string; value: string }[] {
  return list(fields, name).map((p) => {
    if (!p || typeof p !== 'object') throw invalid(`each of '${name}' must be an object with key and value`);
    const { key, value } = p as { key?: unknown; value?: unknown };
    const v = value === undefined || value === null ? '' : value;
    if (typeof v !== 'string') throw invalid(`the value of ${what} "${String(key)}" must be a string`);
    if (v.length > maxValue) throw invalid(`the value of ${what} "${String(key)}" is longer than ${maxValue} characters`);
    return { key: checkKey(key, what), value: v };
  });
}

export const asMap = (items: { key: string; value: string }[]) => Object.fromEntries(items.map((p) => [p.key, p.value]));

/** Longest values MLflow accepts: params 6000 characters, tags 8000. */
export const MAX_PARAM_VALUE = 6000;
export const MAX_TAG_VALUE = 8000;

// ---- paging

/** The offset a page token stands for (tokens are opaque to the client: base64 of the offset). */
export function offsetOf(token: string): number {
  if (!token) return 0;
  const match = /^offset:(\d{1,15})$/.exec(Buffer.from(token, 'base64url').toString('utf8'));
  if (!match) throw invalid('invalid page_token');
  return Number(match[1]);
}

export function tokenFor(offset: number): string {
  return Buffer.from(`offset:${offset}`, 'utf8').toString('base64url');
}

/** `max_results`, defaulting as MLflow does per call, refused above the most one page may hold. */
export function pageSize(fields: Fields, o: { default: number; max: number }): number {
  const size = integer(fields, 'max_results') ?? o.default;
  if (size < 1 || size > o.max) throw invalid(`max_results must be between 1 and ${o.max}, got ${size}`);
  return size;
}

/** The `next_page_token` field of a page's answer, present only when more rows follow. */
export function nextPage(offset: number, size: number, more: boolean): { next_page_token?: string } {
  return more ? { next_page_token: tokenFor(offset + size) } : {};
}
