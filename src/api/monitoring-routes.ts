/**
 * Routes of monitoring and maintenance: a model's checks and settings, reports, retraining, schedules,
 * the review queue (active learning) and alerts.
 */
import type { Config } from '../config';
import { listAlerts } from '../alerts/alerter';
import { ApiError } from '../errors';
import { labelReviewItem } from '../usecases/review';
import { driftReportHtml, loadCheck, versionReportHtml } from '../usecases/reports';
import { ArtifactStore } from '../store/artifacts';
import type { Response } from 'express';
import { actorOf, requireRoleFor, SecuredRoutes } from './access';
import { limitOf, modelName, route, versionNumber } from './http';
import type { MonitoringService } from '../usecases/monitoring';
import { monitorConfigSchema, retrainRequestSchema, scheduleRequestSchema } from './monitoring-requests';
import { parseBody } from './pipeline-requests';
import { z } from 'zod';
import type { Repositories } from '../store/repositories';

export const labelSchema = z.strictObject({ label: z.union([z.string().min(1).max(500), z.number().finite(), z.boolean()]), by: z.string().min(1).max(200).optional() });
export const scheduleChangeSchema = z.strictObject({ note: z.string().max(500).optional() });

export function monitoringRoutes(router: SecuredRoutes, deps: {
  repos: Repositories; artifacts: ArtifactStore; monitoring: MonitoringService; uiUrl: (id: string) => string;
  /** Keys that decrypt review items' inputs (encrypted at rest when MLOPS_ENCRYPTION_KEY is set). */
  privacy?: Pick<Config['privacy'], 'decryptionKeys'>;
}): void {
  const keys = deps.privacy?.decryptionKeys ?? {};
  const { repos, artifacts, monitoring } = deps;

  router.get('/v1/models/:name/monitoring', 'viewer', route(async (req, res) => {
    res.json(await monitoring.overview(modelName(req)));
  }));
  router.put('/v1/models/:name/monitoring', 'approver', route(async (req, res) => {
    const body = parseBody(monitorConfigSchema, req.body ?? {});
    const result = await monitoring.configure(modelName(req), body);
    await repos.registry.recordAudit({ actor: actorOf(res), action: 'monitoring.configured', subject: modelName(req), details: body });
    res.json(result);
  }));
  router.post('/v1/models/:name/monitoring/run', 'scientist', route(async (req, res) => {
    res.json(await monitoring.runNow(modelName(req), req.get('Idempotency-Key') ?? undefined));
  }));
  const reports = { repos, artifacts, uiUrl: deps.uiUrl };
  router.get('/v1/models/:name/monitoring/checks/:checkId', 'viewer', route(async (req, res) => {
    res.json(await loadCheck(repos, modelName(req), String(req.params.checkId)));
  }));
  router.get('/v1/models/:name/monitoring/checks/:checkId/report', 'viewer', route(async (req, res) => {
    res.type('html').send(await driftReportHtml(reports, modelName(req), String(req.params.checkId)));
  }));
  router.get('/v1/models/:name/versions/:version/report', 'viewer', route(async (req, res) => {
    res.type('html').send(await versionReportHtml(reports, modelName(req), versionNumber(req)));
  }));
  router.post('/v1/models/:name/retrain', 'scientist', route(async (req, res) => {
    const body = parseBody(retrainRequestSchema, req.body ?? {});
    const result = await monitoring.retrain(modelName(req), { ...body, by: actorOf(res, body.by) }, req.get('Idempotency-Key') ?? undefined);
    res.status(result.retraining === 'started' ? 202 : 409).json(result);
  }));

  router.get('/v1/schedules', 'viewer', route(async (req, res) => {
    res.json({ schedules: await monitoring.schedules(typeof req.query.model === 'string' ? req.query.model : undefined) });
  }));
  /** A model's monitor is its monitoring: creating, pausing or deleting its schedule takes the approver role, as changing monitoring does. */
  const mayChange = (res: Response, kind: string, id: string) => {
    if (kind === 'monitor') requireRoleFor(res, 'approver', `schedule "${id}" runs the model's monitoring checks: changing it`);
  };
  router.post('/v1/schedules', 'scientist', route(async (req, res) => {
    const request = parseBody(scheduleRequestSchema, req.body);
    mayChange(res, request.kind, `${request.kind} of ${request.model}`);
    const created = await monitoring.createSchedule(request);
    await repos.registry.recordAudit({ actor: actorOf(res), action: 'schedule.created', subject: created.id, details: req.body });
    res.status(201).location(`/v1/schedules/${created.id}`).json(created);
  }));
  router.get('/v1/schedules/:id', 'viewer', route(async (req, res) => {
    res.json(await monitoring.schedule(String(req.params.id)));
  }));
  for (const change of ['pause', 'unpause'] as const) {
    router.post(`/v1/schedules/:id/${change}`, 'scientist', route(async (req, res) => {
      const id = String(req.params.id);
      const note = parseBody(scheduleChangeSchema, req.body ?? {}).note;
      await monitoring.changeSchedule(id, change, note, (s) => mayChange(res, s.kind, id));
      await repos.registry.recordAudit({ actor: actorOf(res), action: `schedule.${change}d`, subject: id, details: { note } });
      res.json(await monitoring.schedule(id));
    }));
  }
  router.delete('/v1/schedules/:id', 'scientist', route(async (req, res) => {
    const id = String(req.params.id);
    await monitoring.changeSchedule(id, 'delete', undefined, (s) => mayChange(res, s.kind, id));
    await repos.registry.recordAudit({ actor: actorOf(res), action: 'schedule.deleted', subject: id, details: {} });
    res.status(204).end();
  }));

  router.get('/v1/review', 'viewer', route(async (req, res) => {
    const state = req.query.state === undefined ? 'open' : String(req.query.state);
    if (state !== 'open' && state !== 'labelled') throw new ApiError('invalid_request', 'state is "open" or "labelled"');
    const model = typeof req.query.model === 'string' ? req.query.model : undefined;
    res.json({ items: await repos.review.listReview({ model, state, limit: limitOf(req.query.limit), keys }) });
  }));
  router.post('/v1/review/:id/label', 'scientist', route(async (req, res) => {
    const body = parseBody(labelSchema, req.body);
    const item = await labelReviewItem(repos, String(req.params.id), String(body.label), actorOf(res, body.by), keys);
    res.json(item);
  }));

  router.get('/v1/alerts', 'viewer', route(async (req, res) => {
    const model = typeof req.query.model === 'string' ? req.query.model : undefined;
    res.json({ alerts: await listAlerts(repos, { model, limit: limitOf(req.query.limit) }) });
  }));
}
