/** Small pieces every router shares: async handlers, and path and query parameters checked. */
import { NextFunction, Request, Response } from 'express';
import { ApiError } from '../errors';
import { MODEL_NAME } from '../domain/model-version';

type Handler = (req: Request, res: Response) => Promise<unknown>;

/** Wraps an async handler so its errors reach the error middleware. */
export const route = (handler: Handler) => (req: Request, res: Response, next: NextFunction) => {
  handler(req, res).catch(next);
};

export function modelName(req: Request): string {
  const name = String(req.params.name);
  if (!MODEL_NAME.test(name)) throw new ApiError('not_found', `model "${name}" does not exist`);
  return name;
}

export function versionNumber(req: Request): number {
  const number = Number(req.params.version);
  if (!Number.isInteger(number) || number < 1 || number > 2 ** 31 - 1) throw new ApiError('invalid_request', `version must be a whole number from 1 to 2147483647, got "${req.params.version}"`);
  return number;
}


/** A name in the path (`:name`) that must match `pattern`, e.g. a connection's or a trainer's; a 400 naming the rule otherwise. */
export function namedParam(req: Request, what: string, pattern: RegExp): string {
  const name = String(req.params.name);
  if (!pattern.test(name)) throw new ApiError('invalid_request', `"${name}" is not a valid ${what} name: lower-case letters, digits, "-" and "_", starting with a letter`);
  return name;
}

export const limitOf = (value: unknown): number => {
  const limit = value === undefined ? 100 : Number(value);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new ApiError('invalid_request', 'limit must be a whole number from 1 to 1000');
  return limit;
};
