/**
 * The Slack approval request as people read it: a scored version shows its metrics and data version; a
 * version imported without evaluation data says, before the buttons, that it was not scored.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UNSCORED } from '../src/domain/imported-model';
import { approvalRequestMessage } from '../src/slack/approval-messages';

const base = { runId: 'train-churn-1', model: 'churn', version: 3, required: 1, links: {} };
const texts = (blocks: object[]) => JSON.stringify(blocks);

describe('the approval request message', () => {
  it('shows a scored version\'s metrics and its data version', () => {
    const m = approvalRequestMessage({ ...base, metrics: { auc: 0.91 }, datasetId: 'a'.repeat(64) });
    assert.match(texts(m.blocks), /\*auc\*\\n0\.9100/);
    assert.match(texts(m.blocks), /data version `aaaaaaaaaaaa`/);
    assert.doesNotMatch(texts(m.blocks), /not scored/i);
  });

  it('says an unscored import was not scored, shows no metrics and no data version, and keeps its buttons', () => {
    const m = approvalRequestMessage({ ...base, metrics: {}, unscored: UNSCORED });
    const types = m.blocks.map((b) => (b as { type: string }).type);
    assert.deepEqual(types, ['header', 'section', 'section', 'context', 'actions']);
    assert.match(texts(m.blocks), /Not scored: the model came without evaluation data/);
    assert.match(texts(m.blocks), /not compared with the champion/);
    assert.match(texts(m.blocks), /no data version/);
    assert.doesNotMatch(texts(m.blocks), /no production version yet/);
  });
});
