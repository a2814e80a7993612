#!/usr/bin/env bash
# Smoke test of the local control plane: start it, server-side apply a
# 3-replica Deployment, wait for the rollout, change the image, wait again,
# stop. Exits non-zero when any step fails.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d)
trap 'bash "$here/kube-down.sh" "$dir"; rm -rf "$dir"' EXIT
export KUBECONFIG=$(bash "$here/kube-up.sh" "$dir")
kubectl create namespace smoke >/dev/null
kubectl apply --server-side --field-manager prdeploy -n smoke -f - >/dev/null <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "registry.example.com/web:1"}]
YAML
kubectl rollout status -n smoke deploy/web --timeout 60s
kubectl set image -n smoke deploy/web web=registry.example.com/web:2 >/dev/null
kubectl rollout status -n smoke deploy/web --timeout 60s
ready=$(kubectl get deploy -n smoke web -o jsonpath='{.status.readyReplicas}')
[ "$ready" = 3 ] || { echo "kube-smoke: $ready of 3 replicas ready" >&2; exit 1; }
echo "kube-smoke: ok (3 of 3 ready after an image change)"
