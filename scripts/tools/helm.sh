#!/usr/bin/env bash
# Builds Helm from its Go module with the local Go toolchain (the Go module proxy is the only
# network it needs) and caches the binary under .tools/bin, so CI builds it once per cache.
# Prints the binary's path on stdout; progress goes to stderr.
#   bash scripts/tools/helm.sh            # build if missing, print the path
# HELM_VERSION pins the release: v3.22.0 needs Go >= 1.26 (its go.mod says `go 1.26.0`) and
# bundles k8s.io/client-go v0.37, i.e. Kubernetes 1.37, the version the chart is validated against.
set -euo pipefail
HELM_VERSION="${HELM_VERSION:-v3.22.0}"
# Kubernetes minor version of the client-go that release bundles (Helm's Makefile derives it the
# same way): the default of `helm template`'s Capabilities and of lint's deprecation checks.
HELM_KUBE_MINOR="${HELM_KUBE_MINOR:-37}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
# shellcheck source=scripts/tools/lib.sh
. "$root/scripts/tools/lib.sh"
target="$TOOLS_BIN/helm-$HELM_VERSION-k1.$HELM_KUBE_MINOR"
if [ -x "$target" ]; then
  echo "$target"
  exit 0
fi
require_go
log helm "building helm $HELM_VERSION from helm.sh/helm/v3 with $(go version | cut -d' ' -f3) (first run only: several minutes)"
work="$(mktemp -d "$TOOLS_DIR/helm-build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
start=$(date +%s)
GOBIN="$work" CGO_ENABLED=0 go install -v \
  -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION \
    -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$HELM_KUBE_MINOR \
    -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$HELM_KUBE_MINOR" \
  "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" 2>&1 | progress helm
mv "$work/helm" "$target"
ln -sfn "$(basename "$target")" "$TOOLS_BIN/helm"
log helm "built $target in $(($(date +%s) - start))s"
echo "$target"
