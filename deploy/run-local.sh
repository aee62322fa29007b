#!/usr/bin/env bash
# Quick start: runs referrers-proxy on this machine with a local Redis (the referrers index) and
# a stock CNCF distribution 2.8 registry (Debian's docker-registry) behind it, all on loopback,
# in the foreground. Ctrl-C or SIGTERM stops all three.
#
# Settings (environment variables):
#   DATA_DIR       folder for everything kept between runs (default: data/ in the repository)
#   REDIS_PORT     port of the local redis-server            (default 6379)
#   REGISTRY_PORT  port of the local docker-registry          (default 5001)
#   LISTEN         HOST:PORT the proxy serves on              (default 127.0.0.1:5000)
# The proxy's other settings (LOG_LEVEL, POLICY_FILE, ADMIN_TOKEN, every variable of the README's
# Settings table) are read by the proxy itself from the environment, so they pass straight
# through.
#
# DATA_DIR holds: redis/ (the index, append-only file), registry/ (the registry's storage root),
# registry.yml (generated at each start), registry-http-secret, redis.log and registry.log.
#
# Functions run from traps or passed as commands to wait_until_answering look unused to
# the linter (SC2317); they are not.
# shellcheck disable=SC2317 # file-wide: must come before the first command
set -euo pipefail

readonly STARTUP_TIMEOUT_S=30
# The proxy gives transfers in flight 10 s to finish before it exits; allow a little more.
readonly STOP_TIMEOUT_S=15

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly REPO_ROOT

# Process ids of what this script started; empty until started.
REDIS_PID=''
REGISTRY_PID=''
PROXY_PID=''

log() { printf 'run-local: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# A relative DATA_DIR means relative to where the user ran the script, as in any shell command.
absolute_path() {
  case $1 in
    /*) printf '%s' "$1" ;;
    *) printf '%s/%s' "$PWD" "$1" ;;
  esac
}

read_settings() {
  DATA_DIR=$(absolute_path "${DATA_DIR:-$REPO_ROOT/data}")
  REDIS_PORT=${REDIS_PORT:-6379}
  REGISTRY_PORT=${REGISTRY_PORT:-5001}
  LISTEN=${LISTEN:-127.0.0.1:5000}
  REGISTRY_CONFIG=$DATA_DIR/registry.yml

  require_port_number REDIS_PORT "$REDIS_PORT"
  require_port_number REGISTRY_PORT "$REGISTRY_PORT"
  # The proxy validates LISTEN itself; here we only need the port and a host to probe.
  LISTEN_PORT=${LISTEN##*:}
  LISTEN_HOST=${LISTEN%:*}
  LISTEN_HOST=${LISTEN_HOST#[}
  LISTEN_HOST=${LISTEN_HOST%]}
  case $LISTEN_HOST in
    '' | 0.0.0.0 | '::') PROBE_HOST=127.0.0.1 ;; # a wildcard address answers on loopback
    *) PROBE_HOST=$LISTEN_HOST ;;
  esac
  require_port_number "LISTEN (port part)" "$LISTEN_PORT"
}

require_port_number() {
  local setting=$1 value=$2
  if [[ ! $value =~ ^[0-9]{1,5}$ ]] || ((10#$value < 1 || 10#$value > 65535)); then
    die "$setting=$value is not a TCP port (1-65535)"
  fi
}

# --- what the machine needs -------------------------------------------------------------------

require_node() {
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    die "node and npm (Node.js 20) are required and not on PATH"
  fi
  node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' ||
    die "Node.js 20 or newer is required (found $(node --version))"
}

require_packages() {
  local missing=() tool
  for tool in redis-server docker-registry; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  ((${#missing[@]} == 0)) && return 0

  if ((EUID != 0)); then
    log "${missing[*]} not found on PATH. As root, run:"
    log "  apt-get update && apt-get install -y redis-server docker-registry"
    exit 1
  fi
  log "installing redis-server and docker-registry (apt-get)"
  apt_install_without_starting_services redis-server docker-registry
}

# Debian's maintainer scripts start both packages as system services (Redis on 6379, the
# registry on :5000), which would take the very ports this script uses. The standard
# policy-rc.d hook (exit 101 = "action not allowed") keeps them from starting during the install.
apt_install_without_starting_services() {
  local policy=/usr/sbin/policy-rc.d created='' status=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    created=yes
  fi
  { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y "$@"; } || status=$?
  if [[ -n $created ]]; then rm -f "$policy"; fi
  return "$status"
}

# npm ci wipes and reinstalls node_modules, so run it only when the lock file is newer than the
# last install. npm records each install in node_modules/.package-lock.json.
install_npm_dependencies() {
  local stamp=node_modules/.package-lock.json
  if [[ ! -e $stamp || package-lock.json -nt $stamp ]]; then
    log "installing npm dependencies (npm ci)"
    npm ci
  fi
}

# --- the data folder ----------------------------------------------------------------------------

prepare_data_dir() {
  mkdir -p "$DATA_DIR/redis" "$DATA_DIR/registry"
  # Two runs on one data folder would have two Redis servers writing one append-only file.
  # The lock is inherited by the three servers, so it is held exactly while any of them runs.
  exec 9>"$DATA_DIR/.lock"
  flock -n 9 || die "$DATA_DIR is in use by another run-local.sh; stop it or set DATA_DIR"
  write_registry_config
}

# YAML single-quoted scalar: safe for any path (spaces, colons, '#').
yaml_quote() { printf "'%s'" "${1//\'/\'\'}"; }

write_registry_config() {
  local secret_file=$DATA_DIR/registry-http-secret
  # The registry signs upload state with this secret; keeping it across restarts lets uploads
  # that were in progress carry on after a restart.
  if [[ ! -s $secret_file ]]; then
    (umask 077 && od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$secret_file")
  fi

  # Rewritten at every start so changed ports take effect. No auth section: the registry (and
  # so the proxy) is for this machine only. Delete is enabled so referrers can be deleted.
  cat >"$REGISTRY_CONFIG" <<EOF
# Generated by deploy/run-local.sh at each start; edits are overwritten.
version: 0.1
log:
  level: info
  formatter: text
storage:
  filesystem:
    rootdirectory: $(yaml_quote "$DATA_DIR/registry")
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$REGISTRY_PORT
  secret: $(<"$secret_file")
EOF
}

# --- probing ------------------------------------------------------------------------------------

# Sends REQUEST to HOST:PORT over bash's /dev/tcp and prints the first line of the answer.
# No redis-cli (a separate package) or curl is needed for this.
first_reply_line() {
  local host=$1 port=$2 request=$3 line
  # 2>/dev/null comes first so it also silences a refused connection.
  { printf '%b' "$request" >&3 && IFS= read -r -t 2 line <&3 && printf '%s' "$line"; } \
    2>/dev/null 3<>"/dev/tcp/$host/$port"
}

port_in_use() { (: 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# A Redis still replaying its append-only file answers -LOADING, which is not ready yet.
redis_answers() {
  [[ $(first_reply_line 127.0.0.1 "$REDIS_PORT" 'PING\r\n') == +PONG* ]]
}

http_ok() {
  local host=$1 port=$2 path=$3 status
  status=$(first_reply_line "$host" "$port" "GET $path HTTP/1.0\r\nHost: $host\r\n\r\n") || return 1
  [[ $status =~ ^HTTP/1\.[01]\ 200 ]]
}

registry_answers() { http_ok 127.0.0.1 "$REGISTRY_PORT" /v2/; }
proxy_answers() { http_ok "$PROBE_HOST" "$LISTEN_PORT" /healthz; }

# Fails early, before anything starts, with the setting to change.
require_free_ports() {
  local hint='Stop whatever uses it (a system service from the Debian package?) or choose another port:'
  port_in_use 127.0.0.1 "$REDIS_PORT" &&
    die "127.0.0.1:$REDIS_PORT is already in use. $hint REDIS_PORT=<port> $0"
  port_in_use 127.0.0.1 "$REGISTRY_PORT" &&
    die "127.0.0.1:$REGISTRY_PORT is already in use. $hint REGISTRY_PORT=<port> $0"
  port_in_use "$PROBE_HOST" "$LISTEN_PORT" &&
    die "$LISTEN is already in use. $hint LISTEN=127.0.0.1:<port> $0"
  return 0
}

# Polls CHECK until it succeeds; fails early when the process died (its log says why).
wait_until_answering() {
  local name=$1 pid=$2 logfile=$3
  shift 3
  local deadline=$((SECONDS + STARTUP_TIMEOUT_S))
  until "$@"; do
    if ! running "$pid"; then
      show_log_tail "$logfile"
      die "$name exited during start (log: $logfile)"
    fi
    if ((SECONDS >= deadline)); then
      show_log_tail "$logfile"
      die "$name did not answer within ${STARTUP_TIMEOUT_S}s (log: $logfile)"
    fi
    sleep 0.2
  done
}

show_log_tail() { if [[ -f $1 ]]; then tail -n 15 "$1" >&2; fi; }

# True while PID runs. A child that exited but was not reaped yet (a zombie) counts as stopped,
# which `kill -0` would not tell us.
running() {
  local stat
  [[ -n $1 ]] || return 1
  read -r stat 2>/dev/null </proc/"$1"/stat || return 1
  stat=${stat##*) }
  [[ ${stat%% *} != Z ]]
}

# --- starting and stopping ----------------------------------------------------------------------
# Each server runs in its own session (setsid) so that a Ctrl-C reaches only this script, which
# then stops them in a safe order instead of all at once.

start_redis() {
  log "starting redis-server on 127.0.0.1:$REDIS_PORT (log: $DATA_DIR/redis.log)"
  # appendonly + everysec: the index survives restarts and crashes, losing at most ~1 s of writes.
  # With no --logfile, Redis logs to stdout, which goes to the log file.
  setsid redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$DATA_DIR/redis" \
    --appendonly yes --appendfsync everysec --daemonize no \
    </dev/null >>"$DATA_DIR/redis.log" 2>&1 &
  REDIS_PID=$!
  wait_until_answering redis-server "$REDIS_PID" "$DATA_DIR/redis.log" redis_answers
}

start_registry() {
  log "starting docker-registry on 127.0.0.1:$REGISTRY_PORT (log: $DATA_DIR/registry.log)"
  setsid docker-registry serve "$REGISTRY_CONFIG" </dev/null >>"$DATA_DIR/registry.log" 2>&1 &
  REGISTRY_PID=$!
  wait_until_answering docker-registry "$REGISTRY_PID" "$DATA_DIR/registry.log" registry_answers
}

# Not `exec`: this shell stays as the parent so its trap can stop Redis and the registry too.
# The proxy's log lines go to this terminal.
start_proxy() {
  log "starting referrers-proxy on $LISTEN"
  setsid node dist/main.js \
    --upstream "http://127.0.0.1:$REGISTRY_PORT" \
    --listen "$LISTEN" \
    --redis "redis://127.0.0.1:$REDIS_PORT" </dev/null &
  PROXY_PID=$!
  wait_until_answering referrers-proxy "$PROXY_PID" 'the output above' proxy_answers
}

stop_process() {
  local name=$1 pid=$2 deadline=$((SECONDS + STOP_TIMEOUT_S))
  running "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  while running "$pid"; do
    if ((SECONDS >= deadline)); then
      log "$name did not stop within ${STOP_TIMEOUT_S}s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.1
  done
  wait "$pid" 2>/dev/null || true
}

# Newest first: the proxy stops taking requests before the registry goes, and Redis goes last
# so the index writes of requests still in flight land (it flushes the append-only file on exit).
stop_all() {
  trap - EXIT INT TERM HUP
  stop_process referrers-proxy "$PROXY_PID"
  stop_process docker-registry "$REGISTRY_PID"
  stop_process redis-server "$REDIS_PID"
  PROXY_PID='' REGISTRY_PID='' REDIS_PID=''
}

# Returns when any of the three exits; the EXIT trap then stops the others.
supervise() {
  wait -n "$REDIS_PID" "$REGISTRY_PID" "$PROXY_PID" || true
  running "$PROXY_PID" || log "referrers-proxy exited; stopping the others"
  running "$REGISTRY_PID" || log "docker-registry exited (log: $DATA_DIR/registry.log)"
  running "$REDIS_PID" || log "redis-server exited (log: $DATA_DIR/redis.log)"
  exit 1
}

main() {
  read_settings
  require_node
  require_packages
  require_free_ports # before the slow steps, so a clash fails at once
  cd "$REPO_ROOT"
  install_npm_dependencies
  npm run build
  prepare_data_dir

  trap stop_all EXIT
  trap 'log "stopping"; exit 0' INT TERM HUP
  start_redis
  start_registry
  start_proxy
  log "ready: referrers-proxy on http://$LISTEN -> registry 127.0.0.1:$REGISTRY_PORT," \
    "redis 127.0.0.1:$REDIS_PORT, data in $DATA_DIR. Ctrl-C stops all three."
  supervise
}

main "$@"
