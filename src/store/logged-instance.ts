/**
 * How a served input is kept in the prediction log and the review queue. An input that holds exactly the
 * model's features is stored as their values in the signature's order, `[17.99, 10.38, ...]`, not as an
 * object repeating every feature's name: for the 30-feature model that is a third of the bytes, and the
 * store parses every byte of every row twice (the batch, then the row as json). Logging 5,000 rows/s
 * into the embedded store took its thread from 42–68 to 36–42 µs of CPU a row and its garbage collector
 * from 5–16% of a core to under 1% (bench/RESULTS.md). Any other input (extra fields, or a feature
 * dropped by a privacy policy) is stored as it came. Readers turn values back into an object with the
 * names of the version that served them.
 */

import { readStored } from '../privacy/encryption';

/** The input as stored: its values in `features` order when it holds exactly those keys, else itself. */
export function packInstance(instance: unknown, features: readonly string[] | undefined): unknown {
  if (!features || instance === null || typeof instance !== 'object' || Array.isArray(instance)) return instance;
  const row = instance as Record<string, unknown>;
  let keys = 0;
  for (const key in row) {
    if (!Object.prototype.hasOwnProperty.call(row, key)) return instance;
    keys++;
  }
  if (keys !== features.length) return instance;
  const values = new Array<unknown>(features.length);
  for (let i = 0; i < features.length; i++) {
    if (!Object.prototype.hasOwnProperty.call(row, features[i])) return instance;
    values[i] = row[features[i]];
  }
  return values;
}

/** The input as served: stored values named by `features` (the serving version's), anything else as it is. */
export function unpackInstance(stored: unknown, features: readonly string[] | null | undefined): unknown {
  if (!Array.isArray(stored) || !features || stored.length !== features.length) return stored;
  const row: Record<string, unknown> = {};
  for (let i = 0; i < features.length; i++) row[features[i]] = stored[i];
  return row;
}

/** A stored input in clear and named: decrypted when it was encrypted, then named by the serving version's features. */
export function readLoggedInput(stored: unknown, keyId: string | null | undefined, keys: Record<string, Buffer>, id: string, features: readonly string[] | null | undefined): unknown {
  return unpackInstance(readStored(stored, keyId, keys, id), features);
}

/** SQL for the features of the version that served a row, given SQL for its model name and version: readers select it beside the input. */
export function servingFeaturesSql(model: string, version: string): string {
  return `(SELECT v.signature->'features' FROM model_versions v WHERE v.model_name = ${model} AND v.version = ${version})`;
}
