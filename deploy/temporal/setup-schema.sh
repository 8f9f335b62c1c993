#!/bin/sh
# Creates or upgrades Temporal's two databases (temporal, temporal_visibility) on PostgreSQL with
# temporal-sql-tool, before the server starts: in docker-compose.yml the admin-tools image's, in
# scripts/temporal-cluster.sh the one it builds. Safe to rerun: creating an existing database is
# skipped, and update-schema applies only the versions not applied yet, so the same job upgrades the
# schema when the server moves to a release with new schema versions.
# Environment: POSTGRES_SEEDS, DB_PORT, POSTGRES_USER, SQL_PASSWORD (read by temporal-sql-tool);
# SQL_TOOL and SCHEMA_DIR where they are not the admin-tools image's.
set -eu

PLUGIN=postgres12
SCHEMA_DIR="${SCHEMA_DIR:-/etc/temporal/schema/postgresql/v12}"
SQL_TOOL="${SQL_TOOL:-temporal-sql-tool}"
sql() { "$SQL_TOOL" --plugin "$PLUGIN" --ep "$POSTGRES_SEEDS" -p "$DB_PORT" -u "$POSTGRES_USER" "$@"; }

attempt=0
# (the cluster script has waited for PostgreSQL already; nc is the admin-tools image's way)
command -v nc >/dev/null || attempt=60
until [ "$attempt" -ge 60 ] || nc -z "$POSTGRES_SEEDS" "$DB_PORT"; do
  attempt=$((attempt + 1))
  if [ "$attempt" -ge 60 ]; then echo "PostgreSQL at $POSTGRES_SEEDS:$DB_PORT did not answer" >&2; exit 1; fi
  echo "waiting for PostgreSQL at $POSTGRES_SEEDS:$DB_PORT..."
  sleep 2
done

for db in temporal:temporal temporal_visibility:visibility; do
  name=${db%%:*}
  dir=${db#*:}
  # "create" fails when the database exists already: that is the rerun case, not an error.
  sql --db "$name" create 2>/dev/null || echo "database $name exists"
  sql --db "$name" setup-schema -v 0.0
  sql --db "$name" update-schema -d "$SCHEMA_DIR/$dir/versioned"
done
echo "Temporal schema is up to date"
