#!/usr/bin/env bash
# Build the native addons (native/*.c → build/Release/*.node, listed in binding.gyp)
# with node-gyp against Node's own headers; make rebuilds only what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# Configured again when binding.gyp has changed (a new addon), so an old build dir picks it up.
if [[ ! -f build/Makefile || binding.gyp -nt build/Makefile ]]; then node-gyp configure >"$log" 2>&1 || { cat "$log" >&2; exit 1; }; fi
node-gyp build >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
