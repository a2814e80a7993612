#!/usr/bin/env bash
# Stops a control plane started by hack/kube-up.sh DIR, by PID.
set -uo pipefail
dir=${1:?usage: kube-down.sh DIR}
[ -f "$dir/pids" ] || exit 0
tac "$dir/pids" | while read -r pid name; do
  kill "$pid" 2>/dev/null && echo "kube-down: stopped $name ($pid)" >&2
done
for _ in $(seq 1 50); do
  alive=0
  while read -r pid _; do
    # A zombie (exited, not yet reaped by its parent) counts as stopped.
    state=$(ps -o stat= -p "$pid" 2>/dev/null || true)
    [ -n "$state" ] && [ "${state#Z}" = "$state" ] && alive=1
  done < "$dir/pids"
  [ $alive = 0 ] && break
  sleep 0.1
done
while read -r pid _; do kill -9 "$pid" 2>/dev/null; done < "$dir/pids"
rm -f "$dir/pids"
