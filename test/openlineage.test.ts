/**
 * The OpenLineage export against the published JSON Schemas (spec 2-0-2 and the standard facets it
 * uses, kept in test/fixtures/openlineage with their source and licence): every event of a version's
 * lineage, read from a real store, is a valid RunEvent, and its standard facets are valid facets.
 * Run ids are UUID version 5, checked against Python's uuid module as an independent implementation.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { validate as isUuid, version as uuidVersion } from 'uuid';
import { openLineageEvents, OpenLineageEvent, RUN_ID_NAMESPACE, runUuid } from '../src/api/openlineage';
import { saveDataset } from '../src/store/datasets';
import { versionLineage } from '../src/store/lineage';
import * as registry from '../src/store/registry';
import { recordTraining } from '../src/store/runs';
import { createTestDatabase, TestDatabase } from './helpers/database';

const FIXTURES = path.join(__dirname, 'fixtures', 'openlineage');
const schema = (file: string) => JSON.parse(fs.readFileSync(path.join(FIXTURES, file), 'utf8'));

/** Ajv for draft 2020-12 (its default strict mode) with formats checked; `example` is an annotation the spec files use. */
function validators() {
  const ajv = new Ajv2020({ allErrors: true });
  addFormats(ajv);
  ajv.addKeyword('example');
  for (const file of ['OpenLineage.json', 'SchemaDatasetFacet.json', 'DatasourceDatasetFacet.json']) ajv.addSchema(schema(file));
  const errorsOf = (id: string) => {
    const fn = ajv.getSchema(id);
    assert.ok(fn, `no schema ${id}`);
    return (data: unknown) => (fn(data) ? [] : (fn.errors ?? []).map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`));
  };
  return {
    runEvent: errorsOf('https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent'),
    facets: new Map([
      ['schema', errorsOf('https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json')],
      ['dataSource', errorsOf('https://openlineage.io/spec/facets/1-0-1/DatasourceDatasetFacet.json')],
    ]),
  };
}

describe('OpenLineage export', () => {
  let db: TestDatabase;
  const check = validators();
  before(async () => { db = await createTestDatabase(); });
  after(async () => { await db.close(); });

  /** A version trained on a dataset from `sourceUri`, approved and deployed twice; its lineage as read back. */
  async function lineageFrom(model: string, sourceUri: string, o: { cachedFrom?: string } = {}) {
    const datasetId = `${model.padEnd(8, '0')}`.repeat(8).slice(0, 64);
    const runId = `pipeline-${model}`;
    await saveDataset(db.pool, {
      id: datasetId, sourceUri, sourceKind: 'csv', rowCount: 3, byteSize: 42, storage: { format: 'csv', digest: datasetId }, statistics: [],
      columns: [{ name: 'age', type: 'number' }, { name: 'plan', type: 'string' }, { name: 'churned', type: 'string' }],
    });
    await recordTraining(db.pool, {
      runId, modelName: model, task: 'binary', kind: 'logistic', datasetId, seed: 7, params: o.cachedFrom ? { cachedFrom: o.cachedFrom } : {},
      trials: [], onnxDigest: 'f'.repeat(64), codeVersion: 'abc123', trainMs: 1500,
    });
    const signature = { task: 'binary' as const, features: ['age', 'plan'], numeric: ['age'], categorical: ['plan'], classes: ['no', 'yes'], output: 'probabilities' };
    const v = await registry.registerVersion(db.pool, { modelName: model, runId, onnxDigest: 'f'.repeat(64), signature, metrics: { auc: 0.9 }, params: {}, datasetId });
    await registry.transitionVersion(db.pool, model, v.version, 'approved', { actor: 'alice' });
    await registry.deployVersion(db.pool, model, v.version, `${runId}:deploy`, { actor: 'alice', reason: 'first' });
    await registry.deployVersion(db.pool, model, v.version, `${runId}:redeploy`, { actor: 'bob', reason: 'again', strategy: 'blue-green' });
    const lineage = await versionLineage(db.pool, model, v.version);
    assert.ok(lineage);
    return lineage;
  }

  function assertValid(events: OpenLineageEvent[]): void {
    assert.deepEqual(events.map((e) => [e.eventType, e.job.name.split('.')[0]]), [['START', 'train'], ['COMPLETE', 'train'], ['COMPLETE', 'deploy'], ['COMPLETE', 'deploy']]);
    for (const event of events) {
      const json = JSON.parse(JSON.stringify(event)); // as the API sends it
      assert.deepEqual(check.runEvent(json), [], JSON.stringify(json));
      for (const dataset of [...json.inputs, ...json.outputs]) {
        for (const [name, body] of Object.entries(dataset.facets ?? {})) {
          const facet = check.facets.get(name);
          if (facet) assert.deepEqual(facet({ [name]: body }), [], `${name}: ${JSON.stringify(body)}`);
          else assert.match(name, /^mlops_/, 'a facet that is neither standard nor ours');
        }
      }
    }
  }

  for (const [model, sourceUri] of [
    ['filed', '/srv/data/churn 2024.csv'],
    ['fetched', 'https://reader:***@data.example.com/exports/churn.csv?day=2024-05-01'],
    ['queried', 'connection:warehouse'],
    ['relative', 'datasets/churn.csv'],
  ] as const) {
    it(`gives valid RunEvents and facets for data read from ${sourceUri}`, async () => {
      const events = openLineageEvents(await lineageFrom(model, sourceUri, model === 'fetched' ? { cachedFrom: 'pipeline-earlier' } : {}));
      assertValid(events);
      const dataSource = events[0].inputs[0].facets?.dataSource as { uri?: string };
      if (model === 'filed') assert.equal(dataSource.uri, 'file:///srv/data/churn%202024.csv');
      if (model === 'relative') assert.equal(dataSource.uri, undefined, 'a relative path is no URI');
      else assert.ok(dataSource.uri);
    });
  }

  it('gives valid events when only the ids of the dataset and run are known', async () => {
    // what versionLineage gives for a version whose dataset or run record is missing
    const lineage = await lineageFrom('orphan', '/srv/data/orphan.csv');
    assertValid(openLineageEvents({ ...lineage, dataset: { id: lineage.dataset!.id }, run: { runId: lineage.run.runId } }));
  });

  it('gives valid events, with no input, for a version imported without evaluation data', async () => {
    const lineage = await lineageFrom('unscored', '/srv/data/unscored.csv');
    const events = openLineageEvents({ ...lineage, dataset: null });
    assertValid(events);
    for (const e of events.filter((ev) => ev.job.name.startsWith('train.'))) assert.deepEqual(e.inputs, []);
  });

  it('rejects what the schema forbids (the check can fail)', () => {
    const [event] = openLineageEvents({
      model: 'm', version: 1, status: 'approved', deployment: 'none', onnxDigest: 'f'.repeat(64), codeVersion: null, createdAt: '2026-01-01T00:00:00.000Z',
      dataset: { id: 'd' }, run: { runId: 'r' }, deployments: [], aliases: [], predictions: { predictions: 0, requests: 0, lastAt: null }, history: [],
    });
    assert.deepEqual(check.runEvent(event), []);
    assert.notDeepEqual(check.runEvent({ ...event, run: { runId: 'not-a-uuid' } }), []);
    assert.notDeepEqual(check.runEvent({ ...event, eventTime: 'yesterday' }), []);
    assert.notDeepEqual(check.runEvent({ ...event, eventType: 'FINISHED' }), []);
    assert.notDeepEqual(check.runEvent({ ...event, run: { ...event.run, facets: { mlops_run: { workflowId: 'r' } } } }), [], 'a facet without _producer and _schemaURL');
    assert.notDeepEqual(check.facets.get('dataSource')!({ dataSource: { _producer: 'urn:x', _schemaURL: 'urn:y', uri: '/a path' } }), []);
  });

  it('makes run ids UUID version 5, the same as Python\'s uuid.uuid5', () => {
    const ids = ['pipeline-1', 'pipeline-1:deploy', 'ünïcode run ✓'];
    const ours = ids.map(runUuid);
    for (const id of ours) assert.ok(isUuid(id) && uuidVersion(id) === 5, id);
    assert.equal(new Set(ours).size, ids.length);
    assert.deepEqual(ids.map(runUuid), ours, 'stable');
    const python = spawnSync('python3', ['-c', [
      'import sys, uuid, json',
      'ns = uuid.uuid5(uuid.NAMESPACE_URL, "urn:mlops-temporal:0.1.0:openlineage-runs")',
      'print(json.dumps([str(ns)] + [str(uuid.uuid5(ns, i)) for i in json.loads(sys.argv[1])]))',
    ].join('\n'), JSON.stringify(ids)], { encoding: 'utf8' });
    assert.equal(python.status, 0, python.stderr);
    assert.deepEqual(JSON.parse(python.stdout), [RUN_ID_NAMESPACE, ...ours]);
  });
});
