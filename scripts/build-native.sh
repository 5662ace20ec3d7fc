#!/usr/bin/env bash
# Build the native addon (native/berth_native.c → build/Release/berth_native.node)
# with node-gyp against Node's own headers; make rebuilds only what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if [[ ! -f build/Makefile ]]; then node-gyp configure >"$log" 2>&1 || { cat "$log" >&2; exit 1; }; fi
node-gyp build >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
