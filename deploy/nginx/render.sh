#!/usr/bin/env bash
# Renders deploy/nginx/nginx.conf.template into a complete nginx.conf.
#
#   NODE_AGENT_ADDR=127.0.0.1:8080 MIRROR_AGENT_ADDR=127.0.0.1:8090 UPSTREAM_ADDR=127.0.0.1:3000 \
#     ACCESS_LOG=/var/log/nginx/moat.json bash deploy/nginx/render.sh /tmp/moat-nginx/nginx.conf
#   nginx -t -c /tmp/moat-nginx/nginx.conf
#   nginx -c /tmp/moat-nginx/nginx.conf -g 'daemon off;'
#
# Environment:
#   NODE_AGENT_ADDR   (required) host:port of the Moat node agent
#   MIRROR_AGENT_ADDR (required) host:port of the mirror agent's mirror listener (MOAT_NGINX_MIRROR)
#   UPSTREAM_ADDR     (required) host:port of the protected API
#   LISTEN_PORT       port NGINX listens on (default 8080)
#   NGINX_STATE_DIR   pid file and temp files; created if missing (default /tmp/moat-nginx)
#   ACCESS_LOG        JSON access log: a file path the mirror agent follows (MOAT_TAIL_FILES),
#                     syslog:server=HOST:PORT[,tag=…] for its MOAT_SYSLOG_UDP, or /dev/stdout
#                     (default /dev/stdout; a process that runs NGINX as non-root with a stdout it
#                     may not reopen needs a file)
#   REAL_IP_FROM      proxies in front of NGINX whose X-Forwarded-For is believed (realip):
#                     addresses/CIDRs separated by spaces or commas; default `unix:` (none)
#
# Without an output file the result goes to stdout. Only these seven ${...} placeholders are
# replaced (envsubst with an explicit list), so NGINX's own $variables are left alone.
set -euo pipefail

die() {
  echo "render.sh: $*" >&2
  exit 2
}

TEMPLATE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/nginx.conf.template"
: "${NODE_AGENT_ADDR:?render.sh: set NODE_AGENT_ADDR to the node agent host:port, e.g. 127.0.0.1:8080}"
: "${MIRROR_AGENT_ADDR:?render.sh: set MIRROR_AGENT_ADDR to the host:port of the mirror agent listener for mirror subrequests (MOAT_NGINX_MIRROR), e.g. 127.0.0.1:8090}"
: "${UPSTREAM_ADDR:?render.sh: set UPSTREAM_ADDR to the protected API host:port, e.g. 127.0.0.1:3000}"
export NODE_AGENT_ADDR MIRROR_AGENT_ADDR UPSTREAM_ADDR
export LISTEN_PORT="${LISTEN_PORT:-8080}"
export NGINX_STATE_DIR="${NGINX_STATE_DIR:-/tmp/moat-nginx}"
export ACCESS_LOG="${ACCESS_LOG:-/dev/stdout}"

addr_re='^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):[0-9]{1,5}$'
[[ "$NODE_AGENT_ADDR" =~ $addr_re ]] || die "NODE_AGENT_ADDR='$NODE_AGENT_ADDR' is not host:port"
[[ "$MIRROR_AGENT_ADDR" =~ $addr_re ]] || die "MIRROR_AGENT_ADDR='$MIRROR_AGENT_ADDR' is not host:port"
[[ "$UPSTREAM_ADDR" =~ $addr_re ]] || die "UPSTREAM_ADDR='$UPSTREAM_ADDR' is not host:port"
[[ "$LISTEN_PORT" =~ ^([0-9]{1,5}|[0-9.]+:[0-9]{1,5}|\[[0-9A-Fa-f:]+\]:[0-9]{1,5})$ ]] ||
  die "LISTEN_PORT='$LISTEN_PORT' is not a port (or address:port)"
[[ "$NGINX_STATE_DIR" == /* ]] || die "NGINX_STATE_DIR='$NGINX_STATE_DIR' must be an absolute path"
syslog_re='^syslog:server=[^[:space:];]+$'
[[ "$ACCESS_LOG" == /* || "$ACCESS_LOG" =~ $syslog_re ]] ||
  die "ACCESS_LOG='$ACCESS_LOG' must be an absolute path (a file, or /dev/stdout) or syslog:server=HOST:PORT[,tag=...]"

# REAL_IP_FROM: one or more addresses/CIDRs (or unix:), one set_real_ip_from directive each. The
# template holds one directive; the others are joined into its value.
REAL_IP_FROM="${REAL_IP_FROM:-unix:}"
real_ip_list=()
cidr_re='^[0-9A-Fa-f:.]+(/[0-9]{1,3})?$'
for item in ${REAL_IP_FROM//,/ }; do
  [[ "$item" == unix: || "$item" =~ $cidr_re ]] ||
    die "REAL_IP_FROM: '$item' is not an address, a CIDR or unix:"
  real_ip_list+=("$item")
done
[[ ${#real_ip_list[@]} -gt 0 ]] || die "REAL_IP_FROM is empty; use unix: to believe no proxy"
REAL_IP_FROM="${real_ip_list[0]}"
for item in "${real_ip_list[@]:1}"; do
  REAL_IP_FROM+=";
    set_real_ip_from $item"
done
export REAL_IP_FROM
command -v envsubst >/dev/null 2>&1 || die "envsubst not found: install gettext-base (apt-get install gettext-base)"

mkdir -p "$NGINX_STATE_DIR"
# shellcheck disable=SC2016 # the list names the placeholders literally
vars='${NODE_AGENT_ADDR} ${MIRROR_AGENT_ADDR} ${UPSTREAM_ADDR} ${LISTEN_PORT} ${NGINX_STATE_DIR} ${ACCESS_LOG} ${REAL_IP_FROM}'
if [[ $# -ge 1 ]]; then
  mkdir -p "$(dirname "$1")"
  envsubst "$vars" <"$TEMPLATE" >"$1"
else
  envsubst "$vars" <"$TEMPLATE"
fi
