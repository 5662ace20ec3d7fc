#!/usr/bin/env bash
# Berth vs Docker (and podman when installed), side by side in one run:
# `images` latency, import throughput of a 300 MB rootfs tar, idle daemon memory.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
node dist/bench/images.js "$@"
# Builds: cold, fully cached and one-file-changed rebuilds against DOCKER_BUILDKIT=0 docker build.
node dist/bench/build.js
