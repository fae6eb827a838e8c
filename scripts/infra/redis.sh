#!/usr/bin/env bash
# Redis for the cluster suites: Debian's redis-server, started by hand (not systemd) on a free
# loopback port, without persistence (no RDB snapshots, no AOF), so a restart loses every key.
#
#   scripts/infra/redis.sh up       install if missing, start, wait for PING, write .infra/redis.env
#   scripts/infra/redis.sh down     stop the server started by `up` (by its pid)
#   scripts/infra/redis.sh status   print whether it runs and where
#   scripts/infra/redis.sh restart  stop and start again on the SAME port: every key is lost, the
#                                   address stays valid. The cluster tests use it to check that a
#                                   Redis restart changes history epochs (recovered: false).
#
# Files: .infra/redis.env (HERALD_TEST_REDIS_URL=redis://127.0.0.1:<port>), .infra/redis.pid,
# .infra/redis.log, working directory .infra/redis.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/infra/lib.sh

NAME=redis
PIDFILE="$INFRA_DIR/$NAME.pid"
LOG="$INFRA_DIR/$NAME.log"
ENVFILE="$INFRA_DIR/$NAME.env"
WORKDIR="$INFRA_DIR/$NAME"

running() {
  [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null
}

# The port recorded in the env file by the last `up` (empty if none).
recorded_port() {
  [ -f "$ENVFILE" ] || return 0
  sed -n 's#^HERALD_TEST_REDIS_URL=redis://127\.0\.0\.1:\([0-9]*\).*#\1#p' "$ENVFILE"
}

answers() {
  [ "$(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" = "PONG" ]
}

start() {
  local port="$1"
  mkdir -p "$WORKDIR"
  # --save '' and --appendonly no: nothing survives a restart, as the failure tests require.
  nohup redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
    --dir "$WORKDIR" >>"$LOG" 2>&1 &
  echo $! >"$PIDFILE"
  if ! wait_until 30 "redis on port $port" answers "$port"; then
    tail -n 20 "$LOG" >&2 || true
    exit 1
  fi
  echo "HERALD_TEST_REDIS_URL=redis://127.0.0.1:$port" >"$ENVFILE"
  echo "infra: redis running on 127.0.0.1:$port (pid $(cat "$PIDFILE"))"
}

case "${1:-status}" in
  up)
    port="$(recorded_port)"
    if running && [ -n "$port" ] && answers "$port"; then
      echo "infra: redis already running on 127.0.0.1:$port (pid $(cat "$PIDFILE"))"
      exit 0
    fi
    apt_install redis-server
    stop_pidfile "$PIDFILE"
    start "$(free_port)"
    ;;
  down)
    stop_pidfile "$PIDFILE"
    rm -f "$ENVFILE"
    echo "infra: redis stopped"
    ;;
  restart)
    port="$(recorded_port)"
    if [ -z "$port" ]; then
      echo "infra: redis was never started here; use 'up'" >&2
      exit 1
    fi
    stop_pidfile "$PIDFILE"
    # The port was ours a moment ago; another process taking it in between is very unlikely, and
    # then start fails loudly rather than pointing the env file elsewhere.
    start "$port"
    ;;
  status)
    port="$(recorded_port)"
    if running && [ -n "$port" ] && answers "$port"; then
      echo "infra: redis running on 127.0.0.1:$port (pid $(cat "$PIDFILE"))"
    else
      echo "infra: redis not running"
      exit 1
    fi
    ;;
  *)
    echo "usage: scripts/infra/redis.sh up|down|status|restart" >&2
    exit 2
    ;;
esac
