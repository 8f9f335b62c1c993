/** The OpenAPI 3.1 description of the HTTP API, served at /openapi.json. Kept beside the routes. */

const error = {
  description: 'Error',
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
};
const json = (schema: object, description = 'OK') => ({ description, content: { 'application/json': { schema } } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const nameParam = { name: 'name', in: 'path', required: true, schema: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$' } };
const versionParam = { name: 'version', in: 'path', required: true, schema: { type: 'integer', minimum: 1 } };
const datasetParam = (name: string) => ({ name, in: 'path', required: true, schema: { type: 'string', pattern: '^[0-9a-f]{64}$' } });
const idempotencyKey = { name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string' }, description: 'Repeating a request with the same key joins the same workflow run.' };
const actorFields = { reason: { type: 'string', maxLength: 2000 }, by: { type: 'string', description: 'who asks (recorded in the history); default "api"' } };

export const openApiDocument = {
  openapi: '3.1.0',
  info: { title: 'mlops-temporal API', version: '1.0.0', description: 'Start training pipelines, approve them, and serve deployed ONNX models.' },
  paths: {
    '/v1/pipelines': {
      post: {
        summary: 'Start a training pipeline',
        parameters: [{ name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string' }, description: 'Repeating a request with the same key returns the same run.' }],
        requestBody: { required: true, content: { 'application/json': { schema: ref('PipelineRequest') } } },
        responses: { 202: json({ type: 'object', properties: { id: { type: 'string' }, uiUrl: { type: 'string' } }, required: ['id', 'uiUrl'] }, 'Started'), 400: error, 413: error },
      },
    },
    '/v1/pipelines/{id}': {
      get: {
        summary: 'Status of a pipeline run',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { 200: json(ref('PipelineStatus')), 404: error },
      },
    },
    '/v1/pipelines/{id}/approval': {
      post: {
        summary: 'Approve or reject a run that awaits approval',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        requestBody: { required: true, content: { 'application/json': { schema: ref('ApprovalRequest') } } },
        responses: { 202: json({ type: 'object', properties: { id: { type: 'string' }, decision: { type: 'string' } } }, 'Signal sent'), 400: error, 404: error, 409: error },
      },
    },
    '/v1/datasets': {
      get: {
        summary: 'Dataset versions, newest first, with source, row count, columns and parent (the version the same source held before)',
        parameters: [
          { name: 'source', in: 'query', required: false, schema: { type: 'string' }, description: 'only versions read from this source URI' },
          { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
        ],
        responses: { 200: json({ type: 'object', properties: { datasets: { type: 'array', items: { type: 'object' } } } }), 400: error },
      },
    },
    '/v1/datasets/{id}': {
      get: {
        summary: 'A dataset version (sha256 of its canonical CSV) with its source, columns, parent and per-column statistics',
        parameters: [datasetParam('id')],
        responses: { 200: json({ type: 'object' }), 404: error },
      },
    },
    '/v1/datasets/{id}/diff/{other}': {
      get: {
        summary: 'Schema and statistics changes from one dataset version to another: columns added, removed or retyped; per column missing share, range, mean (also in standard deviations), spread, median, categories',
        parameters: [datasetParam('id'), datasetParam('other')],
        responses: { 200: json({ type: 'object' }), 404: error },
      },
    },
    '/v1/lineage/datasets/{id}': {
      get: {
        summary: 'Downstream of a dataset version: later versions of its source, runs trained on it, the model versions they registered (with aliases and prediction counts)',
        parameters: [datasetParam('id')],
        responses: { 200: json({ type: 'object' }), 404: error },
      },
    },
    '/v1/lineage/models/{name}/versions/{version}': {
      get: {
        summary: 'Lineage of a model version: dataset (and its parent), training run, status history, aliases, deployments, prediction counts',
        parameters: [nameParam, versionParam],
        responses: { 200: json({ type: 'object' }), 400: error, 404: error },
      },
    },
    '/v1/lineage/models/{name}/versions/{version}/openlineage': {
      get: {
        summary: 'The same lineage as OpenLineage RunEvents (spec 2-0-2): the training run reads the dataset and writes the model version; each deployment reads the model version',
        parameters: [nameParam, versionParam],
        responses: { 200: json({ type: 'object', properties: { events: { type: 'array', items: { type: 'object' } } } }), 404: error },
      },
    },
    '/v1/runs': {
      get: {
        summary: 'Training runs (experiment tracking), newest first: task, family, dataset, seed, chosen params, every trial, ONNX digest, code version, training time, test metrics',
        parameters: [
          { name: 'model', in: 'query', required: false, schema: { type: 'string' } },
          { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
        ],
        responses: { 200: json({ type: 'object', properties: { runs: { type: 'array', items: { type: 'object' } } } }), 400: error },
      },
    },
    '/v1/runs/{id}': {
      get: { summary: 'One training run', parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }], responses: { 200: json({ type: 'object' }), 404: error } },
    },
    '/v1/models': { get: { summary: 'Registered models', responses: { 200: json({ type: 'object', properties: { models: { type: 'array', items: ref('ModelSummary') } } }) } } },
    '/v1/models/{name}': { get: { summary: 'A model with its versions, aliases, deployments and the history of every status change (who, why)', parameters: [nameParam], responses: { 200: json({ type: 'object' }), 404: error } } },
    '/v1/models/{name}/versions/{version}': {
      get: {
        summary: 'A model version with its status history, aliases and lineage (dataset, run, artifact, code, deployments, prediction counts)',
        parameters: [nameParam, versionParam],
        responses: { 200: json({ type: 'object' }), 400: error, 404: error },
      },
    },
    '/v1/models/{name}/aliases/{alias}': {
      put: {
        summary: 'Point an alias (champion, challenger, staging, any lower-case name) at a version; `production` deploys it and takes only versions that were approved',
        parameters: [nameParam, { name: 'alias', in: 'path', required: true, schema: { type: 'string', pattern: '^[a-z][a-z0-9_-]{0,62}$' } }, idempotencyKey],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['version'], properties: { version: { type: 'integer', minimum: 1 }, ...actorFields } } } } },
        responses: { 200: json({ type: 'object', properties: { name: { type: 'string' }, aliases: { type: 'object', additionalProperties: { type: 'integer' } } } }), 400: error, 404: error, 409: error },
      },
    },
    '/v1/models/{name}/rollback': {
      post: {
        summary: 'Move production back to the version it held before (or `toVersion`), through the `rollback` workflow; this replica serves it before answering',
        parameters: [nameParam, idempotencyKey],
        requestBody: { required: false, content: { 'application/json': { schema: { type: 'object', properties: { toVersion: { type: 'integer', minimum: 1 }, ...actorFields } } } } },
        responses: { 200: json({ type: 'object', properties: { deployment: { type: 'object' }, workflowId: { type: 'string' }, uiUrl: { type: 'string' } } }), 400: error, 404: error, 409: error },
      },
    },
    '/v1/models/{name}/deployments': {
      post: {
        summary: 'Roll a version out: `blue-green` (smoke test, atomic switch, bake, switch back on a breach), `canary` (traffic steps with a bake and a comparison with production after each; a breach rolls back and alerts) or `shadow` (mirror a share of traffic, report agreement). Runs as a workflow.',
        parameters: [nameParam, idempotencyKey],
        requestBody: { required: true, content: { 'application/json': { schema: ref('RolloutRequest') } } },
        responses: { 202: json({ type: 'object', properties: { id: { type: 'string' }, strategy: { type: 'string' }, uiUrl: { type: 'string' } } }, 'Started'), 400: error, 404: error },
      },
      get: {
        summary: 'Rollouts of a model (newest first), its deployments, and what this replica serves (production and any canary or shadow)',
        parameters: [nameParam],
        responses: { 200: json({ type: 'object', properties: { rollouts: { type: 'array', items: { type: 'object' } }, deployments: { type: 'array', items: { type: 'object' } }, serving: { type: ['object', 'null'] } } }) },
      },
    },
    '/v1/models/{name}/deployments/{id}': {
      get: {
        summary: 'One rollout: its record and the workflow status (state, step, traffic share, comparisons with production, decision, reason)',
        parameters: [nameParam, { name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { 200: json({ type: 'object' }), 404: error },
      },
    },
    '/v1/models/{name}/deployments/{id}/promote': {
      post: {
        summary: 'Promote a running canary now (or end a blue-green bake or shadow period early)',
        parameters: [nameParam, { name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        requestBody: { required: false, content: { 'application/json': { schema: { type: 'object', properties: actorFields } } } },
        responses: { 202: json({ type: 'object' }, 'Signal sent'), 404: error, 409: error },
      },
    },
    '/v1/models/{name}/deployments/{id}/abort': {
      post: {
        summary: 'Abort a running rollout: the canary or shadow route is removed; a blue-green switch is undone',
        parameters: [nameParam, { name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        requestBody: { required: false, content: { 'application/json': { schema: { type: 'object', properties: actorFields } } } },
        responses: { 202: json({ type: 'object' }, 'Signal sent'), 404: error, 409: error },
      },
    },
    '/v1/feedback': {
      post: {
        summary: 'Ground truth for served predictions, by the `id` each prediction carries; used for live accuracy in canary analysis',
        requestBody: { required: true, content: { 'application/json': { schema: { oneOf: [ref('Feedback'), { type: 'object', required: ['items'], properties: { items: { type: 'array', maxItems: 10000, items: ref('Feedback') } } }] } } } },
        responses: { 200: json({ type: 'object', properties: { accepted: { type: 'integer' }, unknown: { type: 'array', items: { type: 'string' } } } }), 400: error, 404: error },
      },
    },
    '/metrics': { get: { summary: 'Prometheus metrics: requests, errors, latency and batch-size histograms and traffic share per model and version; shadow agreement; dropped log entries; the latest monitoring check per model (drift share, per-feature PSI and p-values, quality) and the open review queue', responses: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } } } } },
    '/v1/models/{name}/versions/{version}/reproduce': {
      post: {
        summary: 'Train the version again from its lineage record (dataset version, spec, settings, seed, chosen strength) through the `reproduce` workflow and say whether the ONNX file is byte-identical',
        parameters: [nameParam, versionParam, idempotencyKey],
        requestBody: { required: false, content: { 'application/json': { schema: { type: 'object', properties: { by: actorFields.by } } } } },
        responses: { 200: json({ type: 'object', properties: { identical: { type: 'boolean' }, registeredDigest: { type: 'string' }, reproducedDigest: { type: 'string' }, datasetId: { type: 'string' }, l2: { type: 'number' }, trainMs: { type: 'integer' }, workflowId: { type: 'string' }, uiUrl: { type: 'string' } } }), 404: error, 409: error },
      },
    },
    '/v1/models/{name}/predict': {
      post: {
        summary: 'Score rows with the production version (or a canary, for its share of requests; `X-Routing-Key` keeps one caller on one version)',
        parameters: [nameParam, { name: 'X-Routing-Key', in: 'header', required: false, schema: { type: 'string' }, description: 'sticky routing during a canary: one key, one version' }],
        requestBody: { required: true, content: { 'application/json': { schema: ref('PredictRequest') } } },
        responses: { 200: json(ref('PredictResponse')), 400: error, 404: error, 413: error },
      },
    },
    '/v1/models/{name}/monitoring': {
      get: {
        summary: 'Monitoring of a model: its settings, its monitor schedule, and its latest checks (drift per feature, quality over labelled feedback, serving health, breaches, the retraining each started)',
        parameters: [nameParam],
        responses: { 200: json({ type: 'object', properties: { model: { type: 'string' }, config: ref('MonitorConfig'), schedule: { type: ['object', 'null'] }, checks: { type: 'array', items: ref('MonitorCheck') } } }), 404: error },
      },
      put: {
        summary: 'Change monitoring settings (merged over the stored ones); `every` creates or changes the monitor schedule',
        parameters: [nameParam],
        requestBody: { required: true, content: { 'application/json': { schema: { allOf: [ref('MonitorConfig')], properties: { every: { type: 'string', pattern: '^\\d+(s|m|h|d)$' } } } } } },
        responses: { 200: json({ type: 'object', properties: { config: ref('MonitorConfig'), schedule: { type: ['object', 'null'] } } }), 400: error, 404: error },
      },
    },
    '/v1/models/{name}/monitoring/run': {
      post: {
        summary: 'Check the model now (runs the `modelMonitor` workflow and waits for it): drift and quality over the window; alerts and starts retraining on a breach',
        parameters: [nameParam, idempotencyKey],
        responses: { 200: json({ type: 'object', properties: { id: { type: 'string' }, uiUrl: { type: 'string' }, check: { type: 'object' }, alert: { type: 'object' }, action: { type: 'object' } } }), 404: error },
      },
    },
    '/v1/models/{name}/monitoring/checks/{checkId}': {
      get: { summary: 'One monitoring check', parameters: [nameParam, { name: 'checkId', in: 'path', required: true, schema: { type: 'string' } }], responses: { 200: json(ref('MonitorCheck')), 404: error } },
    },
    '/v1/models/{name}/monitoring/checks/{checkId}/report': {
      get: {
        summary: 'HTML report of a check: reference-against-current histogram of every feature with its KS or chi-square test, PSI, Jensen-Shannon and Wasserstein values; quality and serving numbers',
        parameters: [nameParam, { name: 'checkId', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { 200: { description: 'HTML', content: { 'text/html': { schema: { type: 'string' } } } }, 404: error },
      },
    },
    '/v1/models/{name}/versions/{version}/report': {
      get: {
        summary: 'HTML report of a model version: test metrics, ROC and precision-recall curves, confusion matrix (regression: predicted against actual)',
        parameters: [nameParam, versionParam],
        responses: { 200: { description: 'HTML', content: { 'text/html': { schema: { type: 'string' } } } }, 400: error, 404: error },
      },
    },
    '/v1/models/{name}/retrain': {
      post: {
        summary: 'Retrain now with the production version\'s recipe (through the `retrainModel` workflow); refused (409) while another retraining of the model runs',
        parameters: [nameParam, idempotencyKey],
        requestBody: { required: false, content: { 'application/json': { schema: { type: 'object', properties: actorFields } } } },
        responses: { 202: json({ type: 'object', properties: { requestId: { type: 'string' }, retraining: { const: 'started' }, runId: { type: 'string' }, uiUrl: { type: 'string' } } }, 'Started'), 404: error, 409: json({ type: 'object', properties: { retraining: { type: 'string' }, reason: { type: 'string' } } }, 'Not started') },
      },
    },
    '/v1/schedules': {
      get: {
        summary: 'Monitor and retraining schedules (Temporal Schedules, also in the Web UI)',
        parameters: [{ name: 'model', in: 'query', required: false, schema: { type: 'string' } }],
        responses: { 200: json({ type: 'object', properties: { schedules: { type: 'array', items: ref('Schedule') } } }) },
      },
      post: {
        summary: 'Create a schedule: `monitor` (runs modelMonitor) or `retrain` (runs retrainModel), every interval or on a cron expression (UTC)',
        requestBody: { required: true, content: { 'application/json': { schema: ref('ScheduleRequest') } } },
        responses: { 201: json(ref('Schedule'), 'Created'), 400: error, 404: error, 409: error },
      },
    },
    '/v1/schedules/{id}': {
      get: { summary: 'One schedule with its next and recent runs', parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }], responses: { 200: json(ref('Schedule')), 404: error } },
      delete: { summary: 'Delete a schedule', parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }], responses: { 204: { description: 'Deleted' }, 404: error } },
    },
    '/v1/schedules/{id}/pause': {
      post: { summary: 'Pause a schedule', parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }], requestBody: { required: false, content: { 'application/json': { schema: { type: 'object', properties: { note: { type: 'string' } } } } } }, responses: { 200: json(ref('Schedule')), 404: error } },
    },
    '/v1/schedules/{id}/unpause': {
      post: { summary: 'Resume a paused schedule', parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }], requestBody: { required: false, content: { 'application/json': { schema: { type: 'object', properties: { note: { type: 'string' } } } } } }, responses: { 200: json(ref('Schedule')), 404: error } },
    },
    '/v1/review': {
      get: {
        summary: 'Active learning: predictions the model was unsure of (margin between the top two classes, or normalised entropy), least certain first; or the labelled ones',
        parameters: [
          { name: 'model', in: 'query', required: false, schema: { type: 'string' } },
          { name: 'state', in: 'query', required: false, schema: { enum: ['open', 'labelled'], default: 'open' } },
          { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
        ],
        responses: { 200: json({ type: 'object', properties: { items: { type: 'array', items: ref('ReviewItem') } } }), 400: error },
      },
    },
    '/v1/review/{id}/label': {
      post: {
        summary: 'Label a review item (also recorded as feedback); labelled items join the next training dataset of the model',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['label'], properties: { label: { type: ['string', 'number', 'boolean'] }, by: { type: 'string' } } } } } },
        responses: { 200: json(ref('ReviewItem')), 400: error, 404: error },
      },
    },
    '/v1/alerts': {
      get: {
        summary: 'Alerts raised (monitoring breaches, rollout rollbacks), newest first, with what was sent where and what was suppressed (duplicate, rate limit)',
        parameters: [{ name: 'model', in: 'query', required: false, schema: { type: 'string' } }, { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } }],
        responses: { 200: json({ type: 'object', properties: { alerts: { type: 'array', items: { type: 'object' } } } }), 400: error },
      },
    },
    '/healthz': { get: { summary: 'Liveness', responses: { 200: json({ type: 'object' }) } } },
    '/readyz': { get: { summary: 'Readiness: database and Temporal reachable', responses: { 200: json({ type: 'object' }), 503: json({ type: 'object' }, 'Not ready') } } },
  },
  components: {
    schemas: {
      Error: {
        type: 'object',
        required: ['error'],
        properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' }, details: {} } } },
      },
      PipelineRequest: {
        type: 'object',
        required: ['model', 'data', 'target'],
        additionalProperties: false,
        properties: {
          model: { type: 'string' },
          data: { type: 'object', required: ['uri'], properties: {
            uri: { type: 'string', description: 'file path, http(s) URL or postgres:// URL' },
            query: { type: 'string', description: 'SQL, for postgres sources' },
            format: { enum: ['csv', 'jsonl', 'json'], description: 'default from the extension (.jsonl/.ndjson, .json), else csv; json follows Link rel=next or a next field page by page' },
          } },
          target: { type: 'string' },
          features: { type: 'array', items: { type: 'string' } },
          positiveClass: { type: 'string' },
          evaluation: { type: 'object', properties: { sliceBy: { type: 'array', items: { type: 'string' }, maxItems: 5, description: 'columns whose values slice the test rows; metrics are reported per slice' } } },
          preprocessing: {
            type: 'object',
            description: 'numbers: imputation then scaling; text features (at most 50 categories) are one-hot encoded, unseen categories encode as zeros',
            properties: {
              derive: { type: 'array', items: { type: 'string' }, examples: [['bmi = weight / (height / 100) ^ 2']], description: 'derived numeric features: numbers, numeric columns, + - * / ^, log exp sqrt abs' },
              impute: { enum: ['mean', 'median', 'most_frequent', 'constant'] },
              outliers: { type: 'object', required: ['action'], properties: { method: { enum: ['iqr', 'zscore'] }, action: { enum: ['clip', 'drop', 'flag'] }, threshold: { type: 'number', description: 'k: IQR multiple (1.5) or z-score (3)' } } }, imputeValue: { type: 'number' }, scale: { enum: ['standard', 'minmax', 'none'] } },
          },
          approval: {
            type: 'object',
            required: ['mode'],
            properties: { mode: { enum: ['manual', 'auto'] }, thresholds: { type: 'object', additionalProperties: { type: 'number' } }, timeout: { type: 'string', examples: ['72 hours'] } },
          },
          trainer: { type: 'object', properties: { kind: { enum: ['logistic', 'softmax', 'ridge', 'mlp', 'gbdt'], description: 'default: logistic for two classes, softmax for more, ridge for a numeric target; mlp and gbdt learn any of them' }, params: { type: 'object', properties: { l2: { type: 'number' }, penalty: { enum: ['l2', 'l1'], description: 'logistic: which penalty the searched strength applies to (l1 gives sparse weights)' }, hidden: { type: 'array', items: { type: 'integer' }, maxItems: 2, description: 'mlp' }, epochs: { type: 'integer', description: 'mlp' }, batchSize: { type: 'integer', description: 'mlp' }, learningRate: { type: 'number', description: 'mlp (default 0.01), gbdt (default 0.1)' }, patience: { type: 'integer', description: 'mlp, gbdt' }, maxIter: { type: 'integer', description: 'gbdt: most boosting rounds' }, maxLeafNodes: { type: 'integer', description: 'gbdt' }, minSamplesLeaf: { type: 'integer', description: 'gbdt' }, maxBins: { type: 'integer', maximum: 255, description: 'gbdt' } } }, search: {
            type: 'object',
            properties: {
              strategy: { enum: ['grid', 'random', 'halving'], description: 'grid (default) tries l2 in one activity; random and halving score sampled points as separate activities' },
              l2: { type: 'array', items: { type: 'number' } },
              trials: { type: 'integer', minimum: 1, maximum: 100, default: 9 },
              l2Range: { type: 'array', items: { type: 'number' }, minItems: 2, maxItems: 2, default: [1e-5, 10] },
              parallelism: { type: 'integer', minimum: 1, maximum: 16, default: 2 },
            },
          } } },
          seed: { type: 'integer' },
        },
      },
      PipelineStatus: {
        type: 'object',
        required: ['id', 'state', 'uiUrl'],
        properties: {
          id: { type: 'string' },
          state: { enum: ['running', 'awaiting_approval', 'deployed', 'rejected', 'failed'] },
          stage: { enum: ['ingest', 'validate', 'tune', 'train', 'evaluate', 'register', 'approve', 'deploy', 'done'] },
          task: { enum: ['binary', 'multiclass', 'regression'] },
          kind: { enum: ['logistic', 'softmax', 'ridge', 'mlp', 'gbdt'] },
          metrics: { type: 'object', additionalProperties: { type: 'number' }, description: 'binary: accuracy, precision, recall, f1, auc, logLoss; multiclass: accuracy, macroPrecision, macroRecall, macroF1, microF1, logLoss; regression: rmse, mae, r2' },
          confusion: { type: 'array', items: { type: 'array', items: { type: 'integer' } }, description: 'multiclass: confusion[actual][predicted] on the test split' },
          champion: { type: 'object' },
          modelVersion: { type: 'integer' },
          datasetId: { type: 'string' },
          approval: { type: 'object' },
          error: { type: 'string' },
          uiUrl: { type: 'string' },
        },
      },
      ApprovalRequest: { type: 'object', required: ['decision'], properties: { decision: { enum: ['approve', 'reject'] }, comment: { type: 'string' }, by: { type: 'string' } } },
      ModelSummary: { type: 'object', properties: { name: { type: 'string' }, latestVersion: { type: ['integer', 'null'] }, productionVersion: { type: ['integer', 'null'] }, versionCount: { type: 'integer' } } },
      PredictRequest: {
        type: 'object',
        required: ['instances'],
        properties: { instances: { type: 'array', minItems: 1, items: { type: 'object', additionalProperties: { type: ['number', 'string', 'null'] }, description: 'numbers for numeric features, strings for text features, null for missing' } } },
      },
      RolloutRequest: {
        type: 'object',
        required: ['version', 'strategy'],
        properties: {
          version: { type: 'integer', minimum: 1 },
          strategy: { enum: ['blue-green', 'canary', 'shadow'] },
          steps: { type: 'array', items: { type: 'number', exclusiveMinimum: 0, maximum: 100 }, description: 'canary: increasing traffic shares ending at 100 (default 5, 25, 50, 100)' },
          bakeSeconds: { type: 'number', minimum: 0, description: 'time per canary step, blue-green bake or shadow period (default 60)' },
          percent: { type: 'number', description: 'shadow: share of requests mirrored (default 100)' },
          thresholds: { type: 'object', properties: { maxErrorRateIncrease: { type: 'number', default: 0.01 }, maxLatencyRatio: { type: 'number', default: 2 }, maxPsi: { type: 'number', default: 0.2 }, maxAccuracyDrop: { type: 'number', default: 0.05 }, minLabels: { type: 'integer', default: 20 }, minRequests: { type: 'integer', default: 10 } } },
          by: { type: 'string' },
        },
      },
      MonitorConfig: {
        type: 'object',
        properties: {
          windowMinutes: { type: 'integer', minimum: 1, default: 60, description: 'traffic the check looks at' },
          minRows: { type: 'integer', minimum: 1, default: 100, description: 'fewer logged predictions: no drift verdict' },
          drift: { type: 'object', properties: { alpha: { type: 'number', default: 0.05 }, bonferroni: { type: 'boolean', default: true }, psiThreshold: { type: 'number', default: 0.25 }, minPsi: { type: 'number', default: 0.1 }, driftShare: { type: 'number', default: 0.5 } } },
          quality: { type: 'object', properties: { maxDrop: { type: 'number', default: 0.05 }, minAccuracy: { type: 'number' }, minLabelled: { type: 'integer', default: 50 } } },
          serving: { type: 'object', properties: { maxErrorRate: { type: 'number', default: 0.05 } } },
          retrain: { type: 'object', properties: { onDrift: { type: 'boolean', default: true }, onQuality: { type: 'boolean', default: true }, onNewData: { type: 'boolean', default: true }, cooldownMinutes: { type: 'number', default: 360 } } },
        },
      },
      MonitorCheck: {
        type: 'object',
        properties: {
          id: { type: 'string' }, model: { type: 'string' }, version: { type: 'integer' }, checkedAt: { type: 'string', format: 'date-time' },
          window: { type: 'object', properties: { from: { type: 'string' }, to: { type: 'string' } } }, rows: { type: 'integer' }, labelled: { type: 'integer' },
          drift: { type: ['object', 'null'], description: 'per feature: test (ks or chi2), statistic, pvalue, psi, jensenShannon, wasserstein, drifted, bins; driftedShare, datasetDrift' },
          quality: { type: ['object', 'null'] }, serving: { type: ['object', 'null'] },
          breaches: { type: 'array', items: { type: 'object', properties: { kind: { enum: ['drift', 'quality', 'new-data', 'errors'] }, message: { type: 'string' } } } },
          action: { type: ['object', 'null'] },
        },
      },
      ScheduleRequest: {
        type: 'object', required: ['kind', 'model'], additionalProperties: false,
        properties: { kind: { enum: ['monitor', 'retrain'] }, model: { type: 'string' }, every: { type: 'string', description: 'e.g. 30m, 1h, 1d (at least a minute)' }, cron: { type: 'string', description: 'five fields, UTC' }, note: { type: 'string' } },
      },
      Schedule: {
        type: 'object',
        properties: { id: { type: 'string' }, kind: { type: 'string' }, model: { type: 'string' }, workflowType: { type: 'string' }, every: { type: 'array', items: { type: 'string' } }, cron: { type: 'array', items: { type: 'string' } }, paused: { type: 'boolean' }, note: { type: 'string' }, nextRuns: { type: 'array', items: { type: 'string' } }, recentRuns: { type: 'array', items: { type: 'object' } } },
      },
      ReviewItem: {
        type: 'object',
        properties: { predictionId: { type: 'string', format: 'uuid' }, model: { type: 'string' }, version: { type: 'integer' }, measure: { enum: ['margin', 'entropy'] }, uncertainty: { type: 'number' }, instance: { type: 'object' }, output: { type: 'object' }, label: { type: ['string', 'null'] }, labelledBy: { type: ['string', 'null'] } },
      },
      Feedback: { type: 'object', required: ['predictionId', 'label'], properties: { predictionId: { type: 'string', format: 'uuid' }, label: { type: ['string', 'number', 'boolean'] } } },
      PredictResponse: {
        type: 'object',
        properties: {
          predictions: {
            type: 'array',
            items: {
              oneOf: [
                { type: 'object', description: 'classifier', properties: { id: { type: 'string', format: 'uuid', description: 'for POST /v1/feedback' }, label: { type: 'string' }, probabilities: { type: 'object', additionalProperties: { type: 'number' } } } },
                { type: 'object', description: 'regressor', properties: { id: { type: 'string', format: 'uuid' }, value: { type: 'number' } } },
              ],
            },
          },
          model: { type: 'object', properties: { name: { type: 'string' }, version: { type: 'integer' } } },
        },
      },
    },
  },
} as const;
