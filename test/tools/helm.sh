#!/usr/bin/env bash
# Puts the helm binary in OUTDIR (default bin), built from the helm.sh/helm Go module through
# the Go module proxy (no download site needed) and cached per user, so a fresh clone on the
# same machine takes seconds.
set -euo pipefail
VERSION=${HELM_VERSION:-v3.22.0}
OUT=${1:-bin}
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/api-operator-istio/helm/$VERSION
if [ ! -x "$CACHE/helm" ]; then
  echo "[helm] building helm $VERSION from its Go module (first time only: a few minutes)" >&2
  mkdir -p "$CACHE"
  GOBIN="$CACHE" GOFLAGS=-mod=mod go install "helm.sh/helm/v3/cmd/helm@$VERSION"
fi
mkdir -p "$OUT"
ln -sfn "$CACHE/helm" "$OUT/helm"
"$OUT/helm" version --short >&2
