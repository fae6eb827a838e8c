#!/usr/bin/env bash
# Exercises the Dockerfile where no container engine runs (docs/operations.md, "Image: what was
# run"):
#  1. assembles the runtime stage's /app (dist/ from `npm run build`, production dependencies
#     only, package.json), root-owned and read-only to the process;
#  2. starts the standalone and gateway roles from it as uid 1000 and checks /healthz;
#  3. when runc and umoci are installed (Debian packages), packs it as an OCI image with the
#     Dockerfile's user, working directory and command (the node binary and its libraries copied
#     from this host in place of the node:*-slim base, which needs a registry), runs it under
#     runc with a read-only root filesystem and a tmpfs /tmp, checks /healthz, and stops it with
#     SIGTERM, expecting exit status 0.
# Usage: bash scripts/tools/image-tree.sh [output dir]   (default .tools/image; rebuilt each run)
#   HERALD_IMAGE_SKIP_BUILD=1 reuses dist/ as it is.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:-$root/.tools/image}"
app="$out/app"
log() { echo "[image] $*" >&2; }

rm -rf "$out"
mkdir -p "$app"
if [ "${HERALD_IMAGE_SKIP_BUILD:-}" != 1 ]; then
  log "build stage: npm run build"
  (cd "$root" && npm run build >/dev/null)
fi

log "deps stage: production dependencies only (npm ci --omit=dev --ignore-scripts)"
cp "$root/package.json" "$root/package-lock.json" "$app/"
# The Dockerfile runs `npm ci --omit=dev` against the registry. Here: offline from the npm cache,
# or, when the cache is incomplete, a copy of the installed tree pruned to the same lockfile.
if ! (cd "$app" && npm ci --omit=dev --ignore-scripts --offline --no-audit --no-fund --loglevel=error >/dev/null 2>&1); then
  log "npm cache incomplete: pruning a copy of node_modules to the production dependencies"
  cp -a "$root/node_modules" "$app/"
  (cd "$app" && npm prune --omit=dev --ignore-scripts --offline --no-audit --no-fund --loglevel=error >/dev/null)
fi
for dev in typescript jest @nestjs/cli eslint; do
  if [ -e "$app/node_modules/$dev" ]; then
    echo "error: dev dependency $dev in the production tree" >&2
    exit 1
  fi
done
cp -a "$root/dist" "$app/dist"
rm -f "$app/package-lock.json"
chown -R 0:0 "$app"
chmod -R a+rX,go-w "$app"
log "runtime /app: $(du -sh "$app" | cut -f1) ($(du -sh "$app/node_modules" | cut -f1) node_modules)"

# Starts `node <main>` as uid 1000 from $1 (cwd), waits for `listening`, checks /healthz, SIGTERMs.
check_role() {
  local cwd="$1" main="$2" name="$3" logf="$out/$3.log"
  shift 3
  local data
  data="$(mktemp -d)"
  chown 1000:1000 "$data"
  (cd "$cwd" && exec env -i PATH="$PATH" NODE_ENV=production HERALD_HOST=127.0.0.1 HERALD_PORT=0 \
    HERALD_DATA_DIR="$data" "$@" setpriv --reuid=1000 --regid=1000 --clear-groups node "$main") >"$logf" 2>&1 &
  local pid=$! port=""
  for _ in $(seq 1 300); do
    port="$(grep '"msg":"listening"' "$logf" | grep -o '"port":[0-9]*' | grep -o '[0-9]*$' || true)"
    [ -n "$port" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$port" ]; then
    echo "error: $name did not start:" >&2
    tail -20 "$logf" >&2
    kill "$pid" 2>/dev/null || true
    exit 1
  fi
  local health
  health="$(curl -fsS "http://127.0.0.1:$port/healthz")"
  kill -TERM "$pid"
  local status=0
  wait "$pid" || status=$?
  rm -rf "$data"
  log "$name: as uid 1000, port $port, /healthz $health, exit $status after SIGTERM"
  [ "$status" = 0 ] || { echo "error: $name exited $status" >&2; exit 1; }
}

check_role "$app" dist/apps/standalone/src/main.js standalone
check_role "$app" dist/apps/gateway/src/main.js gateway

if ! command -v runc >/dev/null || ! command -v umoci >/dev/null; then
  log "runc or umoci not installed: OCI image not assembled (apt-get install runc umoci)"
  exit 0
fi

log "OCI image: umoci layout with the app tree and this host's node ($(node -v))"
layout="$out/oci"
umoci init --layout "$layout"
umoci new --image "$layout:herald"
umoci unpack --rootless=false --image "$layout:herald" "$out/bundle" >/dev/null
rootfs="$out/bundle/rootfs"
mkdir -p "$rootfs/usr/local/bin" "$rootfs/etc" "$rootfs/tmp" "$rootfs/app"
cp -a "$app/." "$rootfs/app/"
node_bin="$(command -v node)"
cp "$node_bin" "$rootfs/usr/local/bin/node"
# The base image's shared libraries: what node links against on this host.
ldd "$node_bin" | grep -o '/[^ ]*' | while read -r lib; do
  mkdir -p "$rootfs$(dirname "$lib")"
  cp -L "$lib" "$rootfs$lib"
done
printf 'root:x:0:0:root:/root:/sbin/nologin\nnode:x:1000:1000::/home/node:/sbin/nologin\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\nnode:x:1000:\n' >"$rootfs/etc/group"
chmod 1777 "$rootfs/tmp"
umoci repack --image "$layout:herald" "$out/bundle"
# The Dockerfile's runtime configuration.
umoci config --image "$layout:herald" --config.user 1000:1000 --config.workingdir /app \
  --config.env NODE_ENV=production --config.env HERALD_HOST=0.0.0.0 --config.env HERALD_PORT=8080 \
  --config.env PATH=/usr/local/bin:/usr/bin:/bin \
  --config.exposedports 8080/tcp --config.cmd node --config.cmd dist/apps/standalone/src/main.js
rm -rf "$out/bundle"
umoci unpack --image "$layout:herald" "$out/run" >/dev/null
log "image config: $(umoci stat --image "$layout:herald" --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const h=JSON.parse(s).history;console.log(h.length+" layers")})')"

# As Kubernetes runs it (helm/herald): read-only root, tmpfs /tmp, the gateway role by command,
# loopback host networking so this script can probe it.
node - "$out/run/config.json" <<'EOF'
const fs = require('node:fs');
const file = process.argv[2];
const c = JSON.parse(fs.readFileSync(file, 'utf8'));
c.root.readonly = true;
c.process.terminal = false;
c.process.args = ['node', 'dist/apps/gateway/src/main.js'];
c.process.env = c.process.env.filter((e) => !e.startsWith('HERALD_PORT=') && !e.startsWith('HERALD_HOST='));
c.process.env.push('HERALD_HOST=127.0.0.1', 'HERALD_PORT=0', 'HERALD_DATA_DIR=/tmp/data');
c.linux.namespaces = c.linux.namespaces.filter((n) => n.type !== 'network');
c.mounts.push({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777', 'size=65536k'] });
fs.writeFileSync(file, JSON.stringify(c, null, 2));
EOF
id="herald-image-$$"
logf="$out/runc.log"
runc run --bundle "$out/run" "$id" >"$logf" 2>&1 &
runc_pid=$!
port=""
for _ in $(seq 1 300); do
  port="$(grep '"msg":"listening"' "$logf" | grep -o '"port":[0-9]*' | grep -o '[0-9]*$' || true)"
  [ -n "$port" ] && break
  kill -0 "$runc_pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$port" ]; then
  echo "error: the container did not start:" >&2
  tail -20 "$logf" >&2
  runc kill "$id" KILL 2>/dev/null || true
  runc delete --force "$id" 2>/dev/null || true
  exit 1
fi
health="$(curl -fsS "http://127.0.0.1:$port/healthz")"
user="$(runc exec "$id" node -e 'process.stdout.write(String(process.getuid()))')"
ro="$(runc exec "$id" node -e 'try{require("fs").writeFileSync("/app/x","");console.log("writable")}catch(e){console.log(e.code)}')"
runc kill "$id" TERM
status=0
wait "$runc_pid" || status=$?
runc delete --force "$id" 2>/dev/null || true
log "runc: gateway as uid $user, root filesystem write -> $ro, port $port, /healthz $health, exit $status after SIGTERM"
[ "$status" = 0 ] && [ "$user" = 1000 ] && [ "$ro" = EROFS ] || { echo "error: container check failed" >&2; exit 1; }
log "ok"
