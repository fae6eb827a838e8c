# Shared helpers for scripts/tools/*.sh (sourced, not run).
TOOLS_DIR="${HERALD_TOOLS_DIR:-$root/.tools}"
TOOLS_BIN="$TOOLS_DIR/bin"
mkdir -p "$TOOLS_BIN"

log() {
  echo "[$1] $2" >&2
}

require_go() {
  if ! command -v go >/dev/null 2>&1; then
    echo "error: the Go toolchain (go >= 1.26) is needed to build the chart tools; install it from https://go.dev/dl/ or your distribution" >&2
    exit 1
  fi
}

# Reads `go install -v` / `go build -v` output and prints a progress line every 25 packages and
# every module download, so a long first build visibly advances; errors pass through unchanged.
progress() {
  awk -v tag="$1" '
    /^go: downloading/ { dl++; if (dl % 10 == 1) printf("[%s] downloading modules (%d so far): %s\n", tag, dl, $3) > "/dev/stderr"; fflush("/dev/stderr"); next }
    /^[a-zA-Z0-9._~\/-]+$/ { n++; if (n % 25 == 0) printf("[%s] compiled %d packages (%s)\n", tag, n, $0) > "/dev/stderr"; fflush("/dev/stderr"); next }
    { print > "/dev/stderr"; fflush("/dev/stderr") }
    END { printf("[%s] compiled %d packages, %d module downloads\n", tag, n, dl) > "/dev/stderr" }
  '
}
