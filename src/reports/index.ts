/** HTML reports: self-contained pages (inline SVG and CSS, no script) for people to read. */
export { renderVersionReport } from './version-report';
export type { VersionReportInput } from './version-report';
export { renderDriftReport } from './drift-report';
export type { DriftReportInput, FeatureDrift } from './drift-report';
export { escapeHtml } from './html';
