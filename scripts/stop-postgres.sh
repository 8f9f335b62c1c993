#!/usr/bin/env bash
# Stops a server started by scripts/start-postgres.sh.   Usage: scripts/stop-postgres.sh [DIR]
# DIR defaults to PG_TEST_DIR, then to start-postgres.sh's default.
DIR="${1:-${PG_TEST_DIR:-/tmp/mlops-test-pg}}"
BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
[ -n "$BIN" ] || exit 0
if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$BIN/pg_ctl" -D "$DIR/data" -m fast stop >/dev/null 2>&1 || true
else "$BIN/pg_ctl" -D "$DIR/data" -m fast stop >/dev/null 2>&1 || true; fi
