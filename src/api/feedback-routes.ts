/**
 * `POST /v1/feedback`: ground truth for served predictions, by the id each prediction carries. It drives
 * live accuracy in canary analysis and quality-triggered retraining, so it needs a key unless the server
 * runs with MLOPS_FEEDBACK_AUTH=open (docs/threat-model.md).
 */
import { z } from 'zod';
import { SecuredRoutes } from './access';
import { route } from './http';
import { parseBody } from './pipeline-requests';
import type { Repositories } from '../store/repositories';

const feedbackItem = z.strictObject({ predictionId: z.string().uuid(), label: z.union([z.string().min(1).max(500), z.number().finite(), z.boolean()]) });
export const feedbackSchema = z.union([feedbackItem, z.strictObject({ items: z.array(feedbackItem).min(1).max(10_000) })]);

export function feedbackRoutes(routes: SecuredRoutes, deps: { repos: Repositories }): void {
  routes.post('/v1/feedback', 'feedback', route(async (req, res) => {
    const body = parseBody(feedbackSchema, req.body);
    const items = 'items' in body ? body.items : [body];
    const result = await deps.repos.predictionLog.recordFeedback(items.map((i) => ({ predictionId: i.predictionId, label: String(i.label) })));
    res.status(result.unknown.length === items.length ? 404 : 200).json(result.unknown.length === items.length
      ? { error: { code: 'not_found', message: `no served prediction has the id(s) ${result.unknown.slice(0, 5).join(', ')}`, details: result } }
      : result);
  }));
}
