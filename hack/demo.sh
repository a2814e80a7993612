#!/usr/bin/env bash
# The demo on embedded defaults. Until `prdeploy serve` lands (issue 8), it
# shows what prdeploy posts on a pull request: every example plan checked
# against the example fleet, expanded wave by wave, with its policy decision.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=examples/gitops-repo
bin=${BIN:-bin}/prdeploy
echo "==> prdeploy plan validate --repo $repo deploys/*.yaml"
(cd "$repo" && "$OLDPWD/$bin" plan validate deploys/*.yaml)
for plan in "$repo"/deploys/*.yaml; do
  echo
  echo "==> prdeploy plan show --repo $repo ${plan#$repo/}"
  "$bin" plan show --repo "$repo" "${plan#$repo/}"
done
echo
echo "The full story (PR → plan check → merge → live rollout → /approve) needs 'prdeploy serve',"
echo "which is not yet available; see docs/ and the open issues."
