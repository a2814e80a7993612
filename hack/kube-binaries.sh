#!/usr/bin/env bash
# Builds the binaries of a local Kubernetes control plane from the Go module
# proxy (no prebuilt downloads): kube-apiserver, kube-controller-manager and
# kube-scheduler (k8s.io/kubernetes), etcd and kwok. They go to a cache folder
# outside the checkout, keyed by version, and are reused by later runs and CI.
# Prints the folder (with --check: exit 1 instead of building). See ../shared/KUBE-LOCAL.md for the facts behind it.
set -euo pipefail
K8S_VERSION=${K8S_VERSION:-v1.37.2}
STAGING_VERSION=${STAGING_VERSION:-v0.37.2}
ETCD_VERSION=${ETCD_VERSION:-v3.6.16}
KWOK_VERSION=${KWOK_VERSION:-v0.8.0}
CACHE=${PRDEPLOY_CACHE:-$HOME/.cache/prdeploy}
OUT="$CACHE/kube/k8s-$K8S_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION"
BINS=(kube-apiserver kube-controller-manager kube-scheduler etcd kwok)

have_all() { for b in "${BINS[@]}"; do [ -x "$OUT/$b" ] || return 1; done; }
if have_all; then echo "$OUT"; exit 0; fi
# --check: only say whether they are built (exit 1 if not), never build.
if [ "${1:-}" = --check ]; then echo "$OUT"; exit 1; fi
mkdir -p "$OUT"
log() { echo "kube-binaries: $*" >&2; }
export CGO_ENABLED=0 GOFLAGS=-mod=mod

# kube-apiserver, kube-controller-manager, kube-scheduler: a throwaway module
# that replaces k8s.io/kubernetes's ./staging modules with published ones.
if [ ! -x "$OUT/kube-scheduler" ] || [ ! -x "$OUT/kube-apiserver" ] || [ ! -x "$OUT/kube-controller-manager" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  log "resolving k8s.io/kubernetes $K8S_VERSION"
  modfile=$(cd "$work" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  {
    echo "module kubebuild"
    echo
    echo "go $(sed -n 's/^go //p' "$modfile")"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    grep '=> ./staging' "$modfile" | awk -v v="$STAGING_VERSION" '{print "replace " $1 " => " $1 " " v}'
  } > "$work/go.mod"
  cat > "$work/tools.go" <<'GO'
//go:build tools

package kubebuild

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
GO
  (cd "$work" && go mod tidy >&2)
  # Without the version stamps the binaries call themselves "master".
  minor=${K8S_VERSION#v1.}
  minor=${minor%%.*}
  ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION"
  ldflags+=" -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
  ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean"
  for b in kube-scheduler kube-controller-manager kube-apiserver; do
    [ -x "$OUT/$b" ] && continue
    log "building $b (several minutes on two cores)"
    start=$(date +%s)
    (cd "$work" && go build -trimpath -ldflags "$ldflags" -o "$OUT/$b.tmp" "k8s.io/kubernetes/cmd/$b") && mv "$OUT/$b.tmp" "$OUT/$b"
    log "built $b in $(( $(date +%s) - start ))s"
  done
fi

# etcd: its module has ../ replaces, so it is built from a throwaway module too.
if [ ! -x "$OUT/etcd" ]; then
  work=$(mktemp -d)
  log "building etcd $ETCD_VERSION"
  printf 'module etcdbuild\n\ngo 1.24\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" > "$work/go.mod"
  printf '//go:build tools\n\npackage etcdbuild\n\nimport _ "go.etcd.io/etcd/server/v3"\n' > "$work/tools.go"
  (cd "$work" && go mod tidy >&2 && go build -trimpath -ldflags "-s -w" -o "$OUT/etcd.tmp" go.etcd.io/etcd/server/v3) && mv "$OUT/etcd.tmp" "$OUT/etcd"
  rm -rf "$work"
fi

# kwok installs as usual.
if [ ! -x "$OUT/kwok" ]; then
  log "building kwok $KWOK_VERSION"
  GOBIN="$OUT/.kwok" go install "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" && mv "$OUT/.kwok/kwok" "$OUT/kwok" && rmdir "$OUT/.kwok"
fi

have_all || { log "some binaries are missing in $OUT"; exit 1; }
echo "$OUT"
