/** Who may approve from Slack, and each model's approval policy. */
import { Pool } from 'pg';
import type { Role } from '../auth/roles';

export interface SlackUser { slackUserId: string; name: string; role: Role }

export interface ApprovalPolicy {
  approvers: number;
  fourEyes: boolean;
  reminders: string[];
  escalationChannel?: string;
  autoApprove?: { thresholds: Record<string, number>; requireSameSchema: boolean };
}

/** What applies to a model with no policy of its own: one approver, anyone with the approver role. */
export const DEFAULT_APPROVAL_POLICY: ApprovalPolicy = { approvers: 1, fourEyes: false, reminders: [] };

export async function putSlackUser(pool: Pool, u: SlackUser): Promise<SlackUser> {
  await pool.query(
    `INSERT INTO slack_users (slack_user_id, name, role) VALUES ($1, $2, $3)
     ON CONFLICT (slack_user_id) DO UPDATE SET name = EXCLUDED.name, role = EXCLUDED.role`,
    [u.slackUserId, u.name, u.role],
  );
  return u;
}

export async function getSlackUser(pool: Pool, slackUserId: string): Promise<SlackUser | undefined> {
  const { rows } = await pool.query('SELECT slack_user_id, name, role FROM slack_users WHERE slack_user_id = $1', [slackUserId]);
  return rows[0] && { slackUserId: rows[0].slack_user_id, name: rows[0].name, role: rows[0].role };
}

export async function listSlackUsers(pool: Pool): Promise<SlackUser[]> {
  const { rows } = await pool.query('SELECT slack_user_id, name, role FROM slack_users ORDER BY name, slack_user_id');
  return rows.map((r) => ({ slackUserId: r.slack_user_id, name: r.name, role: r.role }));
}

export async function deleteSlackUser(pool: Pool, slackUserId: string): Promise<boolean> {
  return ((await pool.query('DELETE FROM slack_users WHERE slack_user_id = $1', [slackUserId])).rowCount ?? 0) > 0;
}

export async function getApprovalPolicy(pool: Pool, model: string): Promise<ApprovalPolicy> {
  const { rows } = await pool.query('SELECT policy FROM approval_policies WHERE model_name = $1', [model]);
  return rows[0] ? { ...DEFAULT_APPROVAL_POLICY, ...rows[0].policy } : DEFAULT_APPROVAL_POLICY;
}

export async function setApprovalPolicy(pool: Pool, model: string, policy: ApprovalPolicy, by: string): Promise<void> {
  await pool.query(
    `INSERT INTO approval_policies (model_name, policy, updated_by) VALUES ($1, $2, $3)
     ON CONFLICT (model_name) DO UPDATE SET policy = EXCLUDED.policy, updated_by = EXCLUDED.updated_by, updated_at = now()`,
    [model, JSON.stringify(policy), by],
  );
}
