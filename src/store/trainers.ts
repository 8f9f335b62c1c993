/**
 * Registered trainers: training code an admin named and described (a command, its folder, its
 * environment, its time limit). Pipelines name a trainer; nobody but an admin chooses what runs.
 */
import { Pool } from 'pg';

export interface Trainer {
  name: string;
  /** The program and its arguments, run without a shell. */
  command: string[];
  workdir: string | null;
  env: Record<string, string>;
  timeoutSeconds: number;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

export const TRAINER_NAME = /^[a-z][a-z0-9_-]{0,62}$/;

function toTrainer(r: any): Trainer {
  return {
    name: r.name, command: r.command, workdir: r.workdir, env: r.env, timeoutSeconds: r.timeout_seconds, createdBy: r.created_by,
    createdAt: new Date(r.created_at).toISOString(), updatedAt: new Date(r.updated_at).toISOString(),
  };
}

/** Registers or replaces a trainer. */
export async function putTrainer(pool: Pool, t: Omit<Trainer, 'createdAt' | 'updatedAt'>): Promise<Trainer> {
  const { rows } = await pool.query(
    `INSERT INTO trainers (name, command, workdir, env, timeout_seconds, created_by) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (name) DO UPDATE SET command = EXCLUDED.command, workdir = EXCLUDED.workdir, env = EXCLUDED.env,
       timeout_seconds = EXCLUDED.timeout_seconds, updated_at = now()
     RETURNING *`,
    [t.name, JSON.stringify(t.command), t.workdir, JSON.stringify(t.env), t.timeoutSeconds, t.createdBy],
  );
  return toTrainer(rows[0]);
}

export async function getTrainer(pool: Pool, name: string): Promise<Trainer | undefined> {
  const { rows } = await pool.query('SELECT * FROM trainers WHERE name = $1', [name]);
  return rows[0] && toTrainer(rows[0]);
}

export async function listTrainers(pool: Pool): Promise<Trainer[]> {
  const { rows } = await pool.query('SELECT * FROM trainers ORDER BY name');
  return rows.map(toTrainer);
}

/** Removes a trainer; false when there was none. Runs that named it keep their record. */
export async function deleteTrainer(pool: Pool, name: string): Promise<boolean> {
  const { rowCount } = await pool.query('DELETE FROM trainers WHERE name = $1', [name]);
  return (rowCount ?? 0) > 0;
}
