/**
 * Registered trainers: an admin registers training code by name (its command, folder, environment and
 * time limit); scientists see which trainers exist and name one in a pipeline, never a command.
 *
 *   PUT    /v1/trainers/:name   admin       register or replace
 *   GET    /v1/trainers         scientist   list (environment values withheld: they may hold credentials)
 *   GET    /v1/trainers/:name   scientist   one
 *   DELETE /v1/trainers/:name   admin       remove
 */
import type { Request } from 'express';
import path from 'node:path';
import { z } from 'zod';
import { ApiError } from '../errors';
import type { Repositories } from '../store/repositories';
import { Trainer, TRAINER_NAME } from '../store/trainers';
import { actorOf, SecuredRoutes } from './access';
import { namedParam, route } from './http';
import { parseBody } from './pipeline-requests';

/** Variables the platform sets for every trainer run: a registration may not replace them. */
export const RESERVED_TRAINER_ENV = ['MLOPS_INPUT_DIR', 'MLOPS_OUTPUT_DIR'];
export const DEFAULT_TRAINER_TIMEOUT_SECONDS = 3600;

export const trainerRequestSchema = z.strictObject({
  command: z.array(z.string().min(1).max(4096)).min(1).max(100),
  workdir: z.string().min(1).max(4096).refine((p) => path.isAbsolute(p), 'workdir is an absolute path on the worker').optional(),
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string().max(32_768), {
    error: (issue) => (issue.code === 'invalid_key' ? `environment names are letters, digits and _, not starting with a digit; got ${JSON.stringify(issue.input)}` : undefined),
  })
    .refine((env) => !RESERVED_TRAINER_ENV.some((name) => name in env), `${RESERVED_TRAINER_ENV.join(' and ')} are set by the platform`)
    .optional(),
  timeoutSeconds: z.number().int().min(1).max(7 * 24 * 3600).optional(),
});

/** What a scientist sees of a trainer: everything but the values of its environment. */
const shown = (t: Trainer) => ({ ...t, env: Object.keys(t.env).sort() });

export function trainerRoutes(routes: SecuredRoutes, deps: { repos: Pick<Repositories, 'trainers' | 'registry'> }): void {
  const { repos } = deps;
  const trainerName = (req: Request) => namedParam(req, 'trainer', TRAINER_NAME);
  routes.put('/v1/trainers/:name', 'admin', route(async (req, res) => {
    const name = trainerName(req);
    const body = parseBody(trainerRequestSchema, req.body);
    const actor = actorOf(res);
    const saved = await repos.trainers.putTrainer({
      name, command: body.command, workdir: body.workdir ?? null, env: body.env ?? {}, timeoutSeconds: body.timeoutSeconds ?? DEFAULT_TRAINER_TIMEOUT_SECONDS, createdBy: actor,
    });
    await repos.registry.recordAudit({ actor, action: 'trainer.saved', subject: `trainer:${name}`, details: { command: saved.command, workdir: saved.workdir, env: Object.keys(saved.env), timeoutSeconds: saved.timeoutSeconds } });
    res.json(shown(saved));
  }));
  routes.get('/v1/trainers', 'scientist', route(async (_req, res) => {
    res.json({ trainers: (await repos.trainers.listTrainers()).map(shown) });
  }));
  routes.get('/v1/trainers/:name', 'scientist', route(async (req, res) => {
    const trainer = await repos.trainers.getTrainer(trainerName(req));
    if (!trainer) throw new ApiError('not_found', `no trainer is named "${req.params.name}"`);
    res.json(shown(trainer));
  }));
  routes.delete('/v1/trainers/:name', 'admin', route(async (req, res) => {
    const name = trainerName(req);
    if (!(await repos.trainers.deleteTrainer(name))) throw new ApiError('not_found', `no trainer is named "${name}"`);
    await repos.registry.recordAudit({ actor: actorOf(res), action: 'trainer.removed', subject: `trainer:${name}`, details: {} });
    res.status(204).end();
  }));
}
