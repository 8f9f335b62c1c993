/**
 * API keys: `mlk_<id>_<secret>`. The id is public (it names the key in lists and the audit log); only
 * the SHA-256 of the secret is stored. Secrets are 256 random bits, so a fast hash is enough: there is
 * nothing to guess that a slow hash would protect. Keys expire and can be revoked.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Pool } from 'pg';
import type { Role } from '../auth/roles';

export interface ApiKey {
  id: string;
  name: string;
  role: Role;
  createdBy: string;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

const KEY_FORMAT = /^mlk_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;
const hashOf = (secret: string) => createHash('sha256').update(secret).digest('hex');

function toKey(r: any): ApiKey {
  const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);
  return { id: r.id, name: r.name, role: r.role, createdBy: r.created_by, createdAt: iso(r.created_at)!, expiresAt: iso(r.expires_at), revokedAt: iso(r.revoked_at), lastUsedAt: iso(r.last_used_at) };
}

/** Creates a key; the returned `token` is the only time the secret exists outside the caller's hands. */
export async function createApiKey(pool: Pool, k: { name: string; role: Role; createdBy: string; expiresAt?: Date }): Promise<ApiKey & { token: string }> {
  const id = randomBytes(9).toString('base64url').toLowerCase().replace(/[^a-z0-9]/g, '0').slice(0, 12);
  const secret = randomBytes(32).toString('base64url');
  const { rows } = await pool.query(
    'INSERT INTO api_keys (id, name, role, secret_hash, created_by, expires_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *',
    [id, k.name, k.role, hashOf(secret), k.createdBy, k.expiresAt ?? null],
  );
  return { ...toKey(rows[0]), token: `mlk_${id}_${secret}` };
}

export async function listApiKeys(pool: Pool): Promise<ApiKey[]> {
  const { rows } = await pool.query('SELECT * FROM api_keys ORDER BY created_at DESC, id');
  return rows.map(toKey);
}

/** Revokes a key for good; undefined when there is no such key. */
export async function revokeApiKey(pool: Pool, id: string): Promise<ApiKey | undefined> {
  const { rows } = await pool.query('UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1 RETURNING *', [id]);
  return rows[0] && toKey(rows[0]);
}

/** The key a bearer token names, if it is valid now (well-formed, known, secret matches, not revoked or expired). */
export async function verifyApiKey(pool: Pool, token: string): Promise<{ id: string; name: string; role: Role } | undefined> {
  const match = KEY_FORMAT.exec(token);
  if (!match) return undefined;
  const { rows } = await pool.query(
    'SELECT id, name, role, secret_hash FROM api_keys WHERE id = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())',
    [match[1]],
  );
  const row = rows[0];
  if (!row) return undefined;
  const expected = Buffer.from(row.secret_hash, 'hex');
  const given = Buffer.from(hashOf(match[2]), 'hex');
  if (!timingSafeEqual(expected, given)) return undefined;
  // when a key was last used, to the minute: enough to spot an unused key, without a write per request
  void pool.query("UPDATE api_keys SET last_used_at = now() WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')", [row.id]).catch(() => undefined);
  return { id: row.id, name: row.name, role: row.role };
}

/** A key by its id, if it is valid now (not revoked or expired): what a console session opened with it may still do. */
export async function activeApiKey(pool: Pool, id: string): Promise<{ id: string; name: string; role: Role } | undefined> {
  const { rows } = await pool.query('SELECT id, name, role FROM api_keys WHERE id = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())', [id]);
  return rows[0] && { id: rows[0].id, name: rows[0].name, role: rows[0].role };
}
