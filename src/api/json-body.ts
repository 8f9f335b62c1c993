/**
 * Reads plain JSON bodies: `application/json` (or `+json`) in UTF-8, not compressed. That is what every
 * predict request sends, and body-parser's general path (charset decoding, inflation, stream helpers)
 * costs a predict about a tenth of its time. Anything else (a compressed body, another charset, another
 * type) is left to express.json() behind this one, which skips a body already read.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import bytes from 'bytes';
import { ApiError } from '../errors';

const PLAIN_JSON = /^application\/(?:[\w.+-]+\+)?json\s*(?:;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;

export function plainJsonBody(limit: string): RequestHandler {
  const maxBytes = bytes.parse(limit);
  if (maxBytes === null || !Number.isFinite(maxBytes)) throw new Error(`"${limit}" is not a size (as in 2mb)`);
  return (req: Request, _res: Response, next: NextFunction) => {
    const type = req.headers['content-type'];
    if (type === undefined || req.headers['content-encoding'] !== undefined || !PLAIN_JSON.test(type)) { next(); return; }
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > maxBytes) { refuse(req, next, tooLarge()); return; }
    const chunks: Buffer[] = [];
    let length = 0;
    let failed = false;
    const onData = (chunk: Buffer) => {
      length += chunk.length;
      if (length > maxBytes) { failed = true; cleanup(); refuse(req, next, tooLarge()); return; }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      if (failed) return;
      const text = (chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, length)).toString('utf8');
      try {
        req.body = parseStrict(text);
      } catch (err) {
        next(new ApiError('invalid_json', `the body is not valid JSON: ${(err as Error).message}`));
        return;
      }
      next();
    };
    const onError = (err: Error) => { cleanup(); if (!failed) { failed = true; next(err); } };
    const cleanup = () => { req.off('data', onData); req.off('end', onEnd); req.off('error', onError); };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  };
}

/** An object or array, as express.json({ strict: true }) takes; an empty body reads as {}, as there. */
function parseStrict(text: string): unknown {
  const first = text.trimStart()[0];
  if (first === undefined) return {};
  if (first !== '{' && first !== '[') throw new SyntaxError(`a body must be a JSON object or array, not one starting with "${first}"`);
  return JSON.parse(text);
}

const tooLarge = () => new ApiError('payload_too_large', 'the body is larger than the server accepts');

/** Answers the error now and reads the rest of the body into nothing, so the connection stays usable. */
function refuse(req: Request, next: NextFunction, err: ApiError): void {
  req.resume();
  next(err);
}
