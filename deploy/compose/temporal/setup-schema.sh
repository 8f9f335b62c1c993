#!/bin/sh
# Creates or upgrades Temporal's two databases (temporal, temporal_visibility) on PostgreSQL with the
# temporal-sql-tool of the admin-tools image, before the server starts. Safe to rerun: creating an
# existing database is skipped, and update-schema applies only the versions not applied yet, so the
# same job upgrades the schema when TEMPORAL_VERSION moves to a release with new schema versions.
# Environment: POSTGRES_SEEDS, DB_PORT, POSTGRES_USER, SQL_PASSWORD (read by temporal-sql-tool).
set -eu

PLUGIN=postgres12
SCHEMA_DIR=/etc/temporal/schema/postgresql/v12
sql() { temporal-sql-tool --plugin "$PLUGIN" --ep "$POSTGRES_SEEDS" -p "$DB_PORT" -u "$POSTGRES_USER" "$@"; }

attempt=0
until nc -z "$POSTGRES_SEEDS" "$DB_PORT"; do
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
