#!/usr/bin/env bash
# Provides git-filter-repo for the `local` tests (the git scrub engines are
# compared against it). Uses the one on PATH when present, else installs the
# pinned PyPI release into ~/.cache/secrets-toolkit/tools/ (no root needed)
# and prints the directory to put on PATH.
set -euo pipefail

VERSION=2.47.0
CACHE_DIR="${SECRETS_TOOLKIT_CACHE:-$HOME/.cache/secrets-toolkit}"
TARGET="$CACHE_DIR/tools/git-filter-repo-$VERSION"

if command -v git-filter-repo >/dev/null 2>&1; then
  dirname "$(command -v git-filter-repo)"
  exit 0
fi
if [ ! -x "$TARGET/bin/git-filter-repo" ]; then
  command -v python3 >/dev/null 2>&1 || { echo "python3 is needed for git-filter-repo: apt-get install -y python3 (or apt-get install -y git-filter-repo)" >&2; exit 2; }
  echo "[test-env] installing git-filter-repo $VERSION from PyPI into $TARGET" >&2
  rm -rf "$TARGET.partial"
  python3 -m pip install --quiet --disable-pip-version-check --no-deps --target "$TARGET.partial/lib" "git-filter-repo==$VERSION" >&2
  mkdir -p "$TARGET.partial/bin"
  # git finds `git filter-repo` as git-filter-repo on PATH; the wrapper points
  # python at the private install instead of site-packages.
  cat > "$TARGET.partial/bin/git-filter-repo" <<WRAPPER
#!/bin/sh
PYTHONPATH="$TARGET/lib\${PYTHONPATH:+:\$PYTHONPATH}" exec python3 -c 'import git_filter_repo; git_filter_repo.main()' "\$@"
WRAPPER
  chmod +x "$TARGET.partial/bin/git-filter-repo"
  rm -rf "$TARGET"; mv "$TARGET.partial" "$TARGET"
fi
echo "$TARGET/bin"
