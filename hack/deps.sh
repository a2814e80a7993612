#!/usr/bin/env bash
# Installs the Debian packages the tests and the demo need, if missing:
# Alertmanager (a real one, for the noCriticalAlerts check), openssl and
# python3 (hack/kube-up.sh), git (git http-backend serves the GitHub
# simulator's repositories), chromium (the status page's browser test).
# Needs root (CI runs as root) or sudo.
set -euo pipefail
need=()
command -v prometheus-alertmanager >/dev/null || command -v alertmanager >/dev/null || need+=(prometheus-alertmanager)
command -v openssl >/dev/null || need+=(openssl)
command -v python3 >/dev/null || need+=(python3)
[ -x /usr/lib/git-core/git-http-backend ] || need+=(git)
command -v chromium >/dev/null || need+=(chromium)
[ ${#need[@]} = 0 ] && exit 0
sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
echo "deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
for i in 1 2 3; do
  $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null && exit 0
  echo "deps: apt-get failed (attempt $i); retrying" >&2; sleep $((i * 5))
done
exit 1
