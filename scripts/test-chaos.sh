#!/usr/bin/env bash
# The chaos suite (test/chaos/): the platform as processes on the Temporal cluster of
# scripts/temporal-cluster.sh (built first if .cache/tools does not have it: minutes on a new machine),
# two workers and two API replicas behind a proxy, under steady load, while one part after another is
# killed. Arguments select files (default: all of test/chaos). CHAOS_RESULTS=<file> appends each fault's
# report (recovery time included) to that JSON Lines file. Ports 18460-18499.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/temporal-cluster.sh build
if [ $# -eq 0 ]; then set -- test/chaos/*.test.ts; fi
exec node scripts/test.js "$@"
