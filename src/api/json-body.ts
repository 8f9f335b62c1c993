/**
 * Reads plain JSON bodies: `application/json` (or `+json`) in UTF-8, not compressed. That is what every
 * predict request sends, and body-parser's general path (charset decoding, inflation, stream helpers)
 * costs a predict about a tenth of its time. Anything else (a compressed body, another charset, another
 * type) is left to express.json() behind this one, which skips a body already read.
 */
import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import bytes from 'bytes';
import { ApiError } from '../errors';

const PLAIN_JSON = /^application\/(?:[\w.+-]+\+)?json\s*(?:;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;

/** Bytes in a size such as "2mb" (MLOPS_MAX_BODY). */
export function sizeInBytes(limit: string): number {
  const maxBytes = bytes.parse(limit);
  if (maxBytes === null || !Number.isFinite(maxBytes)) throw new Error(`"${limit}" is not a size (as in 2mb)`);
  return maxBytes;
}

/** Whether this reader takes the request's body: plain JSON, not compressed. */
export function isPlainJson(req: IncomingMessage): boolean {
  const type = req.headers['content-type'];
  return type !== undefined && req.headers['content-encoding'] === undefined && PLAIN_JSON.test(type);
}

/**
 * Reads and parses the body. A body larger than `maxBytes` (declared or sent) is refused at once and the
 * rest of it read into nothing, so the connection stays usable.
 */
export function readPlainJson(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > maxBytes) { req.resume(); reject(tooLarge()); return; }
    const chunks: Buffer[] = [];
    let length = 0;
    const onData = (chunk: Buffer) => {
      length += chunk.length;
      if (length > maxBytes) { cleanup(); req.resume(); reject(tooLarge()); return; }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      const text = (chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, length)).toString('utf8');
      try {
        resolve(parseStrict(text));
      } catch (err) {
        reject(new ApiError('invalid_json', `the body is not valid JSON: ${(err as Error).message}`));
      }
    };
    const onError = (err: Error) => { cleanup(); reject(err); };
    // a client that goes away mid-body: nothing else would settle the promise
    // (as body-parser's 'request aborted', a 400 nobody will read)
    const onClose = () => { cleanup(); reject(Object.assign(new Error('the client closed the connection before the body ended'), { status: 400, type: 'request.aborted' })); };
    const cleanup = () => { req.off('data', onData); req.off('end', onEnd); req.off('error', onError); req.off('close', onClose); };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/** Express middleware: reads plain JSON bodies into req.body and leaves every other body to the next parser. */
export function plainJsonBody(limit: string): RequestHandler {
  const maxBytes = sizeInBytes(limit);
  return (req: Request, _res: Response, next: NextFunction) => {
    if (!isPlainJson(req)) { next(); return; }
    readPlainJson(req, maxBytes).then((body) => { req.body = body; next(); }, next);
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
