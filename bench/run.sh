#!/usr/bin/env bash
# Runs every benchmark. Each prints a Markdown table; docs/benchmarks.md keeps
# the measured figures with the machine they were measured on.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build >/dev/null
mkdir -p bench/results
for script in bench/*/bench.mjs; do
  topic=$(basename "$(dirname "$script")")
  echo "== $topic"
  node "$script" "$@" | tee "bench/results/$topic.md"
done
