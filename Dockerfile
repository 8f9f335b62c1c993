# mlops-temporal: one image for both `mlops api` and `mlops worker`.
#
#   docker build -t mlops-temporal --build-arg MLOPS_CODE_VERSION="$(git rev-parse HEAD)" .
#   docker run --rm mlops-temporal api       # the default command
#   docker run --rm mlops-temporal worker
#
# Both connect to a Temporal cluster (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE) and PostgreSQL
# (DATABASE_URL); the image holds no Temporal CLI and no database. Artifacts live in an S3 bucket
# (MLOPS_S3_*) or under /data, which then must be shared by workers and API replicas.
# See docs/deployment.md; test/packaging.test.ts checks what this file claims.

# Node 24 (LTS): Node 20 left support in April 2026, and predict's peak is 10-50% higher on 24
# (bench/RESULTS.md). The test suite passes on both.
ARG NODE_IMAGE=node:24-bookworm-slim

# ---- build: compile TypeScript, bundle the workflow code, drop dev dependencies ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# swagger-ui-dist pulls in @scarf/scarf, whose install script reports installs over the network.
# onnxruntime-node's install script downloads the CUDA provider from NuGet on linux/x64 unless told
# to skip; the CPU binaries it needs ship inside the npm package (bin/napi-v6/linux/<arch>).
# .npmrc says onnxruntime-node-install=skip (npm hands it to the script as
# npm_config_onnxruntime_node_install); ONNXRUNTIME_NODE_INSTALL says it again for npm versions
# that stop passing unknown .npmrc keys on.
ENV SCARF_ANALYTICS=false \
    ONNXRUNTIME_NODE_INSTALL=skip

# Dependencies first, so code changes do not reinstall them.
COPY package.json package-lock.json .npmrc ./
RUN npm ci

COPY tsconfig*.json ./
COPY src/ src/
COPY scripts/ scripts/
COPY datasets/ datasets/
COPY bin/ bin/
# tsc into dist/, then the prebuilt workflow bundle dist/workflow-bundle.js, so workers never run
# webpack at start (and need no writable code folder); then keep only production dependencies,
# without the macOS and Windows native binaries of onnxruntime-node and the Temporal core bridge
# and the bridge's Rust sources (about 300 MB; the Linux x64 and arm64 binaries stay).
RUN npm run build \
 && test -s dist/workflow-bundle.js \
 && npm prune --omit=dev \
 && rm -rf node_modules/onnxruntime-node/bin/napi-v*/darwin \
           node_modules/onnxruntime-node/bin/napi-v*/win32 \
           node_modules/@temporalio/core-bridge/releases/*-apple-darwin \
           node_modules/@temporalio/core-bridge/releases/*-windows-* \
           node_modules/@temporalio/core-bridge/sdk-core \
           node_modules/@temporalio/core-bridge/src

# ---- runtime: production dependencies and the compiled code, as an unprivileged user ----
FROM ${NODE_IMAGE} AS runtime

# Commit the image was built from, recorded with every model version (git is not in the image).
ARG MLOPS_CODE_VERSION=""

ENV NODE_ENV=production \
    MLOPS_API_HOST=0.0.0.0 \
    MLOPS_API_PORT=8080 \
    MLOPS_DATA_DIR=/data \
    MLOPS_CODE_VERSION=${MLOPS_CODE_VERSION}

# An unprivileged user; the application files stay root-owned and read-only to it, and only /data
# (and /tmp) is written. /data is created before VOLUME so a fresh named volume inherits its owner.
RUN groupadd --gid 10001 mlops \
 && useradd --uid 10001 --gid 10001 --create-home --home-dir /home/mlops --shell /usr/sbin/nologin mlops \
 && mkdir -p /data \
 && chown 10001:10001 /data

WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY --from=build /app/datasets ./datasets

# Fail the build, not the first request, when a native module cannot load on this base image:
# onnxruntime-node's CPU binary (serving) and the Temporal core bridge (worker and client).
RUN node -e "require('onnxruntime-node'); require('@temporalio/core-bridge'); console.log('native modules load')"

USER 10001:10001
VOLUME /data
EXPOSE 8080

# Liveness of the API (/healthz: the process serves HTTP). A worker serves no HTTP, so the check
# passes for any command other than `api` and `up`, read from PID 1's command line
# (node bin/mlops.js <command>, possibly behind an init such as docker-init or tini).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "let c='api';try{const a=require('fs').readFileSync('/proc/1/cmdline','utf8').split('\\0');const i=a.findIndex((x)=>x.endsWith('mlops.js'));if(i>=0&&a[i+1])c=a[i+1]}catch{}if(c!=='api'&&c!=='up')process.exit(0);fetch('http://127.0.0.1:'+(process.env.MLOPS_API_PORT||8080)+'/healthz').then((r)=>process.exit(r.ok?0:1),()=>process.exit(1))"]

ENTRYPOINT ["node", "bin/mlops.js"]
CMD ["api"]
