/**
 * durationMs (src/common/duration.ts) reads durations exactly as Temporal does: the same `ms` copy as
 * @temporalio/common, the same numbers as the SDK's own conversion, and the same TypeError for text that
 * is no duration. Workflows subtract reminders from a timeout with it, so a difference would move timers.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { msToNumber } from '@temporalio/common';
import { durationMs } from '../src/common/duration';

describe('durationMs', () => {
  it('loads the ms that @temporalio/common loads', () => {
    const sdk = require.resolve('@temporalio/common');
    assert.equal(require.resolve('ms'), require.resolve('ms', { paths: [sdk] }));
  });

  it('gives the SDK\'s milliseconds for the durations the API accepts', () => {
    for (const text of ['72 hours', '30 minutes', '1 hour', '1.5h', '2 days', '10s', '45 secs', '500ms', '3 mins', '1 hr', '2 Hours']) {
      assert.equal(durationMs(text), msToNumber(text as Parameters<typeof msToNumber>[0]), text);
    }
    assert.equal(durationMs('72 hours'), 72 * 3600 * 1000);
  });

  it('throws the SDK\'s TypeError for text that is no duration', () => {
    for (const text of ['soon', '1 fortnight', 'hours']) {
      assert.throws(() => durationMs(text), { name: 'TypeError', message: `Invalid duration string: '${text}'` });
      assert.throws(() => msToNumber(text as Parameters<typeof msToNumber>[0]), { name: 'TypeError', message: `Invalid duration string: '${text}'` });
    }
  });
});
