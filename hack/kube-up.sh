#!/usr/bin/env bash
# Starts a local Kubernetes control plane for tests and the demo: etcd,
# kube-apiserver, kube-controller-manager, kube-scheduler and kwok (a fake
# node that turns scheduled pods Running/Ready), on free loopback ports with
# generated certificates. Usage: hack/kube-up.sh DIR. Writes DIR/kubeconfig
# and DIR/pids; hack/kube-down.sh DIR stops everything by PID.
set -euo pipefail
dir=${1:?usage: kube-up.sh DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
bin=$(bash "$(dirname "$0")/kube-binaries.sh")
KWOK_VERSION=${KWOK_VERSION:-v0.8.0}
log() { echo "kube-up: $*" >&2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
etcd_port=$(free_port); peer_port=$(free_port); api_port=$(free_port)
pki=$dir/pki; mkdir -p "$pki" "$dir/logs"

# Certificates: a CA, the apiserver's serving cert, an admin client cert
# (O=system:masters), and the service-account signing key.
openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=prdeploy-local-ca" \
  -keyout "$pki/ca.key" -out "$pki/ca.crt" 2>/dev/null
sign() { # name subject [sans]
  openssl req -newkey rsa:2048 -nodes -subj "$2" -keyout "$pki/$1.key" -out "$pki/$1.csr" 2>/dev/null
  if [ -n "${3:-}" ]; then printf 'subjectAltName=%s\n' "$3" > "$pki/$1.ext"; else : > "$pki/$1.ext"; fi
  openssl x509 -req -in "$pki/$1.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial -days 3650 \
    -extfile "$pki/$1.ext" -out "$pki/$1.crt" 2>/dev/null
}
sign apiserver "/CN=kube-apiserver" "IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc"
sign admin "/O=system:masters/CN=admin"
openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null

cat > "$dir/kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster: {server: "https://127.0.0.1:$api_port", certificate-authority: "$pki/ca.crt"}
users:
- name: admin
  user: {client-certificate: "$pki/admin.crt", client-key: "$pki/admin.key"}
contexts:
- name: local
  context: {cluster: local, user: admin}
current-context: local
KC

: > "$dir/pids"
# Each component's command line goes to DIR/run/NAME.sh, so that a test can
# stop one (kill its PID from DIR/pids) and start it again the same way.
mkdir -p "$dir/run"
start() { # name args...
  local name=$1; shift
  { echo '#!/usr/bin/env bash'; printf 'exec'; printf ' %q' "$@"; echo; } > "$dir/run/$name.sh"
  bash "$dir/run/$name.sh" >> "$dir/logs/$name.log" 2>&1 &
  echo "$! $name" >> "$dir/pids"
}
start etcd "$bin/etcd" --name default --data-dir "$dir/etcd" --unsafe-no-fsync \
  --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
  --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
  --initial-cluster "default=http://127.0.0.1:$peer_port" --listen-metrics-urls ""
start kube-apiserver "$bin/kube-apiserver" --etcd-servers "http://127.0.0.1:$etcd_port" \
  --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$api_port" --endpoint-reconciler-type none \
  --service-cluster-ip-range 10.0.0.0/24 --cert-dir "$dir/apiserver-certs" \
  --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" --client-ca-file "$pki/ca.crt" \
  --service-account-issuer https://kubernetes.default.svc --service-account-key-file "$pki/sa.pub" \
  --service-account-signing-key-file "$pki/sa.key" --authorization-mode RBAC --enable-priority-and-fairness=false

kc() { kubectl --kubeconfig "$dir/kubeconfig" "$@"; }
for i in $(seq 1 300); do
  if kc get --raw /readyz >/dev/null 2>&1; then break; fi
  if [ "$i" = 300 ]; then log "apiserver not ready; see $dir/logs"; exit 1; fi
  sleep 0.1
done
log "apiserver ready on 127.0.0.1:$api_port"
# A long node-monitor grace period: the fake node never dies, and under load
# a late kwok heartbeat would otherwise get every pod marked NotReady for
# good (kwok readies a pod once, when it leaves Pending). The node-lifecycle
# controller stays: it lifts the not-ready taint a new node starts with.
start kube-controller-manager "$bin/kube-controller-manager" --kubeconfig "$dir/kubeconfig" --leader-elect=false \
  --secure-port 0 --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
  --use-service-account-credentials --node-monitor-grace-period=1h
start kube-scheduler "$bin/kube-scheduler" --kubeconfig "$dir/kubeconfig" --leader-elect=false --secure-port 0

stages=$(go env GOMODCACHE)/sigs.k8s.io/kwok@$KWOK_VERSION/kustomize/stage
[ -d "$stages" ] || (cd "$(mktemp -d)" && go mod download "sigs.k8s.io/kwok@$KWOK_VERSION" >/dev/null)
# kwok's own node and pod stages, but our pod-ready (it leaves pods with a
# ":broken" or ":crashloop" image to hack/kwok/pod-fault.yaml).
here=$(cd "$(dirname "$0")" && pwd)
cat "$stages/node/fast/node-initialize.yaml" > "$dir/kwok-stages.yaml"
for f in "$stages/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml" "$here/kwok/pod-ready.yaml" \
         "$here/kwok/pod-fault.yaml" "$stages/pod/fast/pod-complete.yaml" "$stages/pod/fast/pod-delete.yaml" ${KWOK_EXTRA_STAGES:-}; do
  printf '\n---\n' >> "$dir/kwok-stages.yaml"; cat "$f" >> "$dir/kwok-stages.yaml"
done
start kwok "$bin/kwok" --kubeconfig "$dir/kubeconfig" --config "$dir/kwok-stages.yaml" \
  --manage-all-nodes=false --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake

kc apply -f - >/dev/null <<NODE
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-0
  annotations: {kwok.x-k8s.io/node: fake}
  labels: {type: kwok, kubernetes.io/hostname: kwok-node-0}
status:
  allocatable: {cpu: "1000", memory: 4Ti, pods: "5000"}
  capacity: {cpu: "1000", memory: 4Ti, pods: "5000"}
NODE
for i in $(seq 1 300); do
  if kc get serviceaccount default -n default >/dev/null 2>&1 && \
     [ "$(kc get node kwok-node-0 -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]; then
    log "control plane ready: KUBECONFIG=$dir/kubeconfig"
    echo "$dir/kubeconfig"
    exit 0
  fi
  sleep 0.1
done
log "node or default service account not ready; see $dir/logs"
exit 1
