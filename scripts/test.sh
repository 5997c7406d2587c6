#!/usr/bin/env bash
# The whole test command (`npm test`, which CI runs through .ci/run): build,
# lint, the unit and local suites on Node 20, 22 and 24, then the integration
# suite against the real servers.
#
# The servers come from scripts/test-env/binaries.sh. With a warm cache that
# takes seconds; with a cold one it means building every server from source
# (most of a cold run's time), so it starts in the background first and
# overlaps the Node phases, which leave a core idle much of the time. An
# integration test that needs a binary still being built waits for that build
# (binaries.sh locks per binary), so nothing depends on the order.
set -euo pipefail
cd "$(dirname "$0")/.."

cache="${SECRETS_TOOLKIT_CACHE:-$HOME/.cache/secrets-toolkit}"
mkdir -p "$cache"
build_log="$cache/build.log"
# In a session of its own, so that its Go builds can be stopped as one group.
BUILD_JOBS="${BUILD_JOBS:-2}" setsid scripts/test-env/binaries.sh ensure >"$build_log" 2>&1 &
provider=$!
# An earlier phase failing ends the run: do not leave a build behind it.
trap 'kill -- "-$provider" 2>/dev/null || true' EXIT

phase() {
  local name="$1" started=$SECONDS
  shift
  echo "== $name"
  "$@"
  echo "== $name: $((SECONDS - started)) s"
}

phase build npm run build
phase lint npm run lint
phase unit npm run test:unit
phase local npm run test:local
phase node-versions npm run test:node-versions

started=$SECONDS
if ! wait "$provider"; then
  echo "providing the test servers failed; the end of $build_log:" >&2
  tail -n 40 "$build_log" >&2
  echo "Run scripts/test-env/binaries.sh ensure to see it again (docs/testing.md)." >&2
  exit 2
fi
trap - EXIT
echo "== test servers ready (waited $((SECONDS - started)) s; log: $build_log)"
grep -E '^\[test-env .*\] provided ' "$build_log" || true

phase integration npm run test:integration
