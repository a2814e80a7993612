#!/usr/bin/env bash
# The demo on embedded defaults (make demo): the example plans checked, then
# the whole story with `prdeploy demo` — embedded Temporal server, GitHub
# simulator, webhook server and worker, simulated cluster: PR → plan check →
# merge → rollout → /approve → done. DEMO_NONINTERACTIVE=1 exits when the
# story is told (CI); otherwise everything keeps running until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=examples/gitops-repo
bin=${BIN:-bin}/prdeploy
echo "==> prdeploy plan validate (every example plan in $repo)"
(cd "$repo" && "$OLDPWD/$bin" plan validate deploys/*.yaml)
"$bin" demo --repo "$repo"
