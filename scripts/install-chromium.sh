#!/usr/bin/env bash
# Prints the path of a Chromium that runs headless, for rendering and checking HTML reports.
# Looks at CHROMIUM_PATH, then chromium / chromium-browser / google-chrome on PATH, else installs
# Debian's `chromium` package (apt-get; sudo only when not root). Everything but the path goes to
# stderr, so callers can do:  CHROMIUM="$(scripts/install-chromium.sh)"
set -euo pipefail

# A candidate counts only if it starts: a leftover wrapper script or a snap stub without its
# binary would otherwise be "found" and fail later with a less helpful message.
works() { [ -n "$1" ] && [ -x "$1" ] && "$1" --version >/dev/null 2>&1; }

find_one() {
  if [ -n "${CHROMIUM_PATH:-}" ]; then
    if works "$CHROMIUM_PATH"; then echo "$CHROMIUM_PATH"; return 0; fi
    echo "CHROMIUM_PATH=$CHROMIUM_PATH does not run ('$CHROMIUM_PATH --version' failed); looking elsewhere" >&2
  fi
  local name found
  for name in chromium chromium-browser google-chrome google-chrome-stable; do
    found="$(command -v "$name" 2>/dev/null || true)"
    if [ -n "$found" ] && works "$found"; then echo "$found"; return 0; fi
  done
  return 1
}

if find_one; then exit 0; fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "no Chromium found (chromium, chromium-browser, google-chrome) and apt-get is unavailable;" >&2
  echo "install Chromium or Chrome, or set CHROMIUM_PATH to its binary" >&2
  exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then echo "not root and sudo is missing: cannot apt-get install chromium" >&2; exit 1; fi
  SUDO="sudo"
fi
install_it() { $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >&2; }

echo "installing Chromium from Debian's packages..." >&2
# A fresh machine often has no package lists (or stale ones that name removed versions): the
# first attempt is cheap when it works, and a failure is retried once after refreshing the lists.
if ! install_it; then
  echo "apt-get install failed; running apt-get update and trying again" >&2
  $SUDO apt-get update -qq >&2
  install_it
fi

if find_one; then exit 0; fi
echo "the chromium package is installed but no working binary was found on PATH" >&2
exit 1
