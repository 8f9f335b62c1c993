#!/usr/bin/env bash
# Prints the path of a working `promtool` (Prometheus's rule checker and rule unit-test runner).
# Looks at PROMTOOL_PATH, then `promtool` on PATH, then .cache/tools/promtool/promtool in this
# repository; else takes promtool out of Debian's `prometheus` package into .cache/tools/promtool.
# The package is downloaded and unpacked (apt-get download + dpkg-deb), never installed: no
# Prometheus service gets started and nothing outside the repository changes, except the package
# lists when `apt-get update` has to run (as root, or with sudo).
# Everything but the path goes to stderr:  PROMTOOL="$(scripts/install-promtool.sh)"
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/.cache/tools/promtool"

# A candidate counts only if it runs: a half-copied file or one for another architecture does not.
works() { [ -n "$1" ] && [ -x "$1" ] && "$1" --version >/dev/null 2>&1; }

find_one() {
  if [ -n "${PROMTOOL_PATH:-}" ]; then
    if works "$PROMTOOL_PATH"; then echo "$PROMTOOL_PATH"; return 0; fi
    echo "PROMTOOL_PATH=$PROMTOOL_PATH does not run (tried '$PROMTOOL_PATH --version'); looking elsewhere" >&2
  fi
  local found
  found="$(command -v promtool 2>/dev/null || true)"
  if [ -n "$found" ] && works "$found"; then echo "$found"; return 0; fi
  if works "$DEST/promtool"; then echo "$DEST/promtool"; return 0; fi
  return 1
}

if find_one; then exit 0; fi

for tool in apt-get dpkg-deb tar; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "no promtool found (PROMTOOL_PATH, PATH, $DEST) and $tool is unavailable to fetch Debian's;" >&2
    echo "install Prometheus's promtool (https://prometheus.io/download/) or set PROMTOOL_PATH to it" >&2
    exit 1
  fi
done

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
# apt-get download writes to the current directory and needs no root; as root, apt's download
# sandbox user (_apt) must be able to write there too, or apt warns and falls back to root.
chmod 777 "$WORK"
download() { (cd "$WORK" && apt-get download -q prometheus >&2); }

echo "fetching promtool from Debian's prometheus package..." >&2
# Package lists may be missing (fresh container) or stale (naming a version the mirror dropped):
# try as they are first, and refresh them once if that fails.
if ! download; then
  echo "apt-get download failed; running apt-get update and trying again" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then echo "not root and sudo is missing: cannot run apt-get update" >&2; exit 1; fi
    SUDO="sudo"
  fi
  $SUDO apt-get update -qq >&2
  download
fi

DEB="$(ls "$WORK"/prometheus_*.deb)"
# Only the one binary is taken out of the ~19 MB package (it needs nothing but libc).
dpkg-deb --fsys-tarfile "$DEB" | tar -x -C "$WORK" ./usr/bin/promtool
mkdir -p "$DEST"
# Copy next to the target, then rename: a concurrent run never sees a half-written binary.
cp "$WORK/usr/bin/promtool" "$DEST/promtool.tmp.$$"
mv -f "$DEST/promtool.tmp.$$" "$DEST/promtool"
dpkg-deb -f "$DEB" Version > "$DEST/VERSION"
echo "promtool $(cat "$DEST/VERSION") installed in $DEST" >&2

if works "$DEST/promtool"; then echo "$DEST/promtool"; exit 0; fi
echo "promtool was unpacked to $DEST but does not run ('$DEST/promtool --version' failed)" >&2
exit 1
