/**
 * The HTML reports of a version (ROC, precision-recall, confusion matrix or residuals) and of a
 * monitoring check (drift), put together from the store: the API's report routes and the console's
 * report pages serve the same page. Refusals are domain errors.
 */
import { DomainError } from '../domain/errors';
import type { EvaluationDetails } from '../ml/evaluation-details';
import { renderDriftReport } from '../reports/drift-report';
import { renderVersionReport } from '../reports/version-report';
import type { ArtifactStore } from '../store/artifacts';
import type { MonitorCheck } from '../store/monitoring';
import type { Repositories } from '../store/repositories';

export interface ReportDeps {
  repos: Pick<Repositories, 'registry' | 'monitoring'>;
  artifacts: ArtifactStore;
  uiUrl: (workflowId: string) => string;
  /** Where a version's report is served (the API's route, or the console's page). */
  versionReportHref?: (model: string, version: number) => string;
}

const apiVersionReport = (model: string, version: number) => `/v1/models/${encodeURIComponent(model)}/versions/${version}/report`;

/** A model's monitoring check, or a not_found. */
export async function loadCheck(repos: ReportDeps['repos'], model: string, id: string): Promise<MonitorCheck> {
  const check = await repos.monitoring.getCheck(id);
  if (!check || check.model !== model) throw new DomainError('not_found', `model "${model}" has no monitoring check "${id}"`);
  return check;
}

export async function driftReportHtml(deps: ReportDeps, model: string, checkId: string): Promise<string> {
  const check = await loadCheck(deps.repos, model, checkId);
  const href = deps.versionReportHref ?? apiVersionReport;
  return renderDriftReport({
    model: check.model, version: check.version, checkId: check.id, checkedAt: check.checkedAt,
    window: { ...check.window, rows: check.rows, labelled: check.labelled },
    drift: check.drift,
    ...(check.quality ? { quality: numeric(check.quality) } : {}),
    ...(check.serving ? { serving: { requests: check.serving.requests, errorRate: check.serving.errorRate, p99Ms: check.serving.p99Ms } } : {}),
    breaches: check.breaches.map((b) => `${b.kind}: ${b.message}`),
    links: [
      { label: 'This check in the Temporal Web UI', href: deps.uiUrl(check.id) },
      { label: `Report of version ${check.version}`, href: href(check.model, check.version) },
    ],
  });
}

export async function versionReportHtml(deps: ReportDeps, model: string, number: number): Promise<string> {
  const version = await deps.repos.registry.getVersion(model, number);
  if (!version) throw new DomainError('not_found', `model "${model}" has no version ${number}`);
  const digest = version.artifacts.evaluation;
  const details = digest ? (JSON.parse((await deps.artifacts.get(digest)).toString('utf8')) as EvaluationDetails) : undefined;
  return renderVersionReport({
    model, version: version.version, status: version.status, createdAt: version.createdAt,
    task: version.signature.task ?? 'binary', metrics: numeric(version.metrics), classes: version.signature.classes,
    ...(details?.roc ? { roc: details.roc } : {}),
    ...(details?.pr ? { pr: details.pr } : {}),
    ...(details?.confusion ? { confusion: details.confusion } : {}),
    ...(details?.scatter ? { scatter: details.scatter } : {}),
    links: [{ label: `Run ${version.runId} in the Temporal Web UI`, href: deps.uiUrl(version.runId) }],
  });
}

/** The numeric entries of a record (metrics may carry counts and strings beside the numbers). */
export function numeric(record: object): Record<string, number> {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => typeof v === 'number' && Number.isFinite(v))) as Record<string, number>;
}
