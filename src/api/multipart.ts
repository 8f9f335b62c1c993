/**
 * Reads a multipart/form-data request into memory, part by part, under limits: at most `maxFileBytes`
 * per file, the named parts only, each once. Whatever breaks a limit or the format is a clear 4xx.
 */
import busboy from 'busboy';
import type { Request } from 'express';
import { ApiError } from '../errors';

export interface MultipartLimits {
  /** Names of the file parts accepted. */
  files: string[];
  /** Names of the text parts accepted. */
  fields: string[];
  maxFileBytes: number;
  maxFieldBytes: number;
}

export interface MultipartBody {
  files: Map<string, Buffer>;
  fields: Map<string, string>;
}

export async function readMultipart(req: Request, limits: MultipartLimits): Promise<MultipartBody> {
  const type = req.get('content-type') ?? '';
  if (!/^multipart\/form-data\b/i.test(type)) throw new ApiError('invalid_request', `send multipart/form-data with the parts ${[...limits.files, ...limits.fields].map((p) => `"${p}"`).join(' and ')}, not ${type || 'a body without a content type'}`);
  if (Number(req.get('content-length') ?? 0) > limits.maxFileBytes + limits.maxFieldBytes + 64 * 1024) {
    req.resume();
    throw new ApiError('payload_too_large', `the upload is larger than MLOPS_MAX_UPLOAD (${limits.maxFileBytes} bytes)`);
  }
  let parser: busboy.Busboy;
  try {
    // one part more than allowed is let through, to be refused by name below (busboy counts reaching the limit as passing it)
    parser = busboy({ headers: req.headers, limits: { fileSize: limits.maxFileBytes, fieldSize: limits.maxFieldBytes, files: limits.files.length + 1, fields: limits.fields.length + 1, parts: limits.files.length + limits.fields.length + 1 } });
  } catch (err) {
    throw new ApiError('invalid_request', `the multipart body cannot be read: ${(err as Error).message}`);
  }
  const body: MultipartBody = { files: new Map(), fields: new Map() };
  await new Promise<void>((resolve, reject) => {
    let failed = false;
    const fail = (err: ApiError) => {
      if (failed) return;
      failed = true;
      req.unpipe(parser);
      req.resume();
      reject(err);
    };
    parser.on('file', (name, stream) => {
      if (!limits.files.includes(name) || body.files.has(name)) {
        stream.resume();
        return fail(new ApiError('invalid_request', `unexpected file part "${name}"; the parts are ${[...limits.files, ...limits.fields].map((p) => `"${p}"`).join(' and ')}`));
      }
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('limit', () => fail(new ApiError('payload_too_large', `the file "${name}" is larger than MLOPS_MAX_UPLOAD (${limits.maxFileBytes} bytes)`)));
      stream.on('end', () => { if (!failed) body.files.set(name, Buffer.concat(chunks)); });
    });
    parser.on('field', (name, value, info) => {
      if (!limits.fields.includes(name) || body.fields.has(name)) return fail(new ApiError('invalid_request', `unexpected part "${name}"; the parts are ${[...limits.files, ...limits.fields].map((p) => `"${p}"`).join(' and ')}`));
      if (info.valueTruncated) return fail(new ApiError('payload_too_large', `the part "${name}" is larger than ${limits.maxFieldBytes} bytes`));
      body.fields.set(name, value);
    });
    parser.on('partsLimit', () => fail(new ApiError('invalid_request', 'too many parts in the multipart body')));
    parser.on('filesLimit', () => fail(new ApiError('invalid_request', 'too many files in the multipart body')));
    parser.on('fieldsLimit', () => fail(new ApiError('invalid_request', 'too many fields in the multipart body')));
    parser.on('error', (err: Error) => fail(new ApiError('invalid_request', `the multipart body cannot be read: ${err.message}`)));
    parser.on('close', () => { if (!failed) resolve(); });
    req.on('aborted', () => fail(new ApiError('invalid_request', 'the upload was cut off')));
    req.pipe(parser);
  });
  return body;
}
