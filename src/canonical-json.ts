/**
 * The one canonical JSON of the platform: RFC 8785 (JSON Canonicalization Scheme) by the `canonicalize`
 * package. Object keys sorted by UTF-16 code units at every level, no whitespace, numbers and strings as
 * ECMAScript writes them, members whose value is undefined left out. What it hashes: audit chain
 * entries, step cache keys, pseudonyms of structured values. For JSON data (all three read JSON) it
 * gives the same bytes as the hand-written serialisers it replaced, so hashes stored before still
 * verify (test/canonical-json.test.ts).
 */
import canonicalize from 'canonicalize';

/**
 * The canonical text of a JSON value. NaN and infinite numbers are refused (they are not JSON);
 * a value with no JSON form at all (undefined) is written as null, as the audit log always did.
 */
export function canonicalJson(value: unknown): string {
  return canonicalize(value) ?? 'null';
}
