#!/usr/bin/env bash
# Prints the path of a working `amtool` (Alertmanager's configuration checker), for test/packaging.test.ts.
# Looks at AMTOOL_PATH, then `amtool` on PATH, then .cache/tools/amtool/amtool in this
# repository; else takes amtool out of Debian's `prometheus-alertmanager` package into .cache/tools/amtool.
# The package is downloaded and unpacked (apt-get download + dpkg-deb), never installed: no
# Alertmanager service gets started and nothing outside the repository changes, except the package
# lists when `apt-get update` has to run (as root, or with sudo).
# Everything but the path goes to stderr:  AMTOOL="$(scripts/install-amtool.sh)"
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/.cache/tools/amtool"

# A candidate counts only if it runs: a half-copied file or one for another architecture does not.
works() { [ -n "$1" ] && [ -x "$1" ] && "$1" --version >/dev/null 2>&1; }

find_one() {
  if [ -n "${AMTOOL_PATH:-}" ]; then
    if works "$AMTOOL_PATH"; then echo "$AMTOOL_PATH"; return 0; fi
    echo "AMTOOL_PATH=$AMTOOL_PATH does not run (tried '$AMTOOL_PATH --version'); looking elsewhere" >&2
  fi
  local found
  found="$(command -v amtool 2>/dev/null || true)"
  if [ -n "$found" ] && works "$found"; then echo "$found"; return 0; fi
  if works "$DEST/amtool"; then echo "$DEST/amtool"; return 0; fi
  return 1
}

if find_one; then exit 0; fi

for tool in apt-get dpkg-deb tar; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "no amtool found (AMTOOL_PATH, PATH, $DEST) and $tool is unavailable to fetch Debian's;" >&2
    echo "install Alertmanager's amtool (https://prometheus.io/download/) or set AMTOOL_PATH to it" >&2
    exit 1
  fi
done

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
# apt-get download writes to the current directory and needs no root; as root, apt's download
# sandbox user (_apt) must be able to write there too, or apt warns and falls back to root.
chmod 777 "$WORK"
download() { (cd "$WORK" && apt-get download -q prometheus-alertmanager >&2); }

echo "fetching amtool from Debian's prometheus-alertmanager package..." >&2
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

DEB="$(ls "$WORK"/prometheus-alertmanager_*.deb)"
# Only the one binary is taken out of the package (a static Go binary: it needs nothing but libc).
dpkg-deb --fsys-tarfile "$DEB" | tar -x -C "$WORK" ./usr/bin/amtool
mkdir -p "$DEST"
# Copy next to the target, then rename: a concurrent run never sees a half-written binary.
cp "$WORK/usr/bin/amtool" "$DEST/amtool.tmp.$$"
mv -f "$DEST/amtool.tmp.$$" "$DEST/amtool"
dpkg-deb -f "$DEB" Version > "$DEST/VERSION"
echo "amtool $(cat "$DEST/VERSION") installed in $DEST" >&2

if works "$DEST/amtool"; then echo "$DEST/amtool"; exit 0; fi
echo "amtool was unpacked to $DEST but does not run ('$DEST/amtool --version' failed)" >&2
exit 1
