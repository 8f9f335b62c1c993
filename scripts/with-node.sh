#!/usr/bin/env bash
# Runs a command on another Node.js major version, e.g. the container image's:
#
#   scripts/with-node.sh 24 npm run test:full
#
# The runtime comes from npm's registry (the node-linux-<arch> package carries the official binary), so
# it installs wherever packages do, into .cache/tools/node-<major>; `node` and everything started from
# it (npm's scripts, the tests' child processes) then run on it.
set -euo pipefail
cd "$(dirname "$0")/.."
major="${1:?usage: scripts/with-node.sh MAJOR COMMAND [ARG...]}"
shift
case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "with-node.sh: no node-linux package for $(uname -m)" >&2; exit 1 ;;
esac
dir="$PWD/.cache/tools/node-$major"
if [ ! -x "$dir/bin/node" ]; then
  tmp="$(mktemp -d)"
  if ! (cd "$tmp" && npm pack --silent "node-linux-$arch@$major" >/dev/null 2>&1); then
    rm -rf "$tmp"
    echo "with-node.sh: npm has no node-linux-$arch@$major (a Node major, such as 24)" >&2
    exit 1
  fi
  mkdir -p "$dir"
  tar -xzf "$tmp"/node-linux-*.tgz -C "$dir" --strip-components=1
  rm -rf "$tmp"
fi
echo "with-node.sh: $("$dir/bin/node" --version) from $dir" >&2
PATH="$dir/bin:$PATH" exec "$@"
