#!/usr/bin/env bash
# Builds tools/k8s-validate (strict validation of rendered manifests against the Kubernetes API
# types pinned in its go.mod) with the local Go toolchain and caches the binary under .tools/bin,
# keyed by a hash of its sources so an edit rebuilds it. Prints the binary's path on stdout.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
# shellcheck source=scripts/tools/lib.sh
. "$root/scripts/tools/lib.sh"
src="$root/tools/k8s-validate"
hash="$(cat "$src/go.mod" "$src/go.sum" "$src"/*.go | sha256sum | cut -c1-12)"
target="$TOOLS_BIN/k8s-validate-$hash"
if [ -x "$target" ]; then
  echo "$target"
  exit 0
fi
require_go
log k8s-validate "building tools/k8s-validate with $(go version | cut -d' ' -f3) (first run only: a few minutes)"
start=$(date +%s)
(cd "$src" && CGO_ENABLED=0 go build -v -trimpath -ldflags "-s -w" -o "$target.tmp.$$" .) 2>&1 | progress k8s-validate
mv "$target.tmp.$$" "$target"
ln -sfn "$(basename "$target")" "$TOOLS_BIN/k8s-validate"
# Older builds (other source hashes) are dead weight.
find "$TOOLS_BIN" -maxdepth 1 -name 'k8s-validate-*' ! -name "$(basename "$target")" -delete
log k8s-validate "built $target in $(($(date +%s) - start))s"
echo "$target"
