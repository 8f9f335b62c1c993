/** A person labels an uncertain answer from the review queue (active learning): one path for the API and the console. */
import { DomainError } from '../domain/errors';
import type { ReviewItem } from '../store/review';
import type { Repositories } from '../store/repositories';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Labels the item and records who did; not_found for an id that names no item. */
export async function labelReviewItem(repos: Pick<Repositories, 'review' | 'registry'>, id: string, label: string, actor: string, keys: Record<string, Buffer>): Promise<ReviewItem> {
  if (!UUID.test(id)) throw new DomainError('not_found', `no review item has the id "${id}"`);
  const item = await repos.review.labelReviewItem(id, label, actor, keys);
  if (!item) throw new DomainError('not_found', `no review item has the id "${id}"`);
  await repos.registry.recordAudit({ actor, action: 'review.labelled', subject: `${item.model}@${item.version}`, details: { predictionId: id, label: item.label } });
  return item;
}
