#!/usr/bin/env bash
# Moat: make sure a Redis answers on 127.0.0.1:${REDIS_PORT:-6379} for the integration tests.
#
#   bash scripts/redis.sh start    use the Redis that answers, else start redis-server (installing
#                                  Debian's redis-server package when it is missing and we are root)
#   bash scripts/redis.sh stop     stop the redis-server this script started (by its pid file only)
#   bash scripts/redis.sh status   exit 0 when a Redis answers PING, 3 otherwise
#   bash scripts/redis.sh version  the version of the Redis that answers
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
REDIS_HOST=127.0.0.1
REDIS_PORT="${REDIS_PORT:-6379}"
MOAT_CACHE_DIR="${MOAT_CACHE_DIR:-$REPO_ROOT/.cache}"
RUN_DIR="$MOAT_CACHE_DIR/redis/run-$REDIS_PORT"
PID_FILE="$RUN_DIR/redis.pid"

die() {
  echo "redis.sh: $*" >&2
  exit 1
}
say() { echo "redis.sh: $*"; }

# Sends one inline command and prints the reply: redis-cli when installed, else bash's /dev/tcp.
redis_cmd() {
  if command -v redis-cli >/dev/null 2>&1; then
    timeout 3 redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" $1 2>/dev/null
    return
  fi
  local line
  exec 3<>"/dev/tcp/$REDIS_HOST/$REDIS_PORT" 2>/dev/null || return 1
  printf '%s\r\n' "$1" >&3
  while IFS= read -r -t 0.5 line <&3; do printf '%s\n' "$line"; done
  exec 3<&- 3>&-
}

answers() { [[ "$(redis_cmd PING 2>/dev/null | tr -d '\r+')" == PONG* ]]; }

version() {
  redis_cmd "INFO server" 2>/dev/null | tr -d '\r' | sed -n 's/^redis_version://p' | head -n 1
}

cmd_start() {
  if answers; then
    say "Redis $(version) already answers on $REDIS_HOST:$REDIS_PORT; using it"
    return 0
  fi
  if ! command -v redis-server >/dev/null 2>&1; then
    [[ "$(id -u)" == 0 ]] || die "no Redis on $REDIS_HOST:$REDIS_PORT and redis-server is not installed: run 'sudo apt-get install -y redis-server'"
    say "installing Debian's redis-server package"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null) ||
      die "apt-get could not install redis-server: install it by hand or set REDIS_URL to a running Redis"
  fi
  mkdir -p "$RUN_DIR"
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
    --dir "$RUN_DIR" --pidfile "$PID_FILE" --logfile "$RUN_DIR/redis.log" ||
    die "redis-server failed to start: see $RUN_DIR/redis.log"
  for _ in $(seq 1 50); do
    if answers; then
      say "started Redis $(version) on $REDIS_HOST:$REDIS_PORT (pid $(cat "$PID_FILE" 2>/dev/null || echo '?'))"
      return 0
    fi
    sleep 0.1
  done
  die "redis-server started but does not answer PING on $REDIS_HOST:$REDIS_PORT: see $RUN_DIR/redis.log"
}

cmd_stop() {
  if [[ ! -f "$PID_FILE" ]]; then
    say "no Redis started by this script on port $REDIS_PORT; nothing to stop"
    return 0
  fi
  local pid
  pid="$(cat "$PID_FILE")"
  if [[ "$pid" =~ ^[0-9]+$ ]] && grep -q redis-server "/proc/$pid/cmdline" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    say "stopped Redis (pid $pid)"
  fi
  rm -f "$PID_FILE"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) if answers; then say "Redis $(version) answers on $REDIS_HOST:$REDIS_PORT"; else say "no Redis on $REDIS_HOST:$REDIS_PORT"; exit 3; fi ;;
  version) version ;;
  *) die "usage: bash scripts/redis.sh start|stop|status|version" ;;
esac
