#!/usr/bin/env bash
# Builds the container image from the Containerfile with the first builder that works here:
# buildah, podman, or docker (whose daemon must be running). Reproducible inputs: the pinned
# base images and sops (see the Containerfile), package-lock.json, and SOURCE_DATE_EPOCH set
# to the last commit's time so that file and image timestamps do not depend on the build time.
#
# Usage: scripts/image.sh [IMAGE]        (npm run image [-- IMAGE])
#   IMAGE   default: secrets-toolkit:<version from package.json>
# Environment: IMAGE_BUILDER=buildah|podman|docker picks one; NODE_IMAGE / GO_IMAGE (e.g. with
# @sha256 digests) override the base images.
# Exit: 0 built, 2 no builder works here or the build failed.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
version="$(node -p 'require("./package.json").version')"
image="${1:-secrets-toolkit:$version}"
SOURCE_DATE_EPOCH="$(git log -1 --format=%ct 2>/dev/null || echo 0)"
export SOURCE_DATE_EPOCH

args=(--file Containerfile --tag "$image" --build-arg "VERSION=$version" --build-arg "SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH")
if [ -n "${NODE_IMAGE:-}" ]; then args+=(--build-arg "NODE_IMAGE=$NODE_IMAGE"); fi
if [ -n "${GO_IMAGE:-}" ]; then args+=(--build-arg "GO_IMAGE=$GO_IMAGE"); fi

works() {
  case "$1" in
    buildah) command -v buildah >/dev/null 2>&1 && buildah info >/dev/null 2>&1 ;;
    podman) command -v podman >/dev/null 2>&1 && podman info >/dev/null 2>&1 ;;
    docker) command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1 ;;
    *) return 1 ;;
  esac
}

builder="${IMAGE_BUILDER:-}"
if [ -z "$builder" ]; then
  for candidate in buildah podman docker; do
    if works "$candidate"; then builder="$candidate"; break; fi
  done
fi
if [ -z "$builder" ] || ! works "$builder"; then
  found=""
  for b in buildah podman docker; do
    if command -v "$b" >/dev/null 2>&1; then found="$found$b "; fi
  done
  echo "no container builder works here (installed: ${found:-none}${found:+; docker needs its daemon running, buildah and podman their storage})." >&2
  echo "Install buildah or podman (Debian: apt-get install -y buildah), or start docker, then run: npm run image" >&2
  exit 2
fi

echo "building $image with $builder (SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH)" >&2
case "$builder" in
  # --timestamp sets every file's and the image's time: identical inputs give an identical image.
  buildah) buildah build --timestamp "$SOURCE_DATE_EPOCH" --layers "${args[@]}" . ;;
  podman) podman build --timestamp "$SOURCE_DATE_EPOCH" "${args[@]}" . ;;
  # BuildKit takes the SOURCE_DATE_EPOCH build argument for the image's timestamps.
  docker) DOCKER_BUILDKIT=1 docker build "${args[@]}" . ;;
esac || { echo "the image build failed (see the output above)" >&2; exit 2; }
echo "built $image" >&2
