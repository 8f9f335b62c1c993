/**
 * Lineage as OpenLineage run events (spec 2-0-2), so Marquez or any OpenLineage consumer can take it:
 * the training run (START, COMPLETE) reads a dataset version and writes a model version; each
 * deployment (COMPLETE) reads a model version and writes the model's serving endpoint.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { v5 as uuidv5 } from 'uuid';
import type { VersionLineage } from '../store/lineage';

/** A URN rather than a web address: the project publishes no URL of its own to name here. */
const PRODUCER = 'urn:mlops-temporal:0.1.0';
const RUN_EVENT_SCHEMA = 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent';
/** The standard facets used, at the versions whose schemas the tests validate them with (test/fixtures/openlineage). */
const FACET_VERSIONS = { SchemaDatasetFacet: '1-2-0', DatasourceDatasetFacet: '1-0-1' } as const;
const facetSchema = (name: keyof typeof FACET_VERSIONS) => `https://openlineage.io/spec/facets/${FACET_VERSIONS[name]}/${name}.json#/$defs/${name}`;
export const NAMESPACE = 'mlops';
/** The UUID namespace of run ids: itself name-based, from the producer's URN in RFC 9562's URL namespace (URNs are URIs). */
export const RUN_ID_NAMESPACE = uuidv5(`${PRODUCER}:openlineage-runs`, uuidv5.URL);

export interface OpenLineageEvent {
  eventType: 'START' | 'COMPLETE';
  eventTime: string;
  run: { runId: string; facets?: Record<string, unknown> };
  job: { namespace: string; name: string; facets?: Record<string, unknown> };
  inputs: { namespace: string; name: string; facets?: Record<string, unknown> }[];
  outputs: { namespace: string; name: string; facets?: Record<string, unknown> }[];
  producer: string;
  schemaURL: string;
}

/** OpenLineage wants UUID run ids: a stable one derived from our id (workflow id or deploy key), UUID version 5. */
export function runUuid(id: string): string {
  return uuidv5(id, RUN_ID_NAMESPACE);
}

/**
 * The data source as the URI the DatasourceDatasetFacet asks for: URLs (and `connection:<name>`) as they
 * are, an absolute file path as a file: URL; anything else (a relative path) has no URI to give.
 */
function sourceUri(source: string): string | undefined {
  if (path.isAbsolute(source)) return pathToFileURL(source).href;
  return /^[a-z][a-z0-9+.-]*:/i.test(source) && URL.canParse(source) ? source : undefined;
}

const facet = (name: keyof typeof FACET_VERSIONS, body: Record<string, unknown>) => ({ _producer: PRODUCER, _schemaURL: facetSchema(name), ...body });
const custom = (body: Record<string, unknown>) => ({ _producer: PRODUCER, _schemaURL: 'urn:mlops-temporal:facets:docs/lineage.md', ...body });

export function openLineageEvents(l: VersionLineage): OpenLineageEvent[] {
  const modelDataset = {
    namespace: `${NAMESPACE}://models`,
    name: `${l.model}/${l.version}`,
    facets: { mlops_model: custom({ onnxSha256: l.onnxDigest, status: l.status, codeVersion: l.codeVersion }) },
  };
  const dataset = l.dataset === null ? undefined : 'sourceUri' in l.dataset
    ? {
      namespace: `${NAMESPACE}://datasets`,
      name: l.dataset.id,
      facets: {
        schema: facet('SchemaDatasetFacet', { fields: l.dataset.columns.map((c) => ({ name: c.name, type: c.type })) }),
        dataSource: facet('DatasourceDatasetFacet', { name: l.dataset.sourceKind, ...(sourceUri(l.dataset.sourceUri) ? { uri: sourceUri(l.dataset.sourceUri) } : {}) }),
        mlops_dataset: custom({ sha256: l.dataset.id, rowCount: l.dataset.rowCount, parent: l.dataset.parentId }),
      },
    }
    : { namespace: `${NAMESPACE}://datasets`, name: l.dataset.id };
  const base = { producer: PRODUCER, schemaURL: RUN_EVENT_SCHEMA };
  const run = l.run;
  const finished = 'createdAt' in run ? run.createdAt : l.createdAt;
  const started = 'trainMs' in run ? new Date(Date.parse(finished) - run.trainMs).toISOString() : finished;
  const trainingRun = { runId: runUuid(run.runId), facets: { mlops_run: custom({ workflowId: run.runId, ...('kind' in run ? { kind: run.kind, task: run.task, seed: run.seed } : {}), ...('cachedFrom' in run ? { cachedFrom: run.cachedFrom } : {}) }) } };
  const trainingJob = { namespace: NAMESPACE, name: `train.${l.model}` };
  const events: OpenLineageEvent[] = [
    { ...base, eventType: 'START', eventTime: started, run: trainingRun, job: trainingJob, inputs: dataset ? [dataset] : [], outputs: [] },
    { ...base, eventType: 'COMPLETE', eventTime: finished, run: trainingRun, job: trainingJob, inputs: dataset ? [dataset] : [], outputs: [modelDataset] },
  ];
  for (const d of l.deployments) {
    events.push({
      ...base, eventType: 'COMPLETE', eventTime: d.createdAt,
      run: { runId: runUuid(d.deployKey), facets: { mlops_deployment: custom({ deploymentId: d.id, strategy: d.strategy, actor: d.actor, reason: d.reason, previousVersion: d.previousVersion }) } },
      job: { namespace: NAMESPACE, name: `deploy.${l.model}` },
      inputs: [{ namespace: modelDataset.namespace, name: modelDataset.name }],
      outputs: [{ namespace: `${NAMESPACE}://serving`, name: `${l.model}/production` }],
    });
  }
  return events;
}
