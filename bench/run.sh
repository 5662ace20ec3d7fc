#!/usr/bin/env bash
# Berth vs Docker (and podman when installed), side by side in one run:
# images (`images` latency, import throughput, idle daemon memory) and containers
# (run --rm latency, 50 containers, memory per container, daemon memory, log throughput).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
node dist/bench/images.js "$@"
node dist/bench/containers.js "$@"
