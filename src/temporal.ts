/** Connections to Temporal, and the search attributes our workflows show in the Web UI. */
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTE_KEYS } from './workflows/definitions';

export async function connectClient(address: string, namespace: string): Promise<Client> {
  const connection = await Connection.connect({ address });
  return new Client({ connection, namespace });
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
