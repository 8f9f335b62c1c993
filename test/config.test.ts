/** Settings read from the environment: bad values stop the process with the variable's name. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../src/config';

describe('configuration', () => {
  it('reads the serving settings, with their defaults', () => {
    assert.deepEqual(loadConfig({}).api.microBatch, { windowMs: 0, maxRows: 256 });
    const set = loadConfig({ MLOPS_MICRO_BATCH_WINDOW_MS: '2.5', MLOPS_MICRO_BATCH_MAX_ROWS: '1', MLOPS_MAX_BODY: '512kb' });
    assert.deepEqual(set.api.microBatch, { windowMs: 2.5, maxRows: 1 });
    assert.equal(set.api.maxBody, '512kb');
  });

  it('refuses serving settings out of range or not numbers, naming them', () => {
    for (const [name, value] of [
      ['MLOPS_MICRO_BATCH_WINDOW_MS', '-1'], ['MLOPS_MICRO_BATCH_WINDOW_MS', 'soon'], ['MLOPS_MICRO_BATCH_WINDOW_MS', '5000'],
      ['MLOPS_MICRO_BATCH_MAX_ROWS', '0'], ['MLOPS_MICRO_BATCH_MAX_ROWS', '2.5'], ['MLOPS_MAX_BODY', 'lots'], ['MLOPS_MAX_BODY', '0kb'],
    ]) {
      assert.throws(() => loadConfig({ [name]: value }), (err: Error) => err instanceof ConfigError && err.message.includes(name), `${name}=${value}`);
    }
  });
});
