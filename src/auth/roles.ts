/**
 * Roles, from least to most trusted. Each includes the powers of the ones before it: a scientist can
 * read, an approver can also start pipelines, an admin can do everything.
 *
 * - viewer: read models, runs, data, lineage, monitoring, reports
 * - scientist: start pipelines and retraining, run checks, reproduce, label review items, manage schedules
 * - approver: approve or reject runs, deploy and roll out, roll back, move aliases, change monitoring
 * - admin: API keys, Slack users, approval policies, subject erasure and export, the audit log
 */
export const ROLES = ['viewer', 'scientist', 'approver', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** Whether `role` grants what `required` asks for. */
export function allows(role: Role, required: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(required);
}
