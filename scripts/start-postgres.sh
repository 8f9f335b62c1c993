#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server for the test suite (Debian's postgresql package) and prints
# the URL to use as TEST_DATABASE_URL. Installs the package when it is missing and apt is available.
# Usage: eval "$(scripts/start-postgres.sh)"   # exports TEST_DATABASE_URL and PG_TEST_DIR
set -euo pipefail
PORT="${PG_TEST_PORT:-55432}"
DIR="${PG_TEST_DIR:-/tmp/mlops-test-pg}"
# Tests need no durability; a benchmark of a real deployment's store sets PG_FSYNC=on.
FSYNC="${PG_FSYNC:-off}"
case "$FSYNC" in on | off) ;; *) echo "start-postgres.sh: PG_FSYNC must be on or off, not \"$FSYNC\"" >&2; exit 2 ;; esac

bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
if [ -z "$(bindir)" ]; then
  if command -v apt-get >/dev/null; then
    echo "installing PostgreSQL from Debian's packages..." >&2
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >&2
  else
    echo "PostgreSQL server binaries not found and apt-get is unavailable" >&2; exit 1
  fi
fi
BIN="$(bindir)"

# initdb and postgres refuse to run as root; run them as the postgres user then.
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

if ! "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"; then
  rm -rf "$DIR"; mkdir -p "$DIR"
  [ "$(id -u)" -eq 0 ] && chown postgres "$DIR"
  as_pg "$BIN/initdb" -D "$DIR/data" -U postgres --auth=trust -E UTF8 >/dev/null
  as_pg "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w \
    -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c fsync=$FSYNC -c max_connections=200" start >&2
fi
echo "export TEST_DATABASE_URL=postgres://postgres@127.0.0.1:$PORT/postgres"
echo "export PG_TEST_DIR=$DIR"
