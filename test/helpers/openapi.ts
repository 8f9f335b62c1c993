/**
 * The app's route table and the OpenAPI document built from it: what /openapi.json serves once app.ts
 * builds its document from the route table. The routes come from the same code a test stack runs
 * (composed offline by scripts/route-table.ts: only the table is read, nothing connects).
 */
import { buildOpenApiDocument } from '../../src/api/openapi';
import { offlineRoutes } from '../../scripts/route-table';

export const appRoutes = offlineRoutes;
export const appDocument = () => buildOpenApiDocument(offlineRoutes());
