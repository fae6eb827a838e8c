#!/usr/bin/env bash
# PostgreSQL for the ControlStore suites: Debian's package, one throwaway cluster under
# .infra/postgres on a free loopback port, trust auth (loopback only), fsync off (test data only).
#   scripts/infra/postgres.sh up|down|status
# `up` writes HERALD_TEST_POSTGRES_URL=postgres://herald@127.0.0.1:<port>/herald to .infra/postgres.env.
# PostgreSQL refuses to run as root, so as root the cluster belongs to (and runs as) the `postgres`
# user the package creates; as any other user it runs as that user.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=lib.sh
source scripts/infra/lib.sh

DIR="$INFRA_DIR/postgres"
DATA="$DIR/data"
ENV_FILE="$INFRA_DIR/postgres.env"
PORT_FILE="$DIR/port"

pg_bin() {
  local dir
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  [ -n "$dir" ] || return 1
  echo "$dir"
}

# as_owner <command...>: runs the command as the cluster owner.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

is_running() {
  local bin
  bin="$(pg_bin)" || return 1
  [ -f "$DATA/PG_VERSION" ] && as_owner "$bin/pg_ctl" status -D "$DATA" >/dev/null 2>&1
}

write_env() {
  echo "HERALD_TEST_POSTGRES_URL=postgres://herald@127.0.0.1:$(cat "$PORT_FILE")/herald" >"$ENV_FILE"
}

up() {
  pg_bin >/dev/null || apt_install postgresql
  local bin
  bin="$(pg_bin)"
  if is_running && [ -f "$PORT_FILE" ]; then
    write_env
    echo "infra: postgres already running on 127.0.0.1:$(cat "$PORT_FILE")"
    return 0
  fi
  mkdir -p "$DIR"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$DIR"
    # The owner must be able to reach the data directory through the checkout.
    chmod o+x "$INFRA_DIR"
  fi
  if [ ! -f "$DATA/PG_VERSION" ]; then
    as_owner "$bin/initdb" -D "$DATA" -U herald --auth=trust --encoding=UTF8 --no-locale >"$DIR/initdb.log"
  fi
  local port
  port="$(free_port)"
  echo "$port" >"$PORT_FILE"
  # Unix socket in the data directory: /var/run/postgresql may not exist or not be ours.
  as_owner "$bin/pg_ctl" start -D "$DATA" -l "$DATA/server.log" -w -t 60 \
    -o "-p $port -k $DATA -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" >/dev/null
  wait_until 30 "postgres" "$bin/pg_isready" -h 127.0.0.1 -p "$port"
  if ! "$bin/psql" -h 127.0.0.1 -p "$port" -U herald -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='herald'" | grep -q 1; then
    "$bin/createdb" -h 127.0.0.1 -p "$port" -U herald herald
  fi
  write_env
  echo "infra: postgres ready on 127.0.0.1:$port"
}

down() {
  local bin
  if bin="$(pg_bin)" && [ -f "$DATA/PG_VERSION" ]; then
    as_owner "$bin/pg_ctl" stop -D "$DATA" -m fast -w >/dev/null 2>&1 || true
  fi
  rm -f "$ENV_FILE" "$PORT_FILE"
  echo "infra: postgres stopped"
}

status() {
  if is_running && [ -f "$PORT_FILE" ]; then
    echo "postgres: running on 127.0.0.1:$(cat "$PORT_FILE")"
  else
    echo "postgres: stopped"
  fi
}

case "${1:-status}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *)
    echo "usage: scripts/infra/postgres.sh up|down|status" >&2
    exit 2
    ;;
esac
