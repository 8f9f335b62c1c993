/**
 * The platform's one canonical JSON (src/canonical-json.ts, RFC 8785 by the `canonicalize` package):
 * it meets the RFC's own examples, and for JSON data it writes exactly what the two hand-written
 * serialisers it replaced wrote (copied below as they were at commit 8d72328), so audit hashes, step
 * cache keys and pseudonyms stored before it still match.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalJson } from '../src/canonical-json';
import { createRng } from '../src/ml/random';
import { pseudonym } from '../src/privacy/pii';
import { AUDIT_GENESIS, auditEntryHash } from '../src/store/audit';

/** src/store/audit.ts's serialiser before RFC 8785 (audit chain, pseudonyms). */
function legacyAuditJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => legacyAuditJson(v)).join(',')}]`;
  const entries = Object.keys(value as Record<string, unknown>).sort()
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${legacyAuditJson((value as Record<string, unknown>)[k])}`);
  return `{${entries.join(',')}}`;
}

/** src/activities/registry.ts's serialiser before RFC 8785 (step cache keys). */
function legacyRegistryJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(legacyRegistryJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).filter((k) => (value as Record<string, unknown>)[k] !== undefined).sort()
      .map((k) => `${JSON.stringify(k)}:${legacyRegistryJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Random JSON: awkward keys and strings (escapes, astral characters, keys that sort differently by code unit and code point), every kind of double. */
function randomJson(rng: () => number, depth: number): unknown {
  const pick = <T>(xs: T[]) => xs[Math.floor(rng() * xs.length)];
  const text = () => Array.from({ length: Math.floor(rng() * 6) }, () => pick(['a', 'B', 'é', '€', '\u0000', '\n', '"', '\\', '/', '\u2028', '😀', '\ufb33', '\u007f', '1', ' '])).join('');
  const number = () => {
    const bits = new DataView(new ArrayBuffer(8));
    bits.setUint32(0, Math.floor(rng() * 2 ** 32));
    bits.setUint32(4, Math.floor(rng() * 2 ** 32));
    const raw = bits.getFloat64(0);
    return pick([() => (Number.isFinite(raw) ? raw : 0), () => Math.floor(rng() * 2000) - 1000, () => rng(), () => (rng() - 0.5) * 1e-7, () => rng() * 1e22, () => -0, () => 2 ** 53 + 2])();
  };
  const kind = depth <= 0 ? Math.floor(rng() * 4) : Math.floor(rng() * 6);
  switch (kind) {
    case 0: return number();
    case 1: return text();
    case 2: return pick([true, false, null]);
    case 3: return pick([[], {}, '']);
    case 4: return Array.from({ length: Math.floor(rng() * 5) }, () => randomJson(rng, depth - 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = Math.floor(rng() * 6); i > 0; i--) o[text()] = rng() < 0.1 ? undefined : randomJson(rng, depth - 1);
      return o;
    }
  }
}

describe('canonical JSON', () => {
  it('writes RFC 8785\'s examples as the RFC does (sections 3.2.2 and 3.2.3)', () => {
    const input = JSON.parse('{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001], "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}');
    assert.equal(canonicalJson(input), '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}');
    const sorting = JSON.parse('{"\\u20ac": "Euro Sign", "\\r": "Carriage Return", "\\ufb33": "Hebrew Letter Dalet With Dagesh", "1": "One", "\\ud83d\\ude00": "Emoji: Grinning Face", "\\u0080": "Control", "\\u00f6": "Latin Small Letter O With Diaeresis"}');
    assert.equal(canonicalJson(sorting), '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}');
  });

  it('leaves out undefined members, and refuses numbers JSON cannot hold', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [2, { z: null, y: 'x' }], c: undefined } }), '{"a":{"d":[2,{"y":"x","z":null}]},"b":1}');
    assert.equal(canonicalJson(undefined), 'null');
    assert.throws(() => canonicalJson({ x: NaN }), /NaN/);
    assert.throws(() => canonicalJson([Infinity]), /Infinity/);
  });

  it('writes the same bytes as both serialisers it replaced, for 5,000 random JSON values', () => {
    const rng = createRng(8785);
    for (let i = 0; i < 5_000; i++) {
      const value = randomJson(rng, 4);
      const stored = JSON.parse(JSON.stringify(value) ?? 'null') as unknown; // what a jsonb column or a Temporal payload gives back
      for (const v of [value, stored]) {
        const ours = canonicalJson(v);
        assert.equal(ours, legacyAuditJson(v), `audit: ${JSON.stringify(v)}`);
        assert.equal(ours, legacyRegistryJson(v), `registry: ${JSON.stringify(v)}`);
      }
    }
  });

  it('keeps an audit entry hash and a pseudonym computed before the change', () => {
    // both values were computed with the hand-written serialiser (commit 8d72328)
    const entry = {
      id: 42, actor: 'alice@example.com', action: 'model.approved', subject: 'churn@3', at: '2026-11-27T10:15:30.123Z',
      details: { runId: 'pipeline-9', comment: 'ok — ✓ 𝄞 "q"\n', thresholds: { auc: 0.8, ß: 1e21, a: -0.000001 }, by: ['x', null, true, 3.14159] },
    };
    assert.equal(auditEntryHash(AUDIT_GENESIS, entry), 'fbc0f29e49a2df3f2ea8613c5cdd74eb4a5f1abfb6d75d873c2b7434127bbb72');
    assert.equal(pseudonym(Buffer.alloc(32, 7), { z: 1, a: [2, 'b'] }), 'h:de46c59c45feec9c2fb92b8c44ebafdd55a3be77580c9b6c96baee92c47ce95e');
  });
});
