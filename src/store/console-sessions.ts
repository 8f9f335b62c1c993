/**
 * The web console's sessions. A session is opened by presenting an API key and is bound to it: the
 * cookie carries a random id whose SHA-256 is the row's key, so the table alone signs nobody in. The
 * key itself is not kept; each request re-reads the key's row (store/api-keys.ts), so a revoked or
 * expired key ends every session opened with it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Pool } from 'pg';

export interface ConsoleSession {
  /** The API key the session was opened with; undefined for the configured admin key. */
  keyId?: string;
  /** Which admin key opened it (a hash of a hash): a changed MLOPS_ADMIN_KEY ends admin sessions. */
  adminFingerprint?: string;
  /** The session's anti-forgery token: every state change must echo it. */
  csrfToken: string;
  expiresAt: string;
}

const hashOf = (id: string) => createHash('sha256').update(id).digest('hex');

/** Opens a session; the returned `id` goes in the cookie and exists nowhere else. */
export async function createConsoleSession(pool: Pool, s: { keyId?: string; adminFingerprint?: string; ttlSeconds: number }): Promise<ConsoleSession & { id: string }> {
  const id = randomBytes(32).toString('base64url');
  const csrfToken = randomBytes(32).toString('base64url');
  const { rows } = await pool.query(
    `INSERT INTO console_sessions (id_hash, key_id, admin_fingerprint, csrf_token, expires_at)
     VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5)) RETURNING expires_at`,
    [hashOf(id), s.keyId ?? null, s.adminFingerprint ?? null, csrfToken, s.ttlSeconds],
  );
  return { id, ...(s.keyId ? { keyId: s.keyId } : {}), ...(s.adminFingerprint ? { adminFingerprint: s.adminFingerprint } : {}), csrfToken, expiresAt: new Date(rows[0].expires_at).toISOString() };
}

/** The session a cookie's id names, unless it has expired (expired rows are removed as they are met). */
export async function findConsoleSession(pool: Pool, id: string): Promise<ConsoleSession | undefined> {
  const { rows } = await pool.query('SELECT key_id, admin_fingerprint, csrf_token, expires_at, expires_at <= now() AS expired FROM console_sessions WHERE id_hash = $1', [hashOf(id)]);
  const row = rows[0];
  if (!row) return undefined;
  if (row.expired) {
    await pool.query('DELETE FROM console_sessions WHERE id_hash = $1', [hashOf(id)]);
    return undefined;
  }
  return { ...(row.key_id ? { keyId: row.key_id } : {}), ...(row.admin_fingerprint ? { adminFingerprint: row.admin_fingerprint } : {}), csrfToken: row.csrf_token, expiresAt: new Date(row.expires_at).toISOString() };
}

/** Ends a session (sign-out, or a key found revoked); true when there was one. */
export async function deleteConsoleSession(pool: Pool, id: string): Promise<boolean> {
  const { rowCount } = await pool.query('DELETE FROM console_sessions WHERE id_hash = $1', [hashOf(id)]);
  return (rowCount ?? 0) > 0;
}

/** Removes expired sessions; returns how many. */
export async function pruneConsoleSessions(pool: Pool): Promise<number> {
  const { rowCount } = await pool.query('DELETE FROM console_sessions WHERE expires_at <= now()');
  return rowCount ?? 0;
}
