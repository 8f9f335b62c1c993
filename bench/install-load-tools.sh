#!/usr/bin/env bash
# Installs the native load generators bench/serving_tail.ts drives: wrk (Debian's package) for the
# closed-loop peak, and oha (crates.io, version pinned, built with its lock file) for evenly paced
# open-loop load with coordinated-omission correction. Both cost the shared cores a fraction of what a
# Node generator does. oha builds in about 7 minutes on 2 cores, once; it lands in .cache/tools/oha.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OHA_VERSION=1.16.0

if ! command -v wrk >/dev/null; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get install -y wrk || { $SUDO apt-get update && $SUDO apt-get install -y wrk; }
fi
if [ ! -x "$ROOT/.cache/tools/oha/bin/oha" ]; then
  command -v cargo >/dev/null || { echo "cargo is needed to build oha (https://rustup.rs)" >&2; exit 1; }
  cargo install --locked --root "$ROOT/.cache/tools/oha" "oha@$OHA_VERSION"
fi
