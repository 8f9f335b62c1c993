/**
 * The Dockerfile written into every bundle: FROM the platform image (which already holds the `mlops`
 * command and onnxruntime-node), the bundle's pinned files copied in root-owned, and `mlops serve
 * --bundle` as the only thing it runs — as the image's unprivileged user, needing no database, no
 * Temporal and no writable path, so it runs with `docker run --read-only`. Kept hadolint-clean
 * (test/bundle.test.ts lints what this writes).
 */
import { BUNDLE_FILES, BundleManifest, MANIFEST_FILE } from './manifest';

/** The platform image a bundle starts from unless told otherwise: what the root Dockerfile builds, at this release. */
export function defaultPlatformImage(version: string): string {
  return `mlops-temporal:${version}`;
}

/** The port the bundle's container serves on. */
export const BUNDLE_PORT = 8080;

export function bundleDockerfile(manifest: BundleManifest): string {
  const { name, version } = manifest.model;
  const files = [MANIFEST_FILE, ...Object.values(BUNDLE_FILES).filter((f) => manifest.files.some((e) => e.path === f))];
  return `# ${name}@${version} as a container: the model alone, served by \`mlops serve --bundle\`, with the same
# predict API as the platform (POST /v1/models/${name}/predict) and no database or Temporal behind it.
#
#   docker build -t ${name}:${version} .
#   docker run --rm --read-only -p ${BUNDLE_PORT}:${BUNDLE_PORT} ${name}:${version}
#
# Every file copied below is pinned by sha256 in ${MANIFEST_FILE}; the server refuses to start when one
# differs. MLOPS_IMAGE is the platform image (the repository's root Dockerfile); pin it by digest with
# --build-arg MLOPS_IMAGE=mlops-temporal@sha256:<digest> for a reproducible build.
ARG MLOPS_IMAGE=${manifest.platformImage}
FROM \${MLOPS_IMAGE}

# Root-owned: the server's user reads them and can change nothing.
COPY ${files.join(' ')} /bundle/

USER 10001:10001
EXPOSE ${BUNDLE_PORT}

HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \\
  CMD ["node", "-e", "fetch('http://127.0.0.1:${BUNDLE_PORT}/healthz').then((r)=>process.exit(r.ok?0:1),()=>process.exit(1))"]

ENTRYPOINT ["node", "bin/mlops.js", "serve", "--bundle", "/bundle", "--host", "0.0.0.0", "--port", "${BUNDLE_PORT}"]
`;
}
