/**
 * Named PostgreSQL source connections. An admin registers a name and a connection URL; pipelines name
 * the connection, so nobody else ever handles (or can choose) a connection string. The URL is sealed
 * with AES-256-GCM under the secrets key (its id stored beside it, for rotation), authenticated with the
 * connection's name, and never returned: lists show only a display form without the password.
 */
import { Pool } from 'pg';
import { open, seal } from '../privacy/encryption';

/** The key that seals connection URLs now, and every key that may still open older ones. */
export interface SecretsKeys {
  keyId: string;
  key: Buffer;
  decryptionKeys: Record<string, Buffer>;
}

export interface ConnectionInfo {
  name: string;
  /** The URL without its password: user, host, port, database. */
  display: string;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

export const CONNECTION_NAME = /^[a-z][a-z0-9_-]{0,62}$/;

/** The URL with its password (and any password parameter) removed, safe to show. */
export function displayUrl(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '';
  for (const key of [...u.searchParams.keys()]) if (/pass|secret|key/i.test(key)) u.searchParams.delete(key);
  return u.toString();
}

const aad = (name: string) => `connection:${name}`;

function toInfo(r: any): ConnectionInfo {
  return { name: r.name, display: r.display, createdBy: r.created_by, createdAt: new Date(r.created_at).toISOString(), updatedAt: new Date(r.updated_at).toISOString() };
}

/** Registers or replaces a connection. */
export async function putConnection(pool: Pool, keys: SecretsKeys, c: { name: string; url: string; createdBy: string }): Promise<ConnectionInfo> {
  const { rows } = await pool.query(
    `INSERT INTO source_connections (name, sealed_url, key_id, display, created_by) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (name) DO UPDATE SET sealed_url = EXCLUDED.sealed_url, key_id = EXCLUDED.key_id, display = EXCLUDED.display, updated_at = now()
     RETURNING name, display, created_by, created_at, updated_at`,
    [c.name, JSON.stringify(seal(keys.key, c.url, aad(c.name))), keys.keyId, displayUrl(c.url), c.createdBy],
  );
  return toInfo(rows[0]);
}

export async function listConnections(pool: Pool): Promise<ConnectionInfo[]> {
  const { rows } = await pool.query('SELECT name, display, created_by, created_at, updated_at FROM source_connections ORDER BY name');
  return rows.map(toInfo);
}

export async function getConnection(pool: Pool, name: string): Promise<ConnectionInfo | undefined> {
  const { rows } = await pool.query('SELECT name, display, created_by, created_at, updated_at FROM source_connections WHERE name = $1', [name]);
  return rows[0] && toInfo(rows[0]);
}

/** Removes a connection; false when there was none. */
export async function deleteConnection(pool: Pool, name: string): Promise<boolean> {
  const { rowCount } = await pool.query('DELETE FROM source_connections WHERE name = $1', [name]);
  return (rowCount ?? 0) > 0;
}

/** The connection's URL, unsealed; undefined when no connection has the name. */
export async function connectionUrl(pool: Pool, keys: SecretsKeys, name: string): Promise<string | undefined> {
  const { rows } = await pool.query('SELECT sealed_url, key_id FROM source_connections WHERE name = $1', [name]);
  if (!rows[0]) return undefined;
  const key = keys.decryptionKeys[rows[0].key_id];
  if (!key) throw new Error(`connection "${name}" is sealed with key "${rows[0].key_id}", which is not configured here (MLOPS_ENCRYPTION_KEY / MLOPS_DECRYPTION_KEYS)`);
  return String(open(key, rows[0].sealed_url, aad(name)));
}
