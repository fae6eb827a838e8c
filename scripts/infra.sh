#!/usr/bin/env bash
# Starts, stops and reports the real services the cluster suites need, all on loopback:
#   scripts/infra.sh up|down|status [service...]     (services: redis postgres kafka; default all)
# Each service is a script in scripts/infra/<name>.sh with the same verbs. `up` installs what is
# missing (Debian packages, Maven Central artifacts cached under .infra/cache), starts the service
# on a free loopback port, waits until it answers, and writes its address to .infra/<name>.env
# (e.g. HERALD_TEST_REDIS_URL=redis://127.0.0.1:41234). `env` prints every address as exports:
#   eval "$(scripts/infra.sh env)"
set -euo pipefail
cd "$(dirname "$0")/.."
verb="${1:-status}"
shift || true
services=("$@")
if [ ${#services[@]} -eq 0 ]; then
  services=()
  for f in scripts/infra/*.sh; do
    [ -e "$f" ] || continue
    name="$(basename "$f" .sh)"
    [ "$name" = "lib" ] && continue
    services+=("$name")
  done
fi
mkdir -p .infra
case "$verb" in
  up | down | status)
    for s in "${services[@]}"; do bash "scripts/infra/$s.sh" "$verb"; done
    ;;
  env)
    for s in "${services[@]}"; do
      [ -f ".infra/$s.env" ] && sed 's/^/export /' ".infra/$s.env"
    done
    true
    ;;
  *)
    echo "usage: scripts/infra.sh up|down|status|env [service...]" >&2
    exit 2
    ;;
esac
