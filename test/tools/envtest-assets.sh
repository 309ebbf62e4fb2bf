#!/usr/bin/env bash
# Puts kube-apiserver, etcd and kubectl for envtest into OUTDIR (default bin/k8s).
#
# Order of preference, so a fresh clone on a machine that already built them takes seconds:
#   1. the per-user cache ($XDG_CACHE_HOME/api-operator-istio/k8s/VERSION);
#   2. setup-envtest, where its download site is reachable;
#   3. a build of kube-apiserver from the k8s.io/kubernetes Go module through the module
#      proxy, with etcd from Debian's etcd-server package (works with no download site).
set -euo pipefail

VERSION=${ENVTEST_K8S_VERSION:-1.37.2}
OUT=${1:-bin/k8s}
CACHE_ROOT=${XDG_CACHE_HOME:-$HOME/.cache}/api-operator-istio/k8s
CACHE=$CACHE_ROOT/$VERSION
MINOR=$(echo "$VERSION" | cut -d. -f2)
PATCH=$(echo "$VERSION" | cut -d. -f3)

say() { printf '[envtest-assets] %s\n' "$*" >&2; }

have_all() { [ -x "$1/kube-apiserver" ] && [ -x "$1/etcd" ] && [ -x "$1/kubectl" ]; }

install_out() {
  mkdir -p "$OUT"
  for b in kube-apiserver etcd kubectl; do ln -sfn "$(readlink -f "$CACHE/$b")" "$OUT/$b"; done
  say "ready in $OUT (kube-apiserver $("$OUT/kube-apiserver" --version 2>/dev/null | awk '{print $2}'))"
}

try_setup_envtest() {
  say "trying setup-envtest for $VERSION"
  local dir
  dir=$(timeout 120 go run sigs.k8s.io/controller-runtime/tools/setup-envtest@release-0.25 \
    use "$VERSION" --bin-dir "$CACHE_ROOT/setup-envtest" -p path 2>/dev/null) || return 1
  [ -x "$dir/kube-apiserver" ] || return 1
  mkdir -p "$CACHE"
  for b in kube-apiserver etcd kubectl; do cp "$dir/$b" "$CACHE/$b"; done
}

ensure_etcd() {
  if ! command -v etcd >/dev/null; then
    say "installing Debian's etcd-server (etcd is not on PATH)"
    if [ "$(id -u)" != 0 ]; then
      say "not root: install etcd (e.g. 'sudo apt-get install etcd-server') and run again"; exit 1
    fi
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server >/dev/null) </dev/null
  fi
  ln -sfn "$(command -v etcd)" "$CACHE/etcd"
}

build_from_module() {
  say "building kube-apiserver v$VERSION from the k8s.io/kubernetes Go module (first time only: 4 to 9 minutes on 2 cores)"
  local w gomod
  w=$(mktemp -d); trap 'rm -rf "$w"' RETURN
  mkdir -p "$CACHE"
  (
    cd "$w"
    printf 'module kasbuild\n\ngo 1.26\n\nrequire k8s.io/kubernetes v%s\n' "$VERSION" > go.mod
    gomod=$(go mod download -json "k8s.io/kubernetes@v$VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
    for m in $(grep -oE '^\s*k8s.io/[a-z0-9-]+ => ./staging' "$gomod" | awk '{print $1}'); do
      echo "replace $m => $m v0.$MINOR.$PATCH" >> go.mod
    done
    printf 'package main\n\nimport (\n\t_ "k8s.io/kubernetes/cmd/kube-apiserver/app"\n\t_ "k8s.io/kubernetes/cmd/kubectl"\n)\n\nfunc main() {}\n' > tools.go
    GOFLAGS=-mod=mod go get "k8s.io/kubernetes/cmd/kube-apiserver@v$VERSION" >/dev/null 2>&1
    GOFLAGS=-mod=mod go mod tidy >/dev/null 2>&1 || true
    local ld="-s -w -X k8s.io/component-base/version.gitVersion=v$VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$MINOR"
    GOFLAGS=-mod=mod go build -ldflags "$ld" -o "$CACHE/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver
    mv "$CACHE/kube-apiserver.tmp" "$CACHE/kube-apiserver"
    if command -v kubectl >/dev/null; then
      ln -sfn "$(command -v kubectl)" "$CACHE/kubectl"
    else
      say "building kubectl v$VERSION"
      GOFLAGS=-mod=mod go build -ldflags "$ld" -o "$CACHE/kubectl" k8s.io/kubernetes/cmd/kubectl
    fi
  )
  ensure_etcd
}

if have_all "$CACHE"; then install_out; exit 0; fi
# One build at a time per cache: a second run (another checkout, a parallel make) waits for
# the first and then takes its result.
mkdir -p "$CACHE_ROOT"
exec 9>"$CACHE_ROOT/.lock"
if ! flock -n 9; then
  say "another run is filling $CACHE_ROOT; waiting for it"
  flock 9
fi
if have_all "$CACHE"; then install_out; exit 0; fi
if [ -z "${ENVTEST_NO_DOWNLOAD:-}" ] && try_setup_envtest; then install_out; exit 0; fi
build_from_module
have_all "$CACHE" || { say "failed: $CACHE lacks kube-apiserver, etcd or kubectl"; exit 1; }
install_out
