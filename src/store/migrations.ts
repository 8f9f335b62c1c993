/**
 * Versioned schema migrations, applied in order at start. Each runs once (recorded in
 * schema_migrations); an advisory lock keeps two processes starting together from racing.
 * Append new migrations; never edit one that has shipped.
 */
import { Pool } from 'pg';

interface Migration {
  version: number;
  name: string;
  sql: string;
}

const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'datasets, registry, deployments, audit',
    sql: `
      CREATE TABLE datasets (
        id            text PRIMARY KEY,            -- sha256 of the canonical CSV
        source_uri    text NOT NULL,
        source_kind   text NOT NULL,
        row_count     integer NOT NULL,
        columns       jsonb NOT NULL,
        byte_size     bigint NOT NULL,
        created_at    timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE registered_models (
        name          text PRIMARY KEY,
        created_at    timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE model_versions (
        model_name    text NOT NULL REFERENCES registered_models(name),
        version       integer NOT NULL,
        run_id        text NOT NULL,                -- the pipeline workflow id: natural key for idempotency
        onnx_digest   text NOT NULL,
        signature     jsonb NOT NULL,
        metrics       jsonb NOT NULL,
        params        jsonb NOT NULL,
        dataset_id    text NOT NULL REFERENCES datasets(id),
        code_version  text,
        status        text NOT NULL CHECK (status IN ('pending_approval','approved','rejected','deployed','archived')),
        created_at    timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (model_name, version),
        UNIQUE (model_name, run_id)
      );
      CREATE TABLE model_aliases (
        model_name    text NOT NULL REFERENCES registered_models(name),
        alias         text NOT NULL,
        version       integer NOT NULL,
        updated_at    timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (model_name, alias),
        FOREIGN KEY (model_name, version) REFERENCES model_versions(model_name, version)
      );
      CREATE TABLE deployments (
        id            bigserial PRIMARY KEY,
        deploy_key    text NOT NULL UNIQUE,         -- e.g. <run id>:deploy, so a retry cannot deploy twice
        model_name    text NOT NULL,
        version       integer NOT NULL,
        previous_version integer,
        strategy      text NOT NULL DEFAULT 'direct',
        created_at    timestamptz NOT NULL DEFAULT now(),
        FOREIGN KEY (model_name, version) REFERENCES model_versions(model_name, version)
      );
      CREATE TABLE audit_events (
        id            bigserial PRIMARY KEY,
        event_key     text UNIQUE,                  -- natural key, so retried activities record once
        at            timestamptz NOT NULL DEFAULT now(),
        actor         text NOT NULL,
        action        text NOT NULL,
        subject       text NOT NULL,
        details       jsonb NOT NULL DEFAULT '{}'
      );
    `,
  },
  {
    version: 2,
    name: 'per-column statistics of dataset versions',
    sql: `ALTER TABLE datasets ADD COLUMN statistics jsonb NOT NULL DEFAULT '[]'`,
  },
  {
    version: 3,
    name: 'training runs (experiment tracking)',
    sql: `
      CREATE TABLE training_runs (
        run_id        text PRIMARY KEY,             -- the pipeline workflow id
        model_name    text NOT NULL,
        task          text NOT NULL,
        kind          text NOT NULL,
        dataset_id    text NOT NULL REFERENCES datasets(id),
        seed          integer NOT NULL,
        params        jsonb NOT NULL,               -- chosen hyperparameters and split sizes
        trials        jsonb NOT NULL,               -- every candidate of the search with its validation loss
        onnx_digest   text NOT NULL,
        code_version  text,
        train_ms      integer NOT NULL,
        metrics       jsonb,                        -- test-split metrics, once evaluated
        created_at    timestamptz NOT NULL DEFAULT now(),
        evaluated_at  timestamptz
      );
      CREATE INDEX training_runs_model ON training_runs (model_name, created_at DESC);
    `,
  },
  {
    version: 4,
    name: 'tuning trials',
    sql: `
      CREATE TABLE tuning_trials (
        run_id          text NOT NULL,
        trial           integer NOT NULL,
        rung            integer NOT NULL,
        l2              double precision NOT NULL,
        fraction        double precision NOT NULL,
        validation_loss double precision NOT NULL,
        iterations      integer NOT NULL,
        train_ms        integer NOT NULL,
        created_at      timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (run_id, trial, rung)
      );
    `,
  },
  {
    version: 5,
    name: 'data schema kept with each registered model',
    sql: `ALTER TABLE registered_models ADD COLUMN schema jsonb`,
  },
  {
    version: 6,
    name: 'registry history, gap-free version numbers, dataset parents, step cache, prediction counts',
    sql: `
      -- the last number handed out, bumped in the statement that inserts the version (a row lock orders racers)
      ALTER TABLE registered_models ADD COLUMN last_version integer NOT NULL DEFAULT 0;
      UPDATE registered_models m SET last_version = COALESCE((SELECT MAX(version) FROM model_versions v WHERE v.model_name = m.name), 0);
      CREATE TABLE model_version_events (
        id            bigserial PRIMARY KEY,
        model_name    text NOT NULL,
        version       integer NOT NULL,
        event         text NOT NULL,                -- registered, approved, rejected, deployed, archived, alias_set
        from_status   text,
        to_status     text,
        alias         text,
        actor         text NOT NULL,
        reason        text,
        at            timestamptz NOT NULL DEFAULT now(),
        FOREIGN KEY (model_name, version) REFERENCES model_versions(model_name, version)
      );
      CREATE INDEX model_version_events_version ON model_version_events (model_name, version, id);
      ALTER TABLE deployments ADD COLUMN actor text NOT NULL DEFAULT 'system';
      ALTER TABLE deployments ADD COLUMN reason text;
      ALTER TABLE datasets ADD COLUMN parent_id text REFERENCES datasets(id);
      CREATE TABLE step_cache (
        cache_key     text PRIMARY KEY,             -- sha256 of the stage, its inputs and the code version
        stage         text NOT NULL,
        run_id        text NOT NULL,                -- the run whose outputs are reused
        outputs       jsonb NOT NULL,
        hits          integer NOT NULL DEFAULT 0,
        created_at    timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE prediction_counts (
        model_name    text NOT NULL,
        version       integer NOT NULL,
        predictions   bigint NOT NULL DEFAULT 0,
        requests      bigint NOT NULL DEFAULT 0,
        last_at       timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (model_name, version)
      );
    `,
  },
  {
    version: 7,
    name: 'which source each dataset version was read from, and when',
    sql: `
      -- identical content from two sources is one dataset version; this keeps each source's history
      CREATE TABLE dataset_ingestions (
        source_uri    text NOT NULL,
        dataset_id    text NOT NULL REFERENCES datasets(id),
        first_at      timestamptz NOT NULL DEFAULT now(),
        last_at       timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (source_uri, dataset_id)
      );
      INSERT INTO dataset_ingestions (source_uri, dataset_id, first_at, last_at) SELECT source_uri, id, created_at, created_at FROM datasets;
    `,
  },
  {
    version: 8,
    name: 'traffic routes, rollouts, serving statistics, prediction log and feedback',
    sql: `
      -- a second version beside production: a canary taking a share of requests, or a shadow mirrored to
      CREATE TABLE model_routes (
        model_name    text PRIMARY KEY REFERENCES registered_models(name),
        version       integer NOT NULL,
        mode          text NOT NULL CHECK (mode IN ('canary', 'shadow')),
        percent       double precision NOT NULL CHECK (percent >= 0 AND percent <= 100),
        rollout_id    text NOT NULL,
        updated_at    timestamptz NOT NULL DEFAULT now(),
        FOREIGN KEY (model_name, version) REFERENCES model_versions(model_name, version)
      );
      CREATE TABLE rollouts (
        id            text PRIMARY KEY,             -- the rollout workflow's id
        model_name    text NOT NULL,
        version       integer NOT NULL,
        from_version  integer,
        strategy      text NOT NULL,                -- blue-green, canary, shadow
        state         text NOT NULL,                -- running, promoted, rolled_back, aborted, completed, failed
        step          integer,
        percent       double precision,
        analysis      jsonb,
        actor         text NOT NULL,
        started_at    timestamptz NOT NULL DEFAULT now(),
        ended_at      timestamptz
      );
      CREATE INDEX rollouts_model ON rollouts (model_name, started_at DESC);
      -- per replica, per version, per 5-second window: what canary analysis compares
      CREATE TABLE serving_stats (
        model_name    text NOT NULL,
        version       integer NOT NULL,
        replica       text NOT NULL,
        window_start  timestamptz NOT NULL,
        requests      bigint NOT NULL DEFAULT 0,
        errors        bigint NOT NULL DEFAULT 0,
        rows          bigint NOT NULL DEFAULT 0,
        latency       jsonb NOT NULL,               -- request counts per latency bucket
        outputs       jsonb NOT NULL,               -- row counts per output bin
        shadow_compared bigint NOT NULL DEFAULT 0,  -- shadow rows scored, and how many agreed with production
        shadow_agreed bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (model_name, version, replica, window_start)
      );
      CREATE TABLE prediction_log (
        id            uuid PRIMARY KEY,
        model_name    text NOT NULL,
        version       integer NOT NULL,
        at            timestamptz NOT NULL DEFAULT now(),
        instance      jsonb NOT NULL,
        output        jsonb NOT NULL
      );
      CREATE INDEX prediction_log_version ON prediction_log (model_name, version, at);
      CREATE TABLE feedback (
        prediction_id uuid PRIMARY KEY,
        label         text NOT NULL,
        at            timestamptz NOT NULL DEFAULT now()
      );
    `,
  },
  {
    version: 9,
    name: 'monitoring checks, monitors, alerts, review queue',
    sql: `
      -- one row per monitoring check of a deployed model: drift and quality over a window of traffic
      CREATE TABLE monitor_checks (
        id            text PRIMARY KEY,             -- natural key: the monitor workflow's id
        model_name    text NOT NULL,
        version       integer NOT NULL,
        checked_at    timestamptz NOT NULL DEFAULT now(),
        window_from   timestamptz NOT NULL,
        window_to     timestamptz NOT NULL,
        rows          integer NOT NULL,
        labelled      integer NOT NULL DEFAULT 0,
        drift         jsonb,                        -- per-feature statistics, drifted share (null: too few rows)
        quality       jsonb,                        -- metrics over labelled feedback in the window
        serving       jsonb,                        -- error rate and latency from the serving statistics
        breaches      jsonb NOT NULL DEFAULT '[]',
        action        jsonb                         -- what the check did: retraining started, cooled down, ...
      );
      CREATE INDEX monitor_checks_model ON monitor_checks (model_name, checked_at DESC);
      -- per model: monitoring settings, the source watermark, and the one retraining allowed at a time
      CREATE TABLE monitors (
        model_name    text PRIMARY KEY REFERENCES registered_models(name),
        config        jsonb NOT NULL DEFAULT '{}',
        watermark     text,                         -- the training source's state when last seen
        retrain_run   text,                         -- workflow id of the latest retraining started
        retrain_at    timestamptz,
        updated_at    timestamptz NOT NULL DEFAULT now()
      );
      -- every alert raised; notifications deduplicated by dedup_key and rate limited per model
      CREATE TABLE alerts (
        id            text PRIMARY KEY,             -- natural key of the occurrence: a retry raises it once
        dedup_key     text NOT NULL,
        model_name    text,
        severity      text NOT NULL,
        title         text NOT NULL,
        body          jsonb NOT NULL,
        state         text NOT NULL,                -- pending, sent, suppressed, failed
        channels      jsonb NOT NULL DEFAULT '{}',
        created_at    timestamptz NOT NULL DEFAULT now(),
        sent_at       timestamptz
      );
      CREATE INDEX alerts_dedup ON alerts (dedup_key, created_at DESC);
      CREATE INDEX alerts_model ON alerts (model_name, created_at DESC);
      -- active learning: uncertain predictions waiting for a person's label
      CREATE TABLE review_queue (
        prediction_id uuid PRIMARY KEY,
        model_name    text NOT NULL,
        version       integer NOT NULL,
        measure       text NOT NULL,                -- margin or entropy
        uncertainty   double precision NOT NULL,    -- higher: less sure
        instance      jsonb NOT NULL,
        output        jsonb NOT NULL,
        created_at    timestamptz NOT NULL DEFAULT now(),
        label         text,
        labelled_by   text,
        labelled_at   timestamptz
      );
      CREATE INDEX review_queue_open ON review_queue (model_name, uncertainty DESC) WHERE label IS NULL;
      CREATE INDEX review_queue_labelled ON review_queue (model_name, labelled_at) WHERE label IS NOT NULL;
    `,
  },
  {
    version: 10,
    name: 'API keys, Slack users, approval policies and messages, audit chain, subjects in the prediction log',
    sql: `
      -- API keys: only a hash of the secret is kept; the secret is shown once, at creation
      CREATE TABLE api_keys (
        id            text PRIMARY KEY,             -- the public part of the key (mlk_<id>_<secret>)
        name          text NOT NULL,
        role          text NOT NULL CHECK (role IN ('viewer', 'scientist', 'approver', 'admin')),
        secret_hash   text NOT NULL,                -- sha256 of the secret (256 random bits, so no stretching needed)
        created_by    text NOT NULL,
        created_at    timestamptz NOT NULL DEFAULT now(),
        expires_at    timestamptz,
        revoked_at    timestamptz,
        last_used_at  timestamptz
      );
      -- who may press the buttons of a Slack approval message
      CREATE TABLE slack_users (
        slack_user_id text PRIMARY KEY,
        name          text NOT NULL,
        role          text NOT NULL CHECK (role IN ('viewer', 'scientist', 'approver', 'admin')),
        created_at    timestamptz NOT NULL DEFAULT now()
      );
      -- per model: distinct approvers required, four-eyes, reminders, escalation, auto-approval
      CREATE TABLE approval_policies (
        model_name    text PRIMARY KEY,
        policy        jsonb NOT NULL,
        updated_by    text NOT NULL,
        updated_at    timestamptz NOT NULL DEFAULT now()
      );
      -- the Slack message asking for a run's approval, so a retried activity posts it once and the outcome updates it
      CREATE TABLE slack_messages (
        message_key   text PRIMARY KEY,             -- <run id>:approval
        channel       text,
        ts            text,
        state         text NOT NULL,                -- posting, posted, updated
        created_at    timestamptz NOT NULL DEFAULT now()
      );
      -- signed Slack deliveries already handled: the same request replayed is refused
      CREATE TABLE slack_deliveries (
        digest        text PRIMARY KEY,             -- sha256 of timestamp and body
        received_at   timestamptz NOT NULL DEFAULT now()
      );
      -- tamper evidence: every audit entry carries the hash of the one before it
      ALTER TABLE audit_events ADD COLUMN prev_hash text;
      ALTER TABLE audit_events ADD COLUMN hash text;
      -- privacy: the (pseudonymised) data subject of a logged prediction, and the key that encrypted its payload
      ALTER TABLE prediction_log ADD COLUMN subject text;
      ALTER TABLE prediction_log ADD COLUMN key_id text;
      CREATE INDEX prediction_log_subject ON prediction_log (subject) WHERE subject IS NOT NULL;
    `,
  },
  {
    version: 11,
    name: 'privacy policies, subjects and keys in the review queue, append-only audit log, alert dedup slots',
    sql: `
      -- per model: which request columns are personal data (pseudonymise or drop) and which names the data subject
      CREATE TABLE privacy_policies (
        model_name    text PRIMARY KEY,             -- no foreign key: a policy may be set before the model's first run
        policy        jsonb NOT NULL,
        updated_by    text NOT NULL,
        updated_at    timestamptz NOT NULL DEFAULT now()
      );
      -- review items copy the logged input, so they carry its subject and encryption key too (erasure, rotation)
      ALTER TABLE review_queue ADD COLUMN subject text;
      ALTER TABLE review_queue ADD COLUMN key_id text;
      CREATE INDEX review_queue_subject ON review_queue (subject) WHERE subject IS NOT NULL;
      -- the audit log only grows: changing or deleting entries is refused here, and the hash chain shows it if done anyway
      CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'audit_events is append-only: % is not allowed', TG_OP;
      END
      $$;
      CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
        FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
      CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
        FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
      -- which alert holds each dedup key's window: taken in one statement, so two processes cannot both send
      CREATE TABLE alert_dedup (
        dedup_key     text PRIMARY KEY,
        alert_id      text NOT NULL,
        sent_at       timestamptz NOT NULL
      );
      -- one entry may follow each hash: two writers racing for the same place cannot fork the chain
      CREATE UNIQUE INDEX audit_events_prev_hash ON audit_events (prev_hash);
    `,
  },
  {
    version: 12,
    name: 'logged inputs and answers as json',
    sql: `
      -- every served prediction writes one row: json is checked but kept as text, jsonb is converted, and
      -- that conversion was half the cost of the row. Nothing queries into inputs; answers are read with ->>.
      ALTER TABLE prediction_log ALTER COLUMN instance TYPE json USING instance::json, ALTER COLUMN output TYPE json USING output::json;
      ALTER TABLE review_queue ALTER COLUMN instance TYPE json USING instance::json, ALTER COLUMN output TYPE json USING output::json;
    `,
  },
  {
    version: 13,
    name: 'named source connections and the platform marker',
    sql: `
      -- PostgreSQL sources an admin registered: pipelines name one, never a connection string.
      -- The URL (with its credentials) is stored sealed (AES-256-GCM), readable only with the key named.
      CREATE TABLE source_connections (
        name          text PRIMARY KEY,
        sealed_url    jsonb NOT NULL,
        key_id        text NOT NULL,
        display       text NOT NULL,
        created_by    text NOT NULL,
        created_at    timestamptz NOT NULL DEFAULT now(),
        updated_at    timestamptz NOT NULL DEFAULT now()
      );
      -- its presence in a database's catalog marks the database as a platform's: never usable as a source
      CREATE TABLE mlops_platform_instance (id text PRIMARY KEY);
      INSERT INTO mlops_platform_instance (id) VALUES (md5(random()::text || clock_timestamp()::text));
    `,
  },
  {
    version: 14,
    name: 'governance status apart from deployment, typed version artifacts',
    sql: `
      -- A version's status is now what reviewers decided; whether it serves is derived from the production
      -- alias and running rollouts. 'deployed' and 'archived' both meant "was approved, then served".
      ALTER TABLE model_versions DROP CONSTRAINT model_versions_status_check;
      UPDATE model_versions SET status = 'approved' WHERE status IN ('deployed', 'archived');
      ALTER TABLE model_versions ADD CONSTRAINT model_versions_status_check CHECK (status IN ('pending_approval','approved','rejected','archived'));

      -- the edges a status may move along (domain/model-version.ts holds the same table; a test compares them)
      CREATE TABLE model_version_transitions (
        from_status   text NOT NULL,
        to_status     text NOT NULL,
        PRIMARY KEY (from_status, to_status)
      );
      INSERT INTO model_version_transitions VALUES
        ('pending_approval', 'approved'), ('pending_approval', 'rejected'), ('approved', 'archived'), ('rejected', 'archived');
      CREATE FUNCTION model_versions_status_edge() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.status IS DISTINCT FROM OLD.status
           AND NOT EXISTS (SELECT 1 FROM model_version_transitions WHERE from_status = OLD.status AND to_status = NEW.status) THEN
          RAISE EXCEPTION 'version % of model % may not move from % to %', OLD.version, OLD.model_name, OLD.status, NEW.status
            USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER model_versions_status_edge BEFORE UPDATE OF status ON model_versions
        FOR EACH ROW EXECUTE FUNCTION model_versions_status_edge();

      -- files and records kept with a version, by role, instead of keys in its params
      ALTER TABLE model_versions
        ADD COLUMN reference_digest  text,
        ADD COLUMN smoke_digest      text,
        ADD COLUMN evaluation_digest text,
        ADD COLUMN recipe            jsonb,
        ADD COLUMN pipeline_input    jsonb,
        ADD COLUMN trigger           jsonb;
      UPDATE model_versions SET
        reference_digest = params->>'referenceDigest',
        smoke_digest = params->>'smokeDigest',
        evaluation_digest = params->>'evaluationDigest',
        recipe = params->'training',
        pipeline_input = params->'pipeline',
        trigger = params->'trigger',
        params = params - 'referenceDigest' - 'smokeDigest' - 'evaluationDigest' - 'training' - 'pipeline' - 'trigger';
    `,
  },
  {
    version: 15,
    name: 'MLflow-compatible tracking and registry',
    sql: `
      -- What the official mlflow client writes through /mlflow (src/api/mlflow). Kept apart from
      -- training_runs and model_versions: a pipeline run always has a dataset, a seed and an ONNX file, an
      -- MLflow run has none of them; /v1/runs reads both. Times the client reports (run start and end,
      -- metric timestamps) are its milliseconds since the epoch; times the server stamps are timestamptz.
      CREATE TABLE mlflow_experiments (
        experiment_id   bigint GENERATED BY DEFAULT AS IDENTITY (START WITH 1) PRIMARY KEY,
        name            text NOT NULL UNIQUE,
        lifecycle_stage text NOT NULL DEFAULT 'active' CHECK (lifecycle_stage IN ('active', 'deleted')),
        created_by      text NOT NULL,
        created_at      timestamptz NOT NULL DEFAULT now(),
        updated_at      timestamptz NOT NULL DEFAULT now()
      );
      -- the client logs to experiment 0 when its code names none
      INSERT INTO mlflow_experiments (experiment_id, name, created_by) VALUES (0, 'Default', 'system');
      CREATE TABLE mlflow_experiment_tags (
        experiment_id bigint NOT NULL REFERENCES mlflow_experiments ON DELETE CASCADE,
        key           text NOT NULL,
        value         text NOT NULL,
        PRIMARY KEY (experiment_id, key)
      );

      CREATE TABLE mlflow_runs (
        run_id          text PRIMARY KEY,           -- 32 hex digits, as MLflow makes them
        experiment_id   bigint NOT NULL REFERENCES mlflow_experiments,
        run_name        text NOT NULL,
        user_id         text NOT NULL,              -- the API key that created it (the client's own claim is its mlflow.user tag)
        status          text NOT NULL CHECK (status IN ('RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED')),
        start_time      bigint NOT NULL,
        end_time        bigint,
        lifecycle_stage text NOT NULL DEFAULT 'active' CHECK (lifecycle_stage IN ('active', 'deleted')),
        created_at      timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX mlflow_runs_experiment ON mlflow_runs (experiment_id, start_time DESC);
      CREATE INDEX mlflow_runs_created ON mlflow_runs (created_at DESC);
      CREATE TABLE mlflow_run_params (
        run_id text NOT NULL REFERENCES mlflow_runs ON DELETE CASCADE,
        key    text NOT NULL,
        value  text NOT NULL,                       -- MLflow params are write-once: a different value is refused
        PRIMARY KEY (run_id, key)
      );
      CREATE TABLE mlflow_run_tags (
        run_id text NOT NULL REFERENCES mlflow_runs ON DELETE CASCADE,
        key    text NOT NULL,
        value  text NOT NULL,
        PRIMARY KEY (run_id, key)
      );
      -- every logged value, the whole history; a retried log-batch finds its rows and adds nothing
      CREATE TABLE mlflow_metrics (
        run_id         text NOT NULL REFERENCES mlflow_runs ON DELETE CASCADE,
        key            text NOT NULL,
        value          double precision NOT NULL,   -- NaN and infinities included, as MLflow allows
        timestamp      bigint NOT NULL,
        step           bigint NOT NULL,
        PRIMARY KEY (run_id, key, step, timestamp, value)
      );
      -- a run's metrics as get-run shows them: the latest value of each key (highest step, then time)
      CREATE VIEW mlflow_latest_metrics AS
        SELECT DISTINCT ON (run_id, key) run_id, key, value, timestamp, step
        FROM mlflow_metrics ORDER BY run_id, key, step DESC, timestamp DESC, value DESC;

      CREATE TABLE mlflow_logged_models (
        model_id        text PRIMARY KEY,           -- m-<32 hex digits>
        experiment_id   bigint NOT NULL REFERENCES mlflow_experiments,
        name            text NOT NULL,
        model_type      text,
        source_run_id   text REFERENCES mlflow_runs,
        status          text NOT NULL CHECK (status IN ('LOGGED_MODEL_PENDING', 'LOGGED_MODEL_READY', 'LOGGED_MODEL_UPLOAD_FAILED')),
        lifecycle_stage text NOT NULL DEFAULT 'active' CHECK (lifecycle_stage IN ('active', 'deleted')),
        created_by      text NOT NULL,
        created_at      timestamptz NOT NULL DEFAULT now(),
        updated_at      timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX mlflow_logged_models_experiment ON mlflow_logged_models (experiment_id, created_at DESC);
      CREATE TABLE mlflow_logged_model_params (
        model_id text NOT NULL REFERENCES mlflow_logged_models ON DELETE CASCADE,
        key      text NOT NULL,
        value    text NOT NULL,
        PRIMARY KEY (model_id, key)
      );
      CREATE TABLE mlflow_logged_model_tags (
        model_id text NOT NULL REFERENCES mlflow_logged_models ON DELETE CASCADE,
        key      text NOT NULL,
        value    text NOT NULL,
        PRIMARY KEY (model_id, key)
      );
      -- values a run logged for one of its models (a metric with a model_id): the model's metrics
      CREATE TABLE mlflow_logged_model_metrics (
        model_id       text NOT NULL REFERENCES mlflow_logged_models ON DELETE CASCADE,
        run_id         text NOT NULL REFERENCES mlflow_runs ON DELETE CASCADE,
        key            text NOT NULL,
        value          double precision NOT NULL,
        timestamp      bigint NOT NULL,
        step           bigint NOT NULL,
        dataset_name   text NOT NULL DEFAULT '',
        dataset_digest text NOT NULL DEFAULT '',
        PRIMARY KEY (model_id, key, step, timestamp, value, dataset_name, dataset_digest)
      );
      -- the models a run produced (log-outputs), at the step they were logged
      CREATE TABLE mlflow_run_outputs (
        run_id   text NOT NULL REFERENCES mlflow_runs ON DELETE CASCADE,
        model_id text NOT NULL REFERENCES mlflow_logged_models ON DELETE CASCADE,
        step     bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (run_id, model_id)
      );

      -- the mlflow-artifacts paths the client sees; their bytes are in the content-addressed artifact store.
      -- Every path belongs to one run (<experiment>/<run>/artifacts/...) or one logged model
      -- (<experiment>/models/<model>/artifacts/...), and only its owner's routes reach it.
      CREATE TABLE mlflow_artifacts (
        path        text PRIMARY KEY,
        run_id      text REFERENCES mlflow_runs ON DELETE CASCADE,
        model_id    text REFERENCES mlflow_logged_models ON DELETE CASCADE,
        digest      text NOT NULL,                  -- sha256 of the bytes, their name in the artifact store
        byte_size   bigint NOT NULL,
        uploaded_by text NOT NULL,
        uploaded_at timestamptz NOT NULL DEFAULT now(),
        CHECK ((run_id IS NULL) <> (model_id IS NULL))
      );
      CREATE INDEX mlflow_artifacts_run ON mlflow_artifacts (run_id) WHERE run_id IS NOT NULL;
      CREATE INDEX mlflow_artifacts_model ON mlflow_artifacts (model_id) WHERE model_id IS NOT NULL;

      -- MLflow's registry. A registered model's name is a model name of the platform's: an ONNX version
      -- registered here becomes a version of the platform's model of that name through the import
      -- workflow, and waits for approval there like any other.
      CREATE TABLE mlflow_registered_models (
        name         text PRIMARY KEY,
        description  text NOT NULL DEFAULT '',
        last_version integer NOT NULL DEFAULT 0,    -- hands out gap-free version numbers
        created_by   text NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now(),
        updated_at   timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE mlflow_registered_model_tags (
        name  text NOT NULL REFERENCES mlflow_registered_models ON UPDATE CASCADE ON DELETE CASCADE,
        key   text NOT NULL,
        value text NOT NULL,
        PRIMARY KEY (name, key)
      );
      CREATE TABLE mlflow_model_versions (
        name            text NOT NULL REFERENCES mlflow_registered_models ON UPDATE CASCADE ON DELETE CASCADE,
        version         integer NOT NULL,
        source          text NOT NULL,              -- as the client sent it (models:/m-..., runs:/..., mlflow-artifacts:/...)
        run_id          text,
        model_id        text,
        storage_path    text,                       -- the mlflow_artifacts folder holding its files; null when they are elsewhere
        description     text NOT NULL DEFAULT '',
        status          text NOT NULL CHECK (status IN ('PENDING_REGISTRATION', 'FAILED_REGISTRATION', 'READY')),
        flavors         text[] NOT NULL DEFAULT '{}',
        onnx_digest     text,
        -- what the platform made of it: an ONNX version is handed to the import workflow, whose id is the
        -- run id of the platform's version it registers (unique per model and run id), so that version is
        -- found by joining on it; any other version is kept, not deployable, with the reason
        platform_state  text NOT NULL CHECK (platform_state IN ('import_requested', 'import_failed', 'not_deployable')),
        platform_reason text,
        import_workflow_id text,
        created_by      text NOT NULL,
        created_at      timestamptz NOT NULL DEFAULT now(),
        updated_at      timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (name, version)
      );
      CREATE INDEX mlflow_model_versions_run ON mlflow_model_versions (run_id) WHERE run_id IS NOT NULL;
      CREATE TABLE mlflow_model_version_tags (
        name    text NOT NULL,
        version integer NOT NULL,
        key     text NOT NULL,
        value   text NOT NULL,
        PRIMARY KEY (name, version, key),
        FOREIGN KEY (name, version) REFERENCES mlflow_model_versions ON UPDATE CASCADE ON DELETE CASCADE
      );
      -- MLflow's aliases, apart from the platform's model_aliases: moving one here serves nothing
      -- (and 'production' is refused: only the platform's deployment rules move that one)
      CREATE TABLE mlflow_model_aliases (
        name       text NOT NULL,
        alias      text NOT NULL,
        version    integer NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (name, alias),
        FOREIGN KEY (name, version) REFERENCES mlflow_model_versions ON UPDATE CASCADE ON DELETE CASCADE
      );
    `,
  },
  {
    version: 16,
    name: 'registered trainers',
    sql: `
      -- training code an admin registered: pipelines name a trainer, never a command
      CREATE TABLE trainers (
        name             text PRIMARY KEY,
        command          jsonb NOT NULL,             -- the program and its arguments; never a shell line
        workdir          text,
        env              jsonb NOT NULL DEFAULT '{}',
        timeout_seconds  integer NOT NULL CHECK (timeout_seconds > 0),
        created_by       text NOT NULL,
        created_at       timestamptz NOT NULL DEFAULT now(),
        updated_at       timestamptz NOT NULL DEFAULT now()
      );
    `,
  },
  {
    version: 17,
    name: 'route modes are rollout strategy names, which the code registers',
    sql: `
      -- a route's mode names the strategy whose traffic policy replicas apply (src/rollouts). The list of
      -- strategies belongs to the code: a copy here would make every new strategy a migration, and a replica
      -- already ignores a route whose strategy it does not know. The old values are strategy names as well.
      ALTER TABLE model_routes DROP CONSTRAINT IF EXISTS model_routes_mode_check;
    `,
  },
  {
    version: 18,
    name: 'imported versions without evaluation data',
    sql: `
      -- an ONNX version registered through the MLflow client whose run names no evaluation data is imported
      -- unscored: it has no dataset, and its approval request says it was not scored
      ALTER TABLE model_versions ALTER COLUMN dataset_id DROP NOT NULL;
      ALTER TABLE training_runs ALTER COLUMN dataset_id DROP NOT NULL;
    `,
  },
  {
    version: 19,
    name: 'console sessions',
    sql: `
      -- the web console's sign-ins: the cookie holds a random id, the table only its SHA-256, so a copy
      -- of the table signs nobody in. Each session names the API key it was opened with (NULL for the
      -- configured admin key, then admin_fingerprint says which admin key) and is re-checked on every
      -- request, so revoking the key ends its sessions.
      CREATE TABLE console_sessions (
        id_hash           text PRIMARY KEY,
        key_id            text REFERENCES api_keys(id) ON DELETE CASCADE,
        admin_fingerprint text,
        csrf_token        text NOT NULL,
        created_at        timestamptz NOT NULL DEFAULT now(),
        expires_at        timestamptz NOT NULL,
        CHECK ((key_id IS NULL) <> (admin_fingerprint IS NULL))
      );
      CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);
    `,
  },
  {
    version: 20,
    name: 'open alert problems, so a clean check can resolve them',
    sql: `
      -- a problem (an alert dedup key) is open from the first alert of it that reached a channel until a
      -- later check finds it clean; channels that track incidents (PagerDuty) are then told it is resolved
      CREATE TABLE alert_problems (
        dedup_key    text PRIMARY KEY,
        model_name   text,
        opened_by    text NOT NULL,               -- the alert that opened it
        opened_at    timestamptz NOT NULL,
        resolved_by  text,                        -- the resolution (e.g. "<check id>:resolve") that closed it
        resolved_at  timestamptz
      );
      CREATE INDEX alert_problems_open ON alert_problems (model_name) WHERE resolved_at IS NULL;
    `,
  },
  {
    version: 22,
    name: 'dataset versions stored as Parquet',
    sql: `
      -- a version's id is the digest of its canonical encoding (src/datasets/canonical-digest.ts); the file
      -- that holds its rows is a separate artifact: Parquet from now on. Versions stored before (and rows an
      -- older worker writes during an upgrade) keep the defaults: their canonical CSV, whose digest is the id.
      ALTER TABLE datasets ADD COLUMN storage_format text NOT NULL DEFAULT 'csv' CHECK (storage_format IN ('csv', 'parquet'));
      ALTER TABLE datasets ADD COLUMN storage_digest text CHECK (storage_format = 'csv' OR storage_digest IS NOT NULL);
    `,
  },
  {
    version: 23,
    name: 'batch scoring jobs',
    sql: `
      -- a batch scoring job (its workflow id) and its lineage: the version and the exact ONNX file that scored,
      -- the input's dataset version, the output and the digest of its manifest
      CREATE TABLE batch_jobs (
        id            text PRIMARY KEY,
        model_name    text NOT NULL,
        version       integer NOT NULL,
        onnx_digest   text NOT NULL,
        input         jsonb NOT NULL,               -- the source as asked (secrets removed)
        dataset_id    text REFERENCES datasets(id),
        output_uri    text NOT NULL,
        format        text NOT NULL CHECK (format IN ('parquet', 'csv')),
        state         text NOT NULL CHECK (state IN ('running', 'completed', 'failed')),
        rows          bigint,
        parts         integer,
        output_digest text,
        error         text,
        requested_by  text NOT NULL,
        created_at    timestamptz NOT NULL DEFAULT now(),
        finished_at   timestamptz,
        FOREIGN KEY (model_name, version) REFERENCES model_versions(model_name, version)
      );
      CREATE INDEX batch_jobs_by_version ON batch_jobs (model_name, version, created_at DESC);
      -- the sample of a batch job's inputs fed to the prediction log (for drift) says which job logged it
      ALTER TABLE prediction_log ADD COLUMN batch_job text;
    `,
  },
  {
    version: 24,
    name: 'the new-data watermark remembers which check moved it',
    sql: `
      -- a retried check gets the answer its first attempt got (the watermark had already moved)
      ALTER TABLE monitors ADD COLUMN watermark_check text, ADD COLUMN watermark_changed boolean NOT NULL DEFAULT false;
    `,
  },
];

const LOCK_ID = 728_311_001;

/**
 * Applies pending migrations; returns the versions applied now (empty when up to date). `upTo` stops at
 * a version: tests use it to lay down rows as an older release wrote them, then migrate them.
 */
export async function migrate(pool: Pool, o: { upTo?: number } = {}): Promise<number[]> {
  const client = await pool.connect();
  const applied: number[] = [];
  try {
    await client.query('SELECT pg_advisory_lock($1)', [LOCK_ID]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
    const done = new Set(rows.map((r) => r.version));
    for (const m of MIGRATIONS) {
      if (done.has(m.version) || m.version > (o.upTo ?? Infinity)) continue;
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
        await client.query('COMMIT');
        applied.push(m.version);
      } catch (err) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${m.version} (${m.name}) failed: ${(err as Error).message}`);
      }
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [LOCK_ID]).catch(() => undefined);
    client.release();
  }
  return applied;
}

export const LATEST_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

/** Every migration's version, in order (numbers are handed out per branch, so the list may have gaps until all are merged). */
export const MIGRATION_VERSIONS: readonly number[] = MIGRATIONS.map((m) => m.version);
