#!/usr/bin/env bash
# The static checks CI runs before the tests: types (tsc), the layer table and import
# circles (scripts/check-layers.mjs), and format + lint (Biome, configured in biome.jsonc).
# Runs all three and fails if any failed, so one run shows every problem.
set -uo pipefail
cd "$(dirname "$0")/.."
failed=()
run() {
  local name=$1
  shift
  echo "== $name: $*"
  "$@" || failed+=("$name")
}
run types npx --no-install tsc --noEmit -p tsconfig.json
run console-types npx --no-install tsc --noEmit -p src/console/web/tsconfig.json
run layers node scripts/check-layers.mjs src
run biome npx --no-install biome ci --error-on-warnings src test
if ((${#failed[@]})); then
  echo "check: failed: ${failed[*]}" >&2
  exit 1
fi
echo "check: types, layers and biome clean"
