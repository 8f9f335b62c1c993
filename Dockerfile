# mlops-temporal: one image for both `mlops worker` and `mlops api`.
#
#   docker build -t mlops-temporal .
#   docker run --rm mlops-temporal api       # the default command
#   docker run --rm mlops-temporal worker
#
# Both connect to TEMPORAL_ADDRESS and DATABASE_URL (see docker-compose.yml) and keep the
# content-addressed artifacts under /data, which worker and API must share.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: compile TypeScript, bundle the workflow code, drop dev dependencies ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# swagger-ui-dist pulls in @scarf/scarf, whose install script reports installs over the network.
ENV SCARF_ANALYTICS=false

# Dependencies first, so code changes do not reinstall them. .npmrc sets
# onnxruntime-node-install=skip: the CPU binaries ship inside the npm package, and the
# install script would otherwise try to download extra ones.
COPY package.json package-lock.json .npmrc ./
RUN npm ci

COPY tsconfig*.json ./
COPY src/ src/
COPY scripts/ scripts/
COPY datasets/ datasets/
COPY bin/ bin/
# tsc into dist/, then the prebuilt workflow bundle dist/workflow-bundle.js, so workers never
# run webpack at start; then keep only production dependencies for the runtime stage, without
# the macOS and Windows native binaries of onnxruntime-node and the Temporal core bridge
# (about 300 MB; the Linux x64 and arm64 ones stay).
RUN npm run build \
 && npm prune --omit=dev \
 && rm -rf node_modules/onnxruntime-node/bin/napi-v*/darwin \
           node_modules/onnxruntime-node/bin/napi-v*/win32 \
           node_modules/@temporalio/core-bridge/releases/*-apple-darwin \
           node_modules/@temporalio/core-bridge/releases/*-windows-*

# ---- runtime ----
FROM ${NODE_IMAGE} AS runtime

# Commit the image was built from, recorded with every model version (git is not in the image).
ARG MLOPS_CODE_VERSION=""

ENV NODE_ENV=production \
    MLOPS_API_HOST=0.0.0.0 \
    MLOPS_DATA_DIR=/data \
    MLOPS_CODE_VERSION=${MLOPS_CODE_VERSION}

# An unprivileged user; the application files stay root-owned and read-only to it, and only
# /data is writable. /data is created before VOLUME so a fresh named volume inherits its owner.
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

USER 10001:10001
VOLUME /data
EXPOSE 8080

# Liveness of the API. A worker serves no HTTP, so the check passes for it: the role comes from
# MLOPS_ROLE when set, else from the command PID 1 runs (node bin/mlops.js <command>).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "let r=process.env.MLOPS_ROLE;if(!r){try{const a=require('fs').readFileSync('/proc/1/cmdline','utf8').split('\\0');r=a[a.findIndex((x)=>x.endsWith('mlops.js'))+1]}catch{r='api'}}if(r!=='api'&&r!=='up')process.exit(0);fetch('http://127.0.0.1:'+(process.env.MLOPS_API_PORT||8080)+'/healthz').then((s)=>process.exit(s.ok?0:1),()=>process.exit(1))"]

ENTRYPOINT ["node", "bin/mlops.js"]
CMD ["api"]
