#!/usr/bin/env bash
# The whole test suite: unit tests, then integration tests that start their
# own berthd (and a real dockerd for interop) on temporary roots. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
# Types, the layer table (no circles) and Biome's format and lint, before any test runs.
bash scripts/check.sh
exec node --test --test-concurrency=1 dist/test/unit/ dist/test/integration/ dist/test/differential/
