#!/usr/bin/env bash
# Makes sure an `nginx` binary with the modules deploy/nginx needs (auth_request, realip, mirror)
# is installed: Debian's nginx-light when it is missing. Prints the binary's path.
set -euo pipefail
find_nginx() { command -v nginx || { [[ -x /usr/sbin/nginx ]] && echo /usr/sbin/nginx; } || true; }
bin="$(find_nginx)"
if [[ -z "$bin" ]]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-nginx.sh: nginx is not installed and apt-get is not available; install NGINX (with auth_request and realip)" >&2
    exit 1
  fi
  sudo=''
  if [[ $(id -u) -ne 0 ]]; then sudo='sudo -n'; fi
  echo "ensure-nginx.sh: installing nginx-light from the Debian packages" >&2
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends nginx-light gettext-base >&2
  bin="$(find_nginx)"
fi
if ! command -v envsubst >/dev/null 2>&1; then
  sudo=''
  if [[ $(id -u) -ne 0 ]]; then sudo='sudo -n'; fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends gettext-base >&2
fi
modules="$("$bin" -V 2>&1)"
for module in http_auth_request_module http_realip_module; do
  if [[ "$modules" != *"$module"* ]]; then
    echo "ensure-nginx.sh: $bin lacks $module (install nginx-light or nginx-core)" >&2
    exit 1
  fi
done
echo "$bin"
