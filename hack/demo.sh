#!/usr/bin/env bash
# The demo on embedded defaults (make demo): the example plans checked, then
# the whole story with `prdeploy demo` on `prdeploy serve` itself: embedded
# Temporal server and Web UI, GitHub simulator, webhook server, worker and
# status page: PR → plan check → merge → rollout → /approve → done.
#
# The cluster is the local Kubernetes control plane (hack/kube-up.sh) when
# its binaries are built (make kube-binaries, once per machine), else a
# clearly labelled simulated cluster. DEMO_NONINTERACTIVE=1 exits when the
# story is told (CI); otherwise everything keeps running until Ctrl-C.
# DEMO_CLUSTER=simulated skips the control plane.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=examples/gitops-repo
bin=${BIN:-bin}/prdeploy
echo "==> prdeploy plan validate (every example plan in $repo)"
(cd "$repo" && "$OLDPWD/$bin" plan validate deploys/*.yaml)

args=(demo --repo "$repo")
if [ "${DEMO_NONINTERACTIVE:-}" != 1 ]; then
  # Fixed ports, so the printed URLs stay the same from one run to the next.
  args+=(--listen "${DEMO_LISTEN:-127.0.0.1:8080}" --ui-listen "${DEMO_UI_LISTEN:-127.0.0.1:8233}")
fi
if [ "${DEMO_CLUSTER:-}" != simulated ] && bash hack/kube-binaries.sh --check >/dev/null 2>&1; then
  kube=$(mktemp -d /tmp/prdeploy-demo-kube.XXXXXX)
  trap 'bash hack/kube-down.sh "$kube" 2>/dev/null; rm -rf "$kube"' EXIT
  echo "==> Starting the local Kubernetes control plane (etcd, kube-apiserver, controllers, scheduler, kwok nodes) in $kube"
  start=$(date +%s)
  kubeconfig=$(bash hack/kube-up.sh "$kube" 2>"$kube/up.log") || { cat "$kube/up.log" >&2; exit 1; }
  echo "    ready in $(( $(date +%s) - start ))s"
  args+=(--kubeconfig "$kubeconfig")
else
  echo "==> No local Kubernetes control plane yet: this demo uses a SIMULATED cluster."
  echo "    Build the real one once with \`make kube-binaries\` (about 11-16 min, cached in ~/.cache/prdeploy);"
  echo "    the next \`make demo\` deploys to it."
fi
"$bin" "${args[@]}"
