/**
 * Prints every route of the API with the access it needs, as the markdown table docs/api.md carries,
 * from the app's own route table, so the table cannot drift from the code:
 *   npx tsx scripts/route-table.ts
 * The app is composed offline: nothing connects (a lazy Temporal connection, a pool never queried),
 * since only the routes are read. Tests use the same offline app for answers that need no stack.
 */
import { Client, Connection } from '@temporalio/client';
import type { Express } from 'express';
import { Pool } from 'pg';
import { createApp, routeTable } from '../src/api/app';
import { AccessControl, RouteSpec } from '../src/api/access';
import { MonitoringService } from '../src/usecases/monitoring';
import { importWorkflowMissing } from '../src/api/mlflow/onnx-import';
import { OPERATIONS } from '../src/api/openapi-operations';
import { openApiPath } from '../src/api/openapi';
import { PipelineService } from '../src/usecases/pipelines';
import { RegistryService } from '../src/usecases/registry-operations';
import { RolloutService } from '../src/usecases/rollouts';
import { loadConfig } from '../src/config';
import { ModelServer } from '../src/serving/model-server';
import { LocalArtifactStore } from '../src/store/artifacts';
import { sourcePolicy } from '../src/ingest/source-policy';
import { createRepositories } from '../src/store/repositories';
import { BatchService } from '../src/usecases/batch-scoring';

export const OFFLINE_ADMIN_KEY = 'offline';

/** The app as the API composes it, offline: requests that need neither Temporal nor the store are answered (send OFFLINE_ADMIN_KEY). */
export function offlineApp(): Express {
  const config = loadConfig({});
  const client = new Client({ connection: Connection.lazy() });
  const pool = new Pool({ connectionString: 'postgres://offline@127.0.0.1:1/none' });
  const artifacts = new LocalArtifactStore('/nonexistent');
  const o = { taskQueue: 'offline', uiUrl: (id: string) => id };
  return createApp({
    client, pool, repos: createRepositories(pool), artifacts, secrets: { keyId: 'offline', key: Buffer.alloc(32), decryptionKeys: {} }, maxUploadBytes: config.sources.maxUploadBytes, maxBody: config.api.maxBody, uiUrl: o.uiUrl, privacy: config.privacy, importOnnxVersion: importWorkflowMissing, slack: config.slack,
    models: new ModelServer(pool, artifacts, { maxBatch: config.api.maxBatch }),
    pipelines: new PipelineService(client, { ...o, useSearchAttributes: false, repos: createRepositories(pool), sources: sourcePolicy({ ...config.sources, dataDir: config.dataDir }) }),
    registryOps: new RegistryService(client, o),
    batch: new BatchService(client, { ...o, repos: createRepositories(pool), sources: sourcePolicy({ ...config.sources, dataDir: config.dataDir }), checkSource: async (data) => data }),
    rollouts: new RolloutService(client, createRepositories(pool), o),
    monitoring: new MonitoringService(client, createRepositories(pool), { ...o, every: '1h' }),
    access: new AccessControl({ repos: createRepositories(pool), adminKey: OFFLINE_ADMIN_KEY, predict: 'open', feedback: 'key' }),
  });
}

export function offlineRoutes(): RouteSpec[] {
  return routeTable(offlineApp());
}

const ACCESS: Record<string, string> = {
  open: 'open',
  predict: 'open, or any key with `MLOPS_PREDICT_AUTH=key`',
  feedback: 'any key, or open with `MLOPS_FEEDBACK_AUTH=open`',
};

export function routeTableMarkdown(routes: RouteSpec[]): string {
  const rows = routes.map((r) => {
    const key = `${r.method.toUpperCase()} ${openApiPath(r.path)}`;
    const summary = (OPERATIONS[key]?.summary ?? '(undocumented)').replace(/\|/g, '\\|');
    return `| \`${r.method.toUpperCase()} ${r.path}\` | ${ACCESS[r.access] ?? r.access} | ${summary} |`;
  });
  return ['| route | needs | does |', '| --- | --- | --- |', ...rows].join('\n');
}

if (require.main === module) {
  const routes = offlineRoutes();
  process.stdout.write(`${routeTableMarkdown(routes)}\n`);
  // the lazy connection and the pool hold nothing open, but say so explicitly
  process.exit(0);
}
