# syntax=docker/dockerfile:1
# One image for every Herald role; the command picks the role:
#   node dist/apps/api/src/main.js                  (tenant REST API)
#   node dist/apps/gateway/src/main.js              (client connections)
#   node dist/apps/push-dispatcher/src/main.js      (APNs/FCM)
#   node dist/apps/webhook-dispatcher/src/main.js   (webhooks)
#   node dist/apps/standalone/src/main.js           (all in one process, the default)
# The Helm chart (helm/herald) sets `command: ["node"]` and the entry point as `args`.
# Build: docker build -t herald:0.1.0 .     Run: docker run -p 8080:8080 herald:0.1.0
# What was and was not exercised without a Docker engine: docs/operations.md, "Image".

# A current Node.js LTS line (24; `--build-arg NODE_VERSION=26` for the newer one); Debian 13
# (trixie) slim base. package.json engines: >=20.11.
ARG NODE_VERSION=24
ARG BASE=node:${NODE_VERSION}-trixie-slim

# --- build: dev dependencies, TypeScript compile, SDK bundle --------------------------------------
FROM ${BASE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY apps apps
COPY libs libs
RUN npm run build

# --- production dependencies only (no dev tools, no install scripts) ---------------------------
FROM ${BASE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# --- runtime ----------------------------------------------------------------------------------
FROM ${BASE}
ENV NODE_ENV=production \
    HERALD_HOST=0.0.0.0 \
    HERALD_PORT=8080
WORKDIR /app
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /src/dist ./dist
COPY --chown=root:root package.json ./
# Files are root-owned and read-only to the process, which runs as the image's `node` user
# (uid 1000): it writes nothing but the embedded database of the standalone role, under
# HERALD_DATA_DIR (default ./data, so mount a volume there or point it at /tmp for a demo).
USER 1000:1000
EXPOSE 8080
# Kubernetes probes call the same endpoints; this one is for `docker run` and Compose.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.HERALD_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# SIGTERM starts the graceful drain (docs/operations.md). The base image's entrypoint execs node,
# so node is PID 1 without an init: fine, because Herald installs its own SIGTERM/SIGINT handlers
# (PID 1 gets no default ones).
CMD ["node", "dist/apps/standalone/src/main.js"]
