#!/usr/bin/env bash
# `npm test`: build, lint and unit-test every project, then bring up the real infrastructure
# (a Kafka broker from Maven Central via scripts/kafka.sh, and the Redis on 127.0.0.1:6379 or
# one started by scripts/redis.sh) and run the integration tests against it. Whatever this
# script started, it stops again. A Kafka or Redis that cannot be started fails the run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false
# Nx caches task results per machine (~/.nx); CI runs everything for real.
if [[ "${CI:-}" == true ]]; then export NX_SKIP_NX_CACHE=true; fi
export KAFKA_PORT="${KAFKA_PORT:-9092}"
export KAFKA_BROKERS="${KAFKA_BROKERS:-127.0.0.1:$KAFKA_PORT}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"

step() { printf '\n== %s\n' "$*"; }
started_kafka=0
started_redis=0
cleanup() {
  local rc=$?
  if [[ $started_kafka == 1 ]]; then bash scripts/kafka.sh stop || true; fi
  if [[ $started_redis == 1 ]]; then bash scripts/redis.sh stop || true; fi
  exit $rc
}
trap cleanup EXIT

step "build (tsc -b, every project)"
npm run build --silent

step "lint, format and unit tests (nx run-many)"
npx prettier --check . --log-level warn
npx nx run-many -t lint test --outputStyle=static

step "infrastructure: Kafka and Redis"
if bash scripts/kafka.sh status >/dev/null 2>&1; then
  echo "using the Kafka broker already answering on $KAFKA_BROKERS"
else
  bash scripts/kafka.sh start
  started_kafka=1
fi
KAFKA_BROKER_VERSION="$(grep -m1 -oE 'Kafka version: [^ ]+' ".cache/kafka/run-$KAFKA_PORT/broker.log" 2>/dev/null | sed 's/Kafka version: //' || true)"
export KAFKA_BROKER_VERSION="${KAFKA_BROKER_VERSION:-unknown (a broker this script did not start)}"
if ! bash scripts/redis.sh status >/dev/null 2>&1; then
  bash scripts/redis.sh start
  started_redis=1
fi
echo "Kafka $KAFKA_BROKER_VERSION at $KAFKA_BROKERS; Redis $(bash scripts/redis.sh version) at $REDIS_URL"

step "integration tests (real Kafka, real Redis)"
npx nx run-many -t test:integration --parallel=1 --outputStyle=static
