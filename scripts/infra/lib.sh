# Shared helpers for scripts/infra/<service>.sh (sourced, not run).
INFRA_DIR="$(pwd)/.infra"
mkdir -p "$INFRA_DIR"

# A free TCP port on 127.0.0.1, chosen by the kernel.
free_port() {
  node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}

# wait_until <seconds> <description> <command...>: polls the command every 0.2 s until it succeeds.
wait_until() {
  local limit="$1" what="$2"
  shift 2
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "infra: $what did not become ready within ${limit}s" >&2
      return 1
    fi
    sleep 0.2
  done
}

# Stops the process whose pid is in the given file, if it is still ours and alive.
stop_pidfile() {
  local pidfile="$1"
  [ -f "$pidfile" ] || return 0
  local pid
  pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

apt_install() {
  if ! dpkg -s "$@" >/dev/null 2>&1; then
    echo "infra: installing $* from Debian packages"
    if [ ! -f "$INFRA_DIR/.apt-updated" ]; then
      apt-get update -qq && touch "$INFRA_DIR/.apt-updated"
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  fi
}
