#!/usr/bin/env bash
# Moat: a real single-node Apache Kafka broker (KRaft, broker+controller in one JVM)
# for local development and CI, run from jars fetched from Maven Central. No Docker.
#
#   bash scripts/kafka.sh start     fetch the jars if needed, start a FRESH broker, wait until it serves metadata
#   bash scripts/kafka.sh stop      stop the broker this script started (by its pid file only)
#   bash scripts/kafka.sh status    is it running / answering? (exit 0 running, 3 not running)
#   bash scripts/kafka.sh fetch     only fetch the jars into the cache (skipped when already cached)
#   bash scripts/kafka.sh version   print the pinned Kafka version
#
# Environment:
#   KAFKA_VERSION          Kafka version to run (default: the pinned one below)
#   KAFKA_PORT             client (PLAINTEXT) port on 127.0.0.1 (default 9092)
#   KAFKA_CONTROLLER_PORT  KRaft controller port on 127.0.0.1 (default KAFKA_PORT+1)
#   MOAT_CACHE_DIR         cache root (default <repo>/.cache; git-ignored)
#   KAFKA_HEAP_OPTS        JVM heap flags (default "-Xmx512m -Xms512m")
#   KAFKA_START_TIMEOUT    seconds to wait for the broker to serve metadata (default 60)
#
# Layout under $MOAT_CACHE_DIR/kafka:
#   <version>/libs/               the broker's runtime jars (tools/kafka/pom.xml), + .fetched marker
#   <version>/fetch.log           Maven's output of the last fetch
#   run-<port>/                   the broker started on <port>: server.properties, log4j2.properties,
#                                 broker.log (stdout+stderr), kafka.pid, version, data/ (the log dir)
# Every `start` wipes run-<port>/data and formats it anew: each start is a fresh, empty broker.
# See docs/KAFKA.md for the version choice and measurements.
set -euo pipefail

PINNED_KAFKA_VERSION="3.9.2"

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"

KAFKA_VERSION="${KAFKA_VERSION:-$PINNED_KAFKA_VERSION}"
KAFKA_HOST="127.0.0.1"
KAFKA_PORT="${KAFKA_PORT:-9092}"
if [[ -z "${KAFKA_CONTROLLER_PORT:-}" && "$KAFKA_PORT" =~ ^[1-9][0-9]{0,4}$ ]]; then
  KAFKA_CONTROLLER_PORT=$((KAFKA_PORT + 1))
fi
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-}"
MOAT_CACHE_DIR="${MOAT_CACHE_DIR:-$REPO_ROOT/.cache}"
[[ "$MOAT_CACHE_DIR" == /* ]] || MOAT_CACHE_DIR="$PWD/$MOAT_CACHE_DIR" # absolute: it is matched in /proc/<pid>/cmdline
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xmx512m -Xms512m}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-60}"

POM="$REPO_ROOT/tools/kafka/pom.xml"
KAFKA_HOME="$MOAT_CACHE_DIR/kafka"
VERSION_DIR="$KAFKA_HOME/$KAFKA_VERSION"
LIBS_DIR="$VERSION_DIR/libs"
FETCHED_MARKER="$LIBS_DIR/.fetched"
FETCH_LOG="$VERSION_DIR/fetch.log"
RUN_DIR="$KAFKA_HOME/run-$KAFKA_PORT"
DATA_DIR="$RUN_DIR/data"
PID_FILE="$RUN_DIR/kafka.pid"
BROKER_LOG="$RUN_DIR/broker.log"
SERVER_PROPS="$RUN_DIR/server.properties"
LOG4J2_PROPS="$RUN_DIR/log4j2.properties"

die() {
  echo "kafka.sh: $*" >&2
  exit 1
}
say() { echo "kafka.sh: $*"; }

# Milliseconds since the epoch (bash 5's EPOCHREALTIME), for timings.
now_ms() {
  local t="${EPOCHREALTIME/[.,]/}"
  echo "$((t / 1000))"
}
secs_since() { # $1 = start from now_ms; prints e.g. 4.2
  local d=$(($(now_ms) - $1))
  printf '%d.%d' "$((d / 1000))" "$(((d % 1000) / 100))"
}

validate_env() {
  [[ "$KAFKA_VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] ||
    die "KAFKA_VERSION='$KAFKA_VERSION' is not a version like 3.9.2: unset it or fix it"
  if ! [[ "$KAFKA_PORT" =~ ^[1-9][0-9]{0,4}$ ]] || ((KAFKA_PORT < 1 || KAFKA_PORT > 65534)); then
    die "KAFKA_PORT='$KAFKA_PORT' is not a TCP port: unset it or fix it"
  fi
  if ! [[ "$KAFKA_CONTROLLER_PORT" =~ ^[1-9][0-9]{0,4}$ ]] || ((KAFKA_CONTROLLER_PORT < 1 || KAFKA_CONTROLLER_PORT > 65535)); then
    die "KAFKA_CONTROLLER_PORT='$KAFKA_CONTROLLER_PORT' is not a TCP port: unset it or fix it"
  fi
  [[ "$KAFKA_CONTROLLER_PORT" != "$KAFKA_PORT" ]] ||
    die "KAFKA_CONTROLLER_PORT must differ from KAFKA_PORT ($KAFKA_PORT)"
  [[ "$KAFKA_START_TIMEOUT" =~ ^[1-9][0-9]{0,4}$ ]] ||
    die "KAFKA_START_TIMEOUT='$KAFKA_START_TIMEOUT' is not a number of seconds"
}

kafka_major() { echo "${KAFKA_VERSION%%.*}"; }

require_java() {
  command -v java >/dev/null 2>&1 || die "java not found: install a JDK 17 (apt-get install openjdk-17-jdk-headless)"
  local line major
  line="$(java -version 2>&1 | head -n 1)"
  major="$(sed -E -n 's/.*version "([0-9]+)(\.[0-9]+)?.*/\1/p' <<<"$line")"
  [[ "$major" == "1" ]] && major=8
  [[ -n "$major" ]] || die "cannot tell the java version from '$line': install a JDK 17"
  ((major >= 17)) || die "java $major found, Kafka $KAFKA_VERSION here needs 17+: install a JDK 17 and put it first on PATH"
}

require_mvn() {
  command -v mvn >/dev/null 2>&1 ||
    die "mvn not found: install Maven 3.8+ (apt-get install maven); it is needed once to fetch the Kafka jars"
}

# ---------------------------------------------------------------- fetch

is_fetched() { [[ -f "$FETCHED_MARKER" ]]; }

do_fetch() {
  if is_fetched; then
    return 0
  fi
  require_java
  require_mvn
  [[ -f "$POM" ]] || die "missing $POM: restore it from git"
  mkdir -p "$VERSION_DIR"
  local tmp="$VERSION_DIR/libs.tmp.$$" t0
  t0="$(now_ms)"
  rm -rf "$tmp"
  say "fetching org.apache.kafka:kafka_2.13:$KAFKA_VERSION and its runtime jars from Maven Central (once; cached in $LIBS_DIR)"
  # -U: retry artifacts whose earlier failure Maven cached in ~/.m2 (else it refuses for 24 h).
  if ! mvn -B -q -U -Dstyle.color=never -f "$POM" \
    dependency:copy-dependencies \
    -Dkafka.version="$KAFKA_VERSION" \
    -DincludeScope=runtime \
    -DoutputDirectory="$tmp" >"$FETCH_LOG" 2>&1; then
    rm -rf "$tmp"
    local why
    local pat
    for pat in 'Could not find artifact [^ ]+' '[^ ]+ was not found in [^ ]+' 'Could not transfer artifact [^:]+:[^:]+:[^ ]+ from/to [^ ]+( \([^)]*\))?' \
      'Unknown host [^ ]+' 'Non-resolvable [^:]+' '\[ERROR\] .{0,160}'; do
      why="$(sed -E 's/\x1b\[[0-9;]*m//g' "$FETCH_LOG" | grep -m1 -oE "$pat" || true)"
      [[ -z "$why" ]] || break
    done
    why="${why#\[ERROR\] }"
    die "mvn failed to fetch org.apache.kafka:kafka_2.13:$KAFKA_VERSION from Maven Central${why:+ ($why)}: see $FETCH_LOG"
  fi
  [[ -f "$tmp/kafka_2.13-$KAFKA_VERSION.jar" ]] || {
    rm -rf "$tmp"
    die "mvn ran but kafka_2.13-$KAFKA_VERSION.jar is not among the fetched jars: see $FETCH_LOG"
  }
  ls "$tmp" >"$tmp/.fetched"
  rm -rf "$LIBS_DIR"
  mv "$tmp" "$LIBS_DIR"
  say "fetched $(($(wc -l <"$FETCHED_MARKER"))) jars ($(du -sh "$LIBS_DIR" | cut -f1)) in $(secs_since "$t0") s"
}

cmd_fetch() {
  validate_env
  if is_fetched; then
    say "Kafka $KAFKA_VERSION jars already cached in $LIBS_DIR"
    return 0
  fi
  do_fetch
}

# ---------------------------------------------------------------- probes

# Is something accepting TCP connections on 127.0.0.1:$1?
port_open() {
  (exec 3<>"/dev/tcp/$KAFKA_HOST/$1") 2>/dev/null
}

# Send a Kafka Metadata v4 request (no topics) and print "<node_id> <host>:<port>" of each live broker.
# Metadata v4 is served by Kafka 1.0 through 4.x (seen in 3.9.1, 3.9.2, 4.0.1, 4.1.1, 4.4.0).
# Exit status 0 only when the response parses and lists at least one broker.
metadata_probe_raw() {
  local port="$1"
  exec 3<>"/dev/tcp/$KAFKA_HOST/$port" || return 1
  # size=28 | api_key=3 api_version=4 correlation_id=0x4d4f4154 client_id="moat-kafka-sh"(13) | topics=[] allow_auto_topic_creation=false
  printf '\x00\x00\x00\x1c\x00\x03\x00\x04\x4d\x4f\x41\x54\x00\x0dmoat-kafka-sh\x00\x00\x00\x00\x00' >&3
  local -a b
  read -r -a b < <(dd bs=4 count=1 iflag=fullblock <&3 2>/dev/null | od -An -v -tu1)
  ((${#b[@]} == 4)) || return 1
  local size=$(((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]))
  ((size > 12 && size < 1048576)) || return 1
  mapfile -t b < <(dd bs="$size" count=1 iflag=fullblock <&3 2>/dev/null | od -An -v -tu1 -w1 | tr -d ' ')
  ((${#b[@]} == size)) || return 1
  exec 3<&-
  # correlation id must echo ours
  ((b[0] == 0x4d && b[1] == 0x4f && b[2] == 0x41 && b[3] == 0x54)) || return 1
  local i=8 n # skip correlation_id(4) throttle_time_ms(4)
  n=$(((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]))
  i=$((i + 4))
  ((n >= 1 && n < 1000)) || return 1
  local k node hlen host p rlen j hex ch
  for ((k = 0; k < n; k++)); do
    ((i + 6 <= size)) || return 1
    node=$(((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]))
    hlen=$(((b[i + 4] << 8) | b[i + 5]))
    i=$((i + 6))
    ((i + hlen + 6 <= size)) || return 1
    host=""
    for ((j = 0; j < hlen; j++)); do
      printf -v hex '%02x' "${b[i + j]}"
      printf -v ch '%b' "\\x$hex"
      host+="$ch"
    done
    i=$((i + hlen))
    p=$(((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]))
    i=$((i + 4))
    rlen=$(((b[i] << 8) | b[i + 1]))
    i=$((i + 2))
    ((rlen == 65535)) || i=$((i + rlen))
    echo "$node $host:$p"
  done
}

# Same, bounded in time (a port held by something that never answers must not hang us).
metadata_probe() {
  timeout 5 bash "${BASH_SOURCE[0]}" __metadata_probe "$1" 2>/dev/null
}

# ---------------------------------------------------------------- pid bookkeeping

read_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid="$(tr -dc '0-9' <"$PID_FILE")"
  [[ -n "$pid" ]] || return 1
  echo "$pid"
}

# Is $1 alive AND the broker this script started for this run dir? (guards against pid reuse)
is_our_broker() {
  local pid="$1"
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  local cmd
  cmd="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
  [[ "$cmd" == *"kafka.Kafka"* && "$cmd" == *"$SERVER_PROPS"* ]]
}

our_running_pid() {
  local pid
  pid="$(read_pid)" || return 1
  is_our_broker "$pid" || return 1
  echo "$pid"
}

running_version() {
  if [[ -f "$RUN_DIR/version" ]]; then cat "$RUN_DIR/version"; else echo "$KAFKA_VERSION"; fi
}

# ---------------------------------------------------------------- config

write_config() {
  local major
  major="$(kafka_major)"
  cat >"$SERVER_PROPS" <<EOF
# Written by scripts/kafka.sh for Kafka $KAFKA_VERSION at $(date -u +%Y-%m-%dT%H:%M:%SZ). Regenerated on every start.
# Single-node KRaft: this JVM is both the broker and the (only) controller.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT,CONTROLLER://$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$DATA_DIR

# Topics: created explicitly by the apps/tests, never by a stray produce/fetch.
auto.create.topics.enable=false
num.partitions=6
default.replication.factor=1
min.insync.replicas=1

# Internal topics on one broker: replication factor 1, and fewer partitions than the
# default 50 so the first consumer group / transaction does not wait on 50 partition creations.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=6

# Consumer groups: no 3 s wait before the first rebalance (tests join and leave groups often).
group.initial.rebalance.delay.ms=0

# Small box (2 cores): keep thread pools modest.
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
EOF
  if ((major >= 4)); then
    cat >>"$SERVER_PROPS" <<EOF

# Kafka 4.x internal topics of share groups (KIP-932), also replication factor 1.
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
EOF
  fi

  cat >"$LOG4J2_PROPS" <<'EOF'
# Written by scripts/kafka.sh. Everything goes to stdout, which kafka.sh sends to broker.log.
status = warn
name = moat-kafka
# Let Kafka's own shutdown hook log its whole shutdown (Log4j's hook would stop logging first).
shutdownHook = disable
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = STDOUT
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
logger.authorizer.name = kafka.authorizer.logger
logger.authorizer.level = WARN
EOF
}

# A KRaft cluster id: 16 random bytes, URL-safe base64 without padding (what `kafka-storage random-uuid`
# prints). Like Kafka's Uuid.randomUuid(), never one starting with '-': the format tool would take it
# for an option ("argument --cluster-id/-t: expected one argument").
random_cluster_id() {
  local id
  while true; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    [[ ${#id} -eq 22 && "$id" != -* ]] && break
  done
  echo "$id"
}

format_storage() {
  local cluster_id format_log="$RUN_DIR/format.log"
  cluster_id="$(random_cluster_id)"
  if ! java -Xmx256m -Dlog4j2.configurationFile="file:$LOG4J2_PROPS" \
    -cp "$LIBS_DIR/*" kafka.tools.StorageTool \
    format -t "$cluster_id" -c "$SERVER_PROPS" >"$format_log" 2>&1; then
    grep -v $'^\t' "$format_log" | tail -n 3 >&2 || true
    die "formatting the KRaft storage in $DATA_DIR failed: see $format_log"
  fi
}

# ---------------------------------------------------------------- start / stop / status

print_ready() {
  local pid="$1" secs="$2" brokers="$3" ver
  ver="$(grep -m1 -oE 'Kafka version: [^ ]+' "$BROKER_LOG" 2>/dev/null | sed 's/Kafka version: //' || true)"
  [[ -n "$ver" ]] || ver="$(running_version)"
  say "Kafka $ver broker ready on $KAFKA_HOST:$KAFKA_PORT (KRaft, controller on $KAFKA_HOST:$KAFKA_CONTROLLER_PORT), pid $pid, ready in ${secs}s"
  say "metadata: broker $(echo "$brokers" | head -n 1) | log: $BROKER_LOG"
}

wait_ready() {
  local pid="$1" t0="$2" brokers
  while true; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$PID_FILE"
      echo "---- last lines of $BROKER_LOG ----" >&2
      tail -n 25 "$BROKER_LOG" >&2 || true
      die "the Kafka broker exited during startup: see $BROKER_LOG"
    fi
    if brokers="$(metadata_probe "$KAFKA_PORT")" && [[ -n "$brokers" ]]; then
      print_ready "$pid" "$(secs_since "$t0")" "$brokers"
      return 0
    fi
    if (($(now_ms) - t0 >= KAFKA_START_TIMEOUT * 1000)); then
      echo "---- last lines of $BROKER_LOG ----" >&2
      tail -n 25 "$BROKER_LOG" >&2 || true
      die "the Kafka broker (pid $pid) did not serve metadata on $KAFKA_HOST:$KAFKA_PORT within ${KAFKA_START_TIMEOUT}s: see $BROKER_LOG; stop it with 'bash scripts/kafka.sh stop'"
    fi
    sleep 0.5
  done
}

# Serialize start/stop for one port (e.g. two test runners starting Kafka at once): the second waits,
# then finds the first one's broker running. flock is in util-linux; without it, no lock.
lock_run_dir() {
  mkdir -p "$RUN_DIR"
  command -v flock >/dev/null 2>&1 || return 0
  exec 9>"$RUN_DIR/.lock"
  flock -w 120 9 || die "another kafka.sh holds $RUN_DIR/.lock for over 120 s: check 'ps aux | grep kafka.sh'"
}

cmd_start() {
  validate_env
  local t0 pid brokers
  t0="$(now_ms)"
  lock_run_dir

  if pid="$(our_running_pid)"; then
    say "our Kafka broker is already running (pid $pid); not starting another"
    wait_ready "$pid" "$t0"
    return 0
  fi
  rm -f "$PID_FILE" # stale

  if port_open "$KAFKA_PORT"; then
    if brokers="$(metadata_probe "$KAFKA_PORT")" && [[ -n "$brokers" ]]; then
      say "a Kafka broker not started by this script already answers on $KAFKA_HOST:$KAFKA_PORT (broker $(echo "$brokers" | head -n 1)); using it, not starting another"
      return 0
    fi
    die "port $KAFKA_HOST:$KAFKA_PORT is taken by something that does not answer as a Kafka broker: free the port or set KAFKA_PORT"
  fi
  if port_open "$KAFKA_CONTROLLER_PORT"; then
    die "controller port $KAFKA_HOST:$KAFKA_CONTROLLER_PORT is taken by another process: free it or set KAFKA_CONTROLLER_PORT"
  fi

  require_java
  do_fetch

  rm -rf "$DATA_DIR"
  mkdir -p "$DATA_DIR"
  write_config
  echo "$KAFKA_VERSION" >"$RUN_DIR/version"
  format_storage

  local -a heap_opts
  read -r -a heap_opts <<<"$KAFKA_HEAP_OPTS"
  # setsid: its own session, so the broker outlives this shell and a Ctrl-C on it.
  # The inner bash writes its own pid, then execs java in place: the pid file holds the JVM's pid.
  # shellcheck disable=SC2016
  setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$PID_FILE" \
    java "${heap_opts[@]}" \
    -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
    -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="file:$LOG4J2_PROPS" \
    -Dkafka.logs.dir="$RUN_DIR" \
    -cp "$LIBS_DIR/*" kafka.Kafka "$SERVER_PROPS" \
    </dev/null >"$BROKER_LOG" 2>&1 9>&- &
  local i
  for ((i = 0; i < 50; i++)); do
    [[ -s "$PID_FILE" ]] && break
    sleep 0.1
  done
  pid="$(read_pid)" || die "the broker did not write its pid file $PID_FILE: see $BROKER_LOG"
  say "started Kafka $KAFKA_VERSION (pid $pid), fresh data dir $DATA_DIR; waiting up to ${KAFKA_START_TIMEOUT}s for it to serve metadata"
  wait_ready "$pid" "$t0"
}

cmd_stop() {
  validate_env
  local pid
  if ! pid="$(read_pid)"; then
    rm -f "$PID_FILE"
    say "no Kafka broker of ours on port $KAFKA_PORT (no pid file $PID_FILE)"
    return 0
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    rm -f "$PID_FILE"
    say "our Kafka broker (pid $pid) was not running; removed the stale pid file"
    return 0
  fi
  if ! is_our_broker "$pid"; then
    rm -f "$PID_FILE"
    say "pid $pid from $PID_FILE is not our Kafka broker (pid reused?); left it alone and removed the stale pid file"
    return 0
  fi
  lock_run_dir
  say "stopping our Kafka broker (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  local i
  for ((i = 0; i < 300; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "pid $pid still alive after 30s of SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
  fi
  kill -0 "$pid" 2>/dev/null && die "could not stop pid $pid: check it with 'ps -p $pid'"
  rm -f "$PID_FILE"
  say "stopped"
}

cmd_status() {
  validate_env
  local pid brokers
  if pid="$(our_running_pid)"; then
    if brokers="$(metadata_probe "$KAFKA_PORT")" && [[ -n "$brokers" ]]; then
      say "running: our Kafka $(running_version) broker, pid $pid, answering on $KAFKA_HOST:$KAFKA_PORT (broker $(echo "$brokers" | head -n 1))"
    else
      say "running: our Kafka $(running_version) broker, pid $pid, NOT answering on $KAFKA_HOST:$KAFKA_PORT yet (see $BROKER_LOG)"
    fi
    return 0
  fi
  if brokers="$(metadata_probe "$KAFKA_PORT")" && [[ -n "$brokers" ]]; then
    say "running: a Kafka broker not started by this script answers on $KAFKA_HOST:$KAFKA_PORT (broker $(echo "$brokers" | head -n 1))"
    return 0
  fi
  if port_open "$KAFKA_PORT"; then
    say "not running: $KAFKA_HOST:$KAFKA_PORT is held by something that does not answer as a Kafka broker"
    return 3
  fi
  say "not running: no Kafka broker on $KAFKA_HOST:$KAFKA_PORT (start one with 'bash scripts/kafka.sh start')"
  return 3
}

usage() {
  echo "usage: bash scripts/kafka.sh start|stop|status|fetch|version   (see the header of this file)" >&2
  exit 2
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  fetch) cmd_fetch ;;
  version) echo "$KAFKA_VERSION" ;;
  __metadata_probe) metadata_probe_raw "$2" ;;
  *) usage ;;
esac
