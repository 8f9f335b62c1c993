#!/usr/bin/env bash
# Prints the path of a working command-line tool that ships inside a Debian package (promtool in
# `prometheus`, amtool in `prometheus-alertmanager`):  scripts/install-debian-tool.sh <tool> <package>
# Looks at <TOOL>_PATH (e.g. PROMTOOL_PATH), then <tool> on PATH, then .cache/tools/<tool>/<tool> in
# this repository; else takes the one binary out of the Debian package into .cache/tools/<tool>.
# The package is downloaded and unpacked (apt-get download + dpkg-deb), never installed: no service
# gets started and nothing outside the repository changes, except the package lists when
# `apt-get update` has to run (as root, or with sudo). Everything but the path goes to stderr.
set -euo pipefail

NAME="${1:?usage: install-debian-tool.sh <tool> <debian package>}"
PACKAGE="${2:?usage: install-debian-tool.sh <tool> <debian package>}"
OVERRIDE_VAR="$(echo "$NAME" | tr '[:lower:]-' '[:upper:]_')_PATH"
OVERRIDE="${!OVERRIDE_VAR:-}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/.cache/tools/$NAME"

# A candidate counts only if it runs: a half-copied file or one for another architecture does not.
works() { [ -n "$1" ] && [ -x "$1" ] && "$1" --version >/dev/null 2>&1; }

find_one() {
  if [ -n "$OVERRIDE" ]; then
    if works "$OVERRIDE"; then echo "$OVERRIDE"; return 0; fi
    echo "$OVERRIDE_VAR=$OVERRIDE does not run (tried '$OVERRIDE --version'); looking elsewhere" >&2
  fi
  local found
  found="$(command -v "$NAME" 2>/dev/null || true)"
  if [ -n "$found" ] && works "$found"; then echo "$found"; return 0; fi
  if works "$DEST/$NAME"; then echo "$DEST/$NAME"; return 0; fi
  return 1
}

if find_one; then exit 0; fi

for tool in apt-get dpkg-deb tar; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "no $NAME found ($OVERRIDE_VAR, PATH, $DEST) and $tool is unavailable to fetch Debian's $PACKAGE;" >&2
    echo "install $NAME (https://prometheus.io/download/) or set $OVERRIDE_VAR to it" >&2
    exit 1
  fi
done

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
# apt-get download writes to the current directory and needs no root; as root, apt's download
# sandbox user (_apt) must be able to write there too, or apt warns and falls back to root.
chmod 777 "$WORK"
download() { (cd "$WORK" && apt-get download -q "$PACKAGE" >&2); }

echo "fetching $NAME from Debian's $PACKAGE package..." >&2
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

DEB="$(ls "$WORK"/"$PACKAGE"_*.deb)"
# Only the one binary is taken out of the package (static Go binaries: they need nothing but libc).
dpkg-deb --fsys-tarfile "$DEB" | tar -x -C "$WORK" "./usr/bin/$NAME"
mkdir -p "$DEST"
# Copy next to the target, then rename: a concurrent run never sees a half-written binary.
cp "$WORK/usr/bin/$NAME" "$DEST/$NAME.tmp.$$"
mv -f "$DEST/$NAME.tmp.$$" "$DEST/$NAME"
dpkg-deb -f "$DEB" Version > "$DEST/VERSION"
echo "$NAME $(cat "$DEST/VERSION") installed in $DEST" >&2

if works "$DEST/$NAME"; then echo "$DEST/$NAME"; exit 0; fi
echo "$NAME was unpacked to $DEST but does not run ('$DEST/$NAME --version' failed)" >&2
exit 1
