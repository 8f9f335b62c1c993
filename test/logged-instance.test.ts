/**
 * How served inputs are kept in the prediction log: as values in the signature's order when they hold
 * exactly the model's features, as they came otherwise; and named again when read.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { packInstance, unpackInstance } from '../src/store/logged-instance';

const features = ['x', 'c', 'y'];

describe('logged instances', () => {
  it('an input with exactly the features becomes their values in signature order, whatever order it came in', () => {
    assert.deepEqual(packInstance({ y: 3.5, x: 1, c: 'a' }, features), [1, 'a', 3.5]);
    assert.deepEqual(packInstance({ x: null, c: '', y: 0 }, features), [null, '', 0], 'null and empty values keep their place');
  });

  it('anything else is kept as it came: an extra field, a missing or renamed feature, no features, not an object', () => {
    const extra = { x: 1, c: 'a', y: 2, note: 'hi' };
    assert.equal(packInstance(extra, features), extra);
    const missing = { x: 1, c: 'a' };
    assert.equal(packInstance(missing, features), missing);
    const renamed = { x: 1, c: 'a', z: 2 };
    assert.equal(packInstance(renamed, features), renamed);
    assert.equal(packInstance(missing, undefined), missing);
    assert.deepEqual(packInstance([1, 2, 3], features), [1, 2, 3]);
    assert.equal(packInstance('text', features), 'text');
    assert.equal(packInstance(null, features), null);
    const inherited = Object.assign(Object.create({ y: 2 }), { x: 1, c: 'a' });
    assert.equal(packInstance(inherited, features), inherited, 'an inherited key is not one of the row\'s own');
  });

  it('values are named again by the serving version\'s features; objects and mismatched values pass through', () => {
    assert.deepEqual(unpackInstance([1, 'a', 3.5], features), { x: 1, c: 'a', y: 3.5 });
    assert.deepEqual(unpackInstance(packInstance({ c: 'b', y: -1, x: 2 }, features), features), { x: 2, c: 'b', y: -1 });
    const stored = { x: 1, c: 'a', y: 2, note: 'hi' };
    assert.equal(unpackInstance(stored, features), stored);
    assert.deepEqual(unpackInstance([1, 2], features), [1, 2], 'a length that does not match is not guessed at');
    assert.deepEqual(unpackInstance([1, 'a', 3.5], null), [1, 'a', 3.5], 'without the version\'s features the values stay values');
  });
});
