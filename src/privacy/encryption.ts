/**
 * Encryption at rest of logged prediction inputs: AES-256-GCM, a random 96-bit IV per row, stored in
 * the row's jsonb column as `{ "v": 1, "iv", "ct", "tag" }` (base64) with the key's id in the row's
 * `key_id` column. Reading picks the key by that id from the configured decryption keys, so rows written
 * under an older key stay readable after the encryption key changes (rotation).
 *
 * The prediction id is authenticated with the ciphertext (GCM additional data): a ciphertext copied onto
 * another row does not decrypt there.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export interface SealedValue {
  v: 1;
  iv: string;
  ct: string;
  tag: string;
}

/** A stored value that cannot be read: its key is not configured, or it was not written with the key it names. */
export class DecryptionError extends Error {
  constructor(message: string, readonly keyId?: string) {
    super(message);
  }
}

export function seal(key: Buffer, value: unknown, aad: string): SealedValue {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const ct = Buffer.concat([cipher.update(JSON.stringify(value) ?? 'null', 'utf8'), cipher.final()]);
  return { v: 1, iv: iv.toString('base64'), ct: ct.toString('base64'), tag: cipher.getAuthTag().toString('base64') };
}

function isSealed(value: unknown): value is SealedValue {
  const v = value as Partial<SealedValue> | null;
  return v !== null && typeof v === 'object' && v.v === 1 && typeof v.iv === 'string' && typeof v.ct === 'string' && typeof v.tag === 'string';
}

export function open(key: Buffer, sealed: unknown, aad: string): unknown {
  if (!isSealed(sealed)) throw new DecryptionError('the stored value is not an encrypted envelope ({ v: 1, iv, ct, tag })');
  const iv = Buffer.from(sealed.iv, 'base64');
  const tag = Buffer.from(sealed.tag, 'base64');
  if (iv.length !== 12 || tag.length !== 16) throw new DecryptionError('the encrypted envelope has an IV or tag of the wrong length');
  const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(tag);
  let text: string;
  try {
    text = Buffer.concat([decipher.update(Buffer.from(sealed.ct, 'base64')), decipher.final()]).toString('utf8');
  } catch {
    throw new DecryptionError('the stored value does not authenticate: a wrong key, or the ciphertext or its row was altered');
  }
  return JSON.parse(text);
}

/**
 * A stored input as it was logged: clear when the row names no key (written without encryption),
 * else decrypted with the key the row names. `aad` is the row's prediction id.
 */
export function readStored(stored: unknown, keyId: string | null | undefined, keys: Record<string, Buffer>, aad: string): unknown {
  if (keyId === null || keyId === undefined) return stored;
  const key = Object.prototype.hasOwnProperty.call(keys, keyId) ? keys[keyId] : undefined;
  if (!key) throw new DecryptionError(`a row is encrypted with key "${keyId}", which is not configured here: add it to MLOPS_DECRYPTION_KEYS ("${keyId}:<base64>")`, keyId);
  try {
    return open(key, stored, aad);
  } catch (err) {
    if (err instanceof DecryptionError) throw new DecryptionError(`${err.message} (key "${keyId}")`, keyId);
    throw err;
  }
}
