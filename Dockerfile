# syntax=docker/dockerfile:1.7
#
# One image for every Moat service. The app is chosen at run time:
#
#   docker build -t moat:local .
#   docker run --rm -p 8080:8080 moat:local                      # standalone (the default app)
#   docker run --rm -e KAFKA_BROKERS=... -e REDIS_URL=... moat:local sessionizer
#   docker run --rm -e MOAT_APP=scoring ... moat:local            # same, by environment
#
# Apps: mirror-agent, sessionizer, detector (with MOAT_DETECTOR), scoring, node-agent, standalone.
# `moat healthcheck [/readyz]` probes the running service (the image has no curl/wget).
# See docs/OPERATIONS.md for every environment variable.
#
# Needs BuildKit (the default builder of Docker 23+ and of `docker compose`): heredocs, cache mounts.

ARG NODE_IMAGE=node:20-slim

# ---------------------------------------------------------------- base
FROM ${NODE_IMAGE} AS base
WORKDIR /app
ENV npm_config_update_notifier=false \
    npm_config_fund=false \
    npm_config_audit=false

# ---------------------------------------------------------------- manifests
# package.json of the root and of every workspace, plus the lockfile, at their own paths. The
# dependency layers below are rebuilt only when these change, not on every source edit.
FROM base AS manifests
COPY . /src
RUN set -eu; mkdir -p /manifests; cd /src; \
    cp package.json package-lock.json /manifests/; \
    for f in libs/*/package.json apps/*/package.json; do \
      mkdir -p "/manifests/$(dirname "$f")"; cp "$f" "/manifests/$f"; \
    done

# ---------------------------------------------------------------- build
# Full install (TypeScript and the rest of the dev tooling) and `npm run build` (tsc -b): every
# lib compiles to libs/*/dist and every app to apps/*/dist.
FROM base AS build
COPY --from=manifests /manifests/ ./
RUN --mount=type=cache,target=/root/.npm npm ci
COPY . .
RUN npm run build
# Only what runs: compiled JavaScript (with its source maps), no declarations or build info.
RUN set -eu; mkdir -p /out; \
    for d in libs/* apps/*; do \
      if [ -d "$d/dist" ]; then mkdir -p "/out/$d"; cp -R "$d/dist" "/out/$d/dist"; fi; \
    done; \
    find /out \( -name '*.d.ts' -o -name '*.d.ts.map' -o -name '*.tsbuildinfo' \) -delete

# ---------------------------------------------------------------- production dependencies
# npm ci --omit=dev on the same manifests: node_modules with the runtime dependencies and the
# node_modules/@moat/* workspace symlinks (→ ../../libs/<name>, ../../apps/<name>). No
# production dependency has an install script, so scripts are not run.
FROM base AS prod-deps
COPY --from=manifests /manifests/ ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts

# ---------------------------------------------------------------- runtime
FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
ENV NODE_ENV=production \
    MOAT_APP=standalone \
    PORT=8080

# tini as PID 1: forwards SIGTERM to node (a PID 1 without a handler would ignore it, e.g. while
# a service is still connecting to Kafka at start) and reaps zombies.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*

# The entry point: `moat <app> [node args...]`, `moat healthcheck [path]`, or any other command.
COPY --chmod=0755 <<'EOF' /usr/local/bin/moat
#!/bin/sh
# Moat image entry point.
#   moat                      run $MOAT_APP (default: standalone)
#   moat <app>                run apps/<app>/dist/main.js (mirror-agent, sessionizer, detector,
#                             scoring, node-agent, standalone)
#   moat healthcheck [path]   GET http://127.0.0.1:$PORT<path> (default /readyz); exit 0 on 2xx
#   moat <anything else>      exec it as a command (e.g. `moat sh`)
set -eu
cd /app
if [ "$#" -eq 0 ]; then set -- "${MOAT_APP:-standalone}"; fi
case "$1" in
  healthcheck)
    path="${2:-/readyz}"
    # shellcheck disable=SC2016 # JavaScript, not shell, expands these
    exec node -e '
      const url = `http://127.0.0.1:${process.env.PORT || 8080}${process.argv[1]}`;
      fetch(url, { signal: AbortSignal.timeout(3000) })
        .then((r) => process.exit(r.ok ? 0 : 1))
        .catch(() => process.exit(1));
    ' "$path"
    ;;
  -*|'')
    echo "moat: expected an app name, not '$1'" >&2
    exit 64
    ;;
esac
app="$1"
if [ -f "apps/$app/dist/main.js" ]; then
  shift
  # exec: node is the process that receives SIGTERM and shuts the service down gracefully.
  exec node "$@" "apps/$app/dist/main.js"
fi
case "$app" in
  */*|*.*) exec "$@" ;;
esac
if command -v "$app" >/dev/null 2>&1; then exec "$@"; fi
echo "moat: unknown app '$app'; available: $(cd apps && for d in */; do [ -f "$d/dist/main.js" ] && printf '%s ' "${d%/}"; done)" >&2
exit 64
EOF

COPY --from=prod-deps /app/ ./
COPY --from=build /out/ ./

# Non-root (the node user of the base image, by number so that runAsNonRoot can verify it). The
# files stay root-owned and read-only to the service; nothing is written to the filesystem.
USER 1000:1000
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=4s --start-period=30s --retries=3 CMD ["moat", "healthcheck", "/readyz"]
ENTRYPOINT ["tini", "--", "moat"]
CMD []
