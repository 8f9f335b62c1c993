/**
 * Where a pipeline may read data from. A request is data, never a way to read the server's files or reach
 * its neighbours, so every source is confined:
 *   - files: only under the folders of MLOPS_DATA_ROOTS, never inside MLOPS_DATA_DIR (which holds the admin
 *     key, the artifacts and the embedded database), judged after symlinks are resolved;
 *   - URLs: http(s) only, and never to loopback, private, link-local, unique-local, multicast or cloud
 *     metadata addresses unless MLOPS_URL_ALLOW lists the host. Names are judged by every address they
 *     resolve to, and the address actually connected to is judged again (see guarded-http.ts), so a name
 *     that changes its answer between the check and the connection gains nothing.
 * The API checks at submission, the worker again when it reads: either may run on another machine.
 */
import { promises as dns } from 'node:dns';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { S3SourceSettings } from '../config';

export interface SourcePolicy {
  /** Absolute, symlink-resolved folders that file sources may be read from (the configured ones and the bundled datasets). */
  dataRoots: string[];
  /** The configured roots alone (MLOPS_DATA_ROOTS), where outputs may be written. */
  configuredRoots: string[];
  /** The platform's own data folder (symlink-resolved): never readable as a source. */
  dataDir: string;
  /** `host` or `host:port` entries (lower case) that may be reached even at internal addresses. */
  urlAllow: string[];
  /** The buckets s3:// sources may read (MLOPS_S3_SOURCE_BUCKETS) and the client settings; absent: none. */
  s3?: S3SourceSettings;
}

/** A source the policy forbids: the caller's mistake or attack, never worth retrying. */
export class SourceRefused extends Error {
  constructor(message: string, readonly setting: 'MLOPS_DATA_ROOTS' | 'MLOPS_URL_ALLOW' | 'MLOPS_S3_SOURCE_BUCKETS' | 'source') {
    super(message);
  }
}

/** The folder of the bundled datasets, readable whatever the roots are, so the demo needs no setting. */
export const BUNDLED_DATASETS = path.resolve(__dirname, '..', '..', ...(__dirname.includes(`${path.sep}dist${path.sep}`) ? ['..'] : []), 'datasets');

/** The real path of `p`: its longest existing prefix with symlinks resolved, then the rest as written. */
export function realPathLoose(p: string): string {
  const absolute = path.resolve(p);
  let existing = absolute;
  const rest: string[] = [];
  for (;;) {
    try {
      return path.join(fs.realpathSync.native(existing), ...rest);
    } catch {
      const parent = path.dirname(existing);
      if (parent === existing) return absolute;
      rest.unshift(path.basename(existing));
      existing = parent;
    }
  }
}

/** Builds a policy from configured roots; roots and data dir are resolved once, here. */
export function sourcePolicy(o: { dataRoots: string[]; dataDir: string; urlAllow: string[]; s3?: S3SourceSettings }): SourcePolicy {
  const configuredRoots = o.dataRoots.map(realPathLoose);
  const roots = [...configuredRoots, BUNDLED_ROOT];
  return { dataRoots: [...new Set(roots)], configuredRoots, dataDir: realPathLoose(o.dataDir), urlAllow: o.urlAllow.map((h) => h.toLowerCase()), ...(o.s3 ? { s3: o.s3 } : {}) };
}

/** The bundled datasets' folder, as the roots hold it. */
const BUNDLED_ROOT = realPathLoose(BUNDLED_DATASETS);

const within = (folder: string, p: string) => {
  const relative = path.relative(folder, p);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
};

/** The local path a file source names (a path or a file:// URL), made absolute. */
export function filePathOf(uri: string): string {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(uri)?.[1];
  if (scheme && scheme.toLowerCase() !== 'file') throw new SourceRefused(`only http, https and s3 URLs and files can be read, not ${scheme}:`, 'source');
  if (/^file:/i.test(uri)) {
    try {
      return fileURLToPath(uri);
    } catch (err) {
      throw new SourceRefused(`"${uri}" is not a usable file URL: ${(err as Error).message}`, 'source');
    }
  }
  return path.resolve(uri);
}

/**
 * The real path of a file source, once it is known to lie under a data root and outside the data dir.
 * Judged twice: as written (so nothing is revealed about files elsewhere) and after resolving symlinks.
 */
export function checkFile(policy: SourcePolicy, uri: string, o: { writing?: boolean } = {}): string {
  const written = filePathOf(uri);
  const real = realPathLoose(written);
  // an output goes only under the configured roots, and never into the bundled datasets (read-only),
  // even when a configured root holds them (the default root, the working directory, may) unless named
  const roots = o.writing ? policy.configuredRoots : policy.dataRoots;
  const bundledReadOnly = o.writing && !policy.configuredRoots.includes(BUNDLED_ROOT);
  for (const p of [written, real]) {
    if (bundledReadOnly && within(BUNDLED_ROOT, p)) {
      throw new SourceRefused(`${written} is inside the bundled datasets (${BUNDLED_ROOT}), which are read-only; write outputs under one of MLOPS_DATA_ROOTS elsewhere`, 'MLOPS_DATA_ROOTS');
    }
    if (within(policy.dataDir, p)) {
      throw new SourceRefused(`data files cannot be ${o.writing ? 'written to' : 'read from'} the platform's data folder (MLOPS_DATA_DIR); use a folder under one of MLOPS_DATA_ROOTS: ${roots.join(', ')}`, 'MLOPS_DATA_ROOTS');
    }
    if (!roots.some((root) => within(root, p))) {
      throw new SourceRefused(o.writing
        ? `${written} is outside the folders this server writes outputs to (MLOPS_DATA_ROOTS: ${roots.join(', ')}; the bundled datasets are read-only)`
        : `${written} is outside the folders this server reads data from (MLOPS_DATA_ROOTS: ${roots.join(', ')}); upload the file (POST /v1/datasets) or ask an admin to add its folder`, 'MLOPS_DATA_ROOTS');
    }
  }
  return real;
}

/** Addresses no source may reach without an allow-list entry. */
const INTERNAL = new net.BlockList();
for (const [address, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24],
  ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) INTERNAL.addSubnet(address, prefix, 'ipv4');
for (const [address, prefix] of [
  ['::', 128], ['::1', 128], ['64:ff9b::', 96], ['64:ff9b:1::', 48], ['100::', 64], ['2001::', 23], ['2001:db8::', 32],
  ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8],
] as const) INTERNAL.addSubnet(address, prefix, 'ipv6');

/** Whether an IP address is internal: loopback, private, link-local (cloud metadata), unique-local, reserved. */
export function isInternalAddress(address: string): boolean {
  const family = net.isIP(address);
  if (family === 4) return INTERNAL.check(address, 'ipv4');
  if (family !== 6) return true; // not an address at all: refuse rather than guess
  // an IPv4 address written as IPv6 (::ffff:127.0.0.1, or the deprecated ::127.0.0.1) is judged as IPv4
  const mapped = /^::(?:ffff:(?:0:)?)?(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped) return INTERNAL.check(mapped, 'ipv4');
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (hex) {
    const [hi, lo] = [parseInt(hex[1], 16), parseInt(hex[2], 16)];
    return INTERNAL.check(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`, 'ipv4');
  }
  return INTERNAL.check(address, 'ipv6');
}

/** Whether MLOPS_URL_ALLOW lets this host (and port) be reached at internal addresses. */
export function isAllowedHost(policy: SourcePolicy, host: string, port: number): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return policy.urlAllow.some((entry) => {
    const m = /^(\[[^\]]+\]|[^:]+|[0-9a-f:]+)(?::(\d+))?$/i.exec(entry);
    if (!m) return false;
    const allowedHost = m[1].replace(/^\[|\]$/g, '');
    return allowedHost === h && (m[2] === undefined || Number(m[2]) === port);
  });
}

/** The URL of an http(s) source, parsed; other schemes are refused. */
export function parseHttpUrl(uri: string): URL {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new SourceRefused(`"${uri}" is not a valid URL`, 'source');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new SourceRefused(`only http and https URLs can be read, not ${url.protocol}`, 'source');
  if (url.username || url.password) throw new SourceRefused('URLs with credentials in them are not accepted as sources', 'source');
  return url;
}

export const portOf = (url: URL) => Number(url.port || (url.protocol === 'https:' ? 443 : 80));

/** Refuses an address the URL's host resolved to, unless the host is allowed. */
export function checkAddress(policy: SourcePolicy, url: URL, address: string): void {
  if (isInternalAddress(address) && !isAllowedHost(policy, url.hostname, portOf(url))) {
    throw new SourceRefused(`${url.host} resolves to ${address}, an internal address (loopback, private, link-local or metadata); sources cannot reach it unless MLOPS_URL_ALLOW lists "${url.hostname}"`, 'MLOPS_URL_ALLOW');
  }
}

/**
 * Checks an http(s) URL before any request: its scheme, and every address its host resolves to.
 * A host that does not resolve is refused too: the run could not read it either.
 */
export async function checkUrl(policy: SourcePolicy, uri: string): Promise<URL> {
  const url = parseHttpUrl(uri);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isAllowedHost(policy, host, portOf(url))) return url;
  let addresses: string[];
  if (net.isIP(host)) addresses = [host];
  else {
    try {
      addresses = (await dns.lookup(host, { all: true, verbatim: true })).map((a) => a.address);
    } catch (err) {
      throw new SourceRefused(`the host of ${url.origin} cannot be resolved (${(err as NodeJS.ErrnoException).code ?? 'error'})`, 'source');
    }
  }
  for (const address of addresses) checkAddress(policy, url, address);
  return url;
}
