#!/bin/sh
# After the Temporal server answers: registers the namespace the platform uses (the server image,
# unlike the dev server, starts with none) and the custom search attributes the pipeline workflows
# set (src/workflows/definitions.ts). The API and the workers also create the search attributes at
# start; doing it here keeps the first run's workflows from racing them. Safe to rerun.
# Environment: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_NAMESPACE_RETENTION; for a frontend with
# TLS, TEMPORAL_TLS_CA, TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY (file paths) and TEMPORAL_TLS_SERVER_NAME,
# the platform's names, turned into the CLI's flags; TEMPORAL_CLI where `temporal` is not on PATH.
set -eu

tls=""
[ -n "${TEMPORAL_TLS_CA:-}" ] && tls="$tls --tls-ca-path $TEMPORAL_TLS_CA"
[ -n "${TEMPORAL_TLS_CERT:-}" ] && tls="$tls --tls-cert-path $TEMPORAL_TLS_CERT --tls-key-path ${TEMPORAL_TLS_KEY:?TEMPORAL_TLS_CERT needs TEMPORAL_TLS_KEY}"
[ -n "${TEMPORAL_TLS_SERVER_NAME:-}" ] && tls="$tls --tls-server-name $TEMPORAL_TLS_SERVER_NAME"
# word splitting of $tls is intended (paths without spaces): it holds the --tls-* flags
# shellcheck disable=SC2086
temporal() { command "${TEMPORAL_CLI:-temporal}" "$@" $tls; }

attempt=0
until temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do
  attempt=$((attempt + 1))
  if [ "$attempt" -ge 90 ]; then echo "Temporal at $TEMPORAL_ADDRESS is not healthy" >&2; exit 1; fi
  echo "waiting for Temporal at $TEMPORAL_ADDRESS..."
  sleep 2
done

# A frontend that reports healthy may still fail the create while the other services settle (seen on a
# busy machine: the cluster's first seconds): retry until the namespace exists.
attempt=0
until temporal operator namespace describe --address "$TEMPORAL_ADDRESS" --namespace "$TEMPORAL_NAMESPACE" >/dev/null 2>&1; do
  created=$(temporal operator namespace create --address "$TEMPORAL_ADDRESS" --namespace "$TEMPORAL_NAMESPACE" \
    --retention "${TEMPORAL_NAMESPACE_RETENTION:-720h}" 2>&1) && { echo "$created"; continue; }
  attempt=$((attempt + 1))
  if [ "$attempt" -ge 30 ]; then echo "could not create the namespace $TEMPORAL_NAMESPACE: $created" >&2; exit 1; fi
  echo "the namespace create failed, retrying: $created"
  sleep 2
done
echo "namespace $TEMPORAL_NAMESPACE exists"

# The namespace is visible to the search-attribute API a moment after it is created: retry.
attempt=0
while :; do
  list=$(temporal operator search-attribute list --address "$TEMPORAL_ADDRESS" --namespace "$TEMPORAL_NAMESPACE" 2>&1) && {
    missing=""
    echo "$list" | grep -qw MlopsModel || missing="$missing --name MlopsModel --type Keyword"
    echo "$list" | grep -qw MlopsStage || missing="$missing --name MlopsStage --type Keyword"
    if [ -z "$missing" ]; then echo "search attributes MlopsModel and MlopsStage exist"; exit 0; fi
    # word splitting of $missing is intended: it holds the --name/--type flags
    # shellcheck disable=SC2086
    temporal operator search-attribute create --address "$TEMPORAL_ADDRESS" --namespace "$TEMPORAL_NAMESPACE" $missing || true
  }
  attempt=$((attempt + 1))
  if [ "$attempt" -ge 30 ]; then echo "could not create the search attributes: $list" >&2; exit 1; fi
  sleep 2
done
