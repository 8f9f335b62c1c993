/**
 * The transport registry: how a URI's bytes are fetched. The first transport that handles a URI reads
 * it; files come last, since a path has no scheme to recognise. Adding one: a file next to this one
 * implementing Transport (transport.ts), with the policy checks inside, and a line here.
 */
import { SourceRefused } from '../source-policy';
import { fileTransport } from './file';
import { httpTransport } from './http';
import { s3Transport } from './s3';
import type { Transport } from './transport';

export const TRANSPORTS: readonly Transport[] = [httpTransport, s3Transport, fileTransport];

export type { OpenedSource, Transport } from './transport';

/** The transport for a URI. Connection strings are refused: only admins choose what a query may reach. */
export function transportFor(uri: string): Transport {
  if (/^postgres(ql)?:/i.test(uri)) throw new SourceRefused('connection strings are not accepted as sources; name a connection an admin registered: {"connection": "<name>", "query": "SELECT ..."}', 'source');
  return TRANSPORTS.find((t) => t.handles(uri))!;
}
