/**
 * http(s) URLs, fetched through guarded-http.ts (no internal addresses, at connect time and on every
 * redirect). Each resource is downloaded to a temporary file, streamed, never whole in memory: a format
 * may then read it twice without a second download, and a network failure is a retryable SourceError
 * before any parsing starts. Paged APIs are followed page by page as the format asks, at most MAX_PAGES
 * and never the same URL twice; each page's file is removed once the next is asked for.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ByteSource, fileBytes } from '../byte-source';
import { guardedRequest, GuardedResponse } from '../guarded-http';
import { SourceError } from '../source-error';
import { SourcePolicy, SourceRefused } from '../source-policy';
import { saveDownload, tooLarge } from './save-download';
import type { OpenOptions, Transport } from './transport';

/** Most pages a paged source may have: a guard against endless pagination. */
export const MAX_PAGES = 10_000;

/** GETs (or HEADs) a URL under the policy; says whether a failure is worth retrying. Refusals pass through. */
async function request(policy: SourcePolicy, uri: string, o: { method?: 'GET' | 'HEAD'; timeoutMs?: number } = {}): Promise<GuardedResponse> {
  try {
    return await guardedRequest(policy, uri, o);
  } catch (err) {
    if (err instanceof SourceRefused) throw err;
    throw new SourceError(`could not fetch ${uri}: ${(err as Error).message}`, true);
  }
}

/** The `rel="next"` target of an HTTP Link header. */
function linkNext(header: string | undefined): string | undefined {
  return header?.split(',').map((part) => /<([^>]+)>\s*;\s*rel="?next"?/i.exec(part)?.[1]).find((u) => u !== undefined);
}

/** Downloads a URL to a new temporary file (added to `files` before writing), refusing more than `maxBytes`. */
async function download(policy: SourcePolicy, uri: string, files: string[], o: OpenOptions): Promise<{ file: string; size: number; link: string | undefined }> {
  const response = await request(policy, uri);
  if (response.status < 200 || response.status >= 300) {
    response.body.resume();
    // 5xx and 429 may pass; other statuses will not change on a retry
    throw new SourceError(`fetching ${uri} answered HTTP ${response.status}`, response.status >= 500 || response.status === 429);
  }
  if (o.maxBytes !== undefined && Number(response.header('content-length') ?? 0) > o.maxBytes) {
    response.body.destroy();
    throw tooLarge(uri, o.maxBytes);
  }
  const file = path.join(os.tmpdir(), `mlops-download-${randomBytes(8).toString('hex')}`);
  files.push(file);
  const size = await saveDownload(response.body, file, uri, o);
  return { file, size, link: response.header('link') };
}

export const httpTransport: Transport = {
  kind: 'http',
  handles: (uri) => /^https?:\/\//i.test(uri),
  /**
   * Asks for the headers now, so a redirect to an internal address is refused before the run starts.
   * Only refusals count here; a server that is down or refuses HEAD is the run's problem (it retries).
   */
  async check(uri, policy) {
    try {
      (await guardedRequest(policy, uri, { method: 'HEAD', timeoutMs: 10_000 })).body.resume();
    } catch (err) {
      if (err instanceof SourceRefused) throw err;
    }
    return uri;
  },
  async open(uri, policy, o) {
    const files: string[] = [];
    const seen = new Set<string>();
    const page = async (url: string, number: number): Promise<ByteSource> => {
      if (seen.has(url)) throw new SourceError(`pagination of ${uri} loops back to ${url}`, false);
      if (number > MAX_PAGES) throw new SourceError(`${uri} has more than ${MAX_PAGES} pages`, false);
      seen.add(url);
      const { file, size, link } = await download(policy, url, files, o);
      return {
        ...fileBytes(file, { name: url, size }),
        async next(linked) {
          const target = linkNext(link) ?? linked;
          if (target === undefined) return undefined;
          let nextUrl: string;
          try {
            nextUrl = new URL(target, url).toString();
          } catch {
            throw new SourceError(`page ${number} of ${uri} links to "${target}", which is not a URL`, false);
          }
          await fs.rm(file, { force: true });
          return page(nextUrl, number + 1);
        },
      };
    };
    const close = async () => { await Promise.all(files.map((f) => fs.rm(f, { force: true }))); };
    try {
      return { ...(await page(uri, 1)), close };
    } catch (err) {
      await close();
      throw err;
    }
  },
  async watermark(uri, policy) {
    const response = await request(policy, uri, { method: 'HEAD', timeoutMs: 30_000 });
    response.body.resume();
    if (response.status < 200 || response.status >= 300) return undefined;
    const tag = response.header('etag') ?? response.header('last-modified') ?? response.header('content-length');
    return tag ? `http:${tag}` : undefined;
  },
};
