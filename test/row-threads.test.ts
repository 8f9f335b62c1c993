/**
 * The helper threads that run training and parsing passes (src/ml/row-threads.ts): a kernel that
 * throws on a helper fails the pass at once with the helper's error, and the threads go on working.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KernelFamily, RowThreads, sharedFloats, threadsForRows } from '../src/ml/row-threads';

interface Cells { out: Float64Array; failOnHelpers: Float64Array }

/** Writes each row's index; on a helper thread, throws while failOnHelpers[0] is 1. Its own source runs on helpers. */
function writeRows(s: Cells, args: Float64Array, from: number, to: number): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  if (s.failOnHelpers[0] === 1 && !require('node:worker_threads').isMainThread) throw new Error('the helper kernel broke');
  for (let i = from; i < to; i++) s.out[i] = i;
  // a slow chunk, so the lead thread cannot run every chunk before a helper wakes on a busy machine
  for (const until = Date.now() + 5; Date.now() < until;);
}

describe('row threads', () => {
  it('a kernel that throws on a helper fails the pass with its error, not a wait for the helper; the next pass works', () => {
    const n = 200_000;
    const s: Cells = { out: sharedFloats(n), failOnHelpers: sharedFloats(1) };
    const threads = new RowThreads(new KernelFamily<Cells>([writeRows], []), s, threadsForRows(n, 2));
    try {
      s.failOnHelpers[0] = 1;
      const started = Date.now();
      assert.throws(() => threads.run(0, 0, n), /a helper thread failed: Error: the helper kernel broke/);
      assert.ok(Date.now() - started < 5000, 'failed at once');
      s.failOnHelpers[0] = 0;
      s.out.fill(-1);
      threads.run(0, 0, n);
      assert.ok(s.out.every((v, i) => v === i), 'every row written by the next pass');
    } finally {
      threads.release();
    }
  });

  it('a pass too small to cut into chunks starts no helper; a large one gets every thread asked for', () => {
    assert.equal(threadsForRows(1_000, 2), 1);
    assert.equal(threadsForRows(200_000, 2), 2);
    assert.equal(threadsForRows(200_000, 1), 1);
  });
});
