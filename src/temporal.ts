/** Connections to Temporal, and the search attributes our workflows show in the Web UI. */
import { Client, Connection, TLSConfig, WorkflowClientInterceptor } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { TemporalTls } from './config';
import { SEARCH_ATTRIBUTE_KEYS } from './workflows/definitions';

/** Where a Temporal frontend is and how to authenticate to it: the address, TLS and API key settings. */
export interface TemporalTarget {
  address: string;
  tls?: TemporalTls;
  apiKey?: string;
}

/**
 * The options every connection takes, the client's (API, CLI, schedules) and the worker's
 * (NativeConnection) alike: both SDK connection kinds accept this shape. An API key travels as
 * `authorization: Bearer <key>` metadata and needs TLS, which config.ts switches on with it.
 */
export function connectionOptions(target: TemporalTarget): { address: string; tls?: TLSConfig; apiKey?: string } {
  const { tls } = target;
  return {
    address: target.address,
    ...(tls ? {
      tls: {
        ...(tls.ca ? { serverRootCACertificate: tls.ca } : {}),
        ...(tls.clientCert ? { clientCertPair: { crt: tls.clientCert.cert, key: tls.clientCert.key } } : {}),
        ...(tls.serverName ? { serverNameOverride: tls.serverName } : {}),
      },
    } : {}),
    ...(target.apiKey ? { apiKey: target.apiKey } : {}),
  };
}

/** A client; `workflowInterceptors` see every workflow call it makes (tracing: src/telemetry/temporal-tracing.ts). */
export async function connectClient(target: TemporalTarget, namespace: string, workflowInterceptors: WorkflowClientInterceptor[] = []): Promise<Client> {
  const connection = await Connection.connect(connectionOptions(target));
  return new Client({ connection, namespace, ...(workflowInterceptors.length > 0 ? { interceptors: { workflow: workflowInterceptors } } : {}) });
}

/**
 * Makes sure our custom search attributes exist, creating them where the server allows it
 * (dev server, self-hosted). Returns false when they are missing and cannot be created
 * (e.g. Temporal Cloud without permissions): runs then carry only their memo.
 */
export async function ensureSearchAttributes(client: Client): Promise<boolean> {
  const operator = client.connection.operatorService;
  const namespace = client.options.namespace;
  try {
    const existing = await operator.listSearchAttributes({ namespace });
    const missing = SEARCH_ATTRIBUTE_KEYS.filter((k) => !(k.name in (existing.customAttributes ?? {})));
    if (missing.length === 0) return true;
    await operator.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((k) => [k.name, temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD])),
    });
    return true;
  } catch {
    return false;
  }
}
