#!/usr/bin/env bash
# The OpenTelemetry Collector the tracing tests send spans to (test/telemetry.test.ts), built from Go
# modules with the Collector Builder (ocb) from deploy/otel/collector/: the manifest, and go.mod/go.sum
# that pin every module. An OTLP receiver and a file exporter, nothing else. Built once into
# .cache/tools/otelcol-<version>/ (about a minute on 2 cores, more when the Go module cache is empty),
# like the Temporal server in scripts/temporal-cluster.sh; afterwards it is reused.
#
#   scripts/otel-collector.sh build    build it unless .cache/tools has it
#   scripts/otel-collector.sh path     build it if needed, then print the binary's path
#
# Environment: OTELCOL_VERSION, the Collector Builder's version (v0.165.0; change it with the manifest and go.mod);
# the folder under .cache/tools is named after it.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VERSION="${OTELCOL_VERSION:-v0.165.0}"
TOOLS="$ROOT/.cache/tools/otelcol-$VERSION"
BINARY="$TOOLS/otelcol-mlops"
SOURCE="$ROOT/deploy/otel/collector"

say() { echo "otel-collector: $*" >&2; }
die() { say "$*"; exit 1; }

build() {
  if [ -x "$BINARY" ]; then
    say "using the build in $TOOLS"
    return
  fi
  command -v go >/dev/null || PATH="$PATH:/usr/local/go/bin"
  command -v go >/dev/null || die "go is not installed: the OpenTelemetry Collector for the tracing tests is built from source with Go"
  mkdir -p "$ROOT/.cache/tools"
  tmp="$(mktemp -d "$ROOT/.cache/tools/.otelcol-build.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  say "building the OpenTelemetry Collector $VERSION (once; a minute or two on 2 cores)..."
  local started=$SECONDS
  (cd "$tmp" && GOFLAGS=-mod=mod GOBIN="$tmp/bin" go install "go.opentelemetry.io/collector/cmd/builder@$VERSION") >&2 \
    || die "the Collector Builder did not build (output above)"
  # ocb writes the sources only; the pinned go.mod and go.sum decide what they are built with
  sed "s#output_path: .*#output_path: $tmp/src#" "$SOURCE/builder.yaml" >"$tmp/manifest.yaml"
  (cd "$tmp" && "$tmp/bin/builder" --config "$tmp/manifest.yaml" --skip-get-modules --skip-compilation) >&2 \
    || die "the Collector Builder did not generate the sources (output above)"
  cp "$SOURCE/go.mod" "$SOURCE/go.sum" "$tmp/src/"
  mkdir -p "$tmp/done"
  (cd "$tmp/src" && go build -trimpath -ldflags="-s -w" -o "$tmp/done/otelcol-mlops" .) >&2 \
    || die "the collector did not build (output above)"
  rm -rf "$TOOLS"
  mv "$tmp/done" "$TOOLS"
  say "built in $((SECONDS - started)) s: $BINARY"
}

case "${1:-}" in
  build) build ;;
  path) build; echo "$BINARY" ;;
  *) die "usage: $0 build|path" ;;
esac
