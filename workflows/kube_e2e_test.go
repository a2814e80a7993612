package workflows_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/prdeploy/prdeploy/internal/alerts"
	"github.com/prdeploy/prdeploy/internal/alerts/alertstest"
	"github.com/prdeploy/prdeploy/internal/kube"
	"github.com/prdeploy/prdeploy/internal/kube/kubetest"
	"github.com/prdeploy/prdeploy/internal/sim"
	"github.com/prdeploy/prdeploy/workflows"
)

// stagedPlans is the simulated plan store, with each service target's
// manifests rendered and put in the payload store, as Prepare does.
type stagedPlans struct {
	*sim.Plans
	store kube.Store
}

func webManifest(ns, image string) []byte {
	return fmt.Appendf(nil, `apiVersion: v1
kind: Namespace
metadata: {name: %[1]s}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: %[1]s, labels: {prdeploy.dev/service: web}}
spec:
  replicas: 2
  progressDeadlineSeconds: 5
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: %[2]q}]}
`, ns, image)
}

func (p stagedPlans) Tenants(ctx context.Context, req workflows.TenantsRequest) ([]workflows.TenantAssignment, error) {
	as, err := p.Plans.Tenants(ctx, req)
	for i := range as {
		for j := range as[i].Services {
			s := &as[i].Services[j]
			data := webManifest(s.Namespace, s.Image)
			b, err := p.store.Put(ctx, fmt.Sprintf("deploys/%s/%s/%s/%s/%s", s.Cluster, s.Deployment, s.Tenant, s.Service, kube.Digest(data)), data)
			if err != nil {
				return nil, err
			}
			s.ManifestRef, s.ManifestDigest = b.Key, b.Digest
		}
	}
	return as, err
}

// TestDeployOnRealClusterAndAlertmanager runs deployments through the
// embedded Temporal server with the real adapters: server-side apply and
// rollout waits on the local control plane, podsAvailable on its pods,
// noCriticalAlerts on a real Alertmanager. A good image rolls out to both
// tenants; a broken image fails the first tenant, which is rolled back to
// exactly what ran before; a critical alert for a tenant rolls it back too.
func TestDeployOnRealClusterAndAlertmanager(t *testing.T) {
	cp := kubetest.StartT(t)
	am := alertstest.Start(t)
	clients := &kube.Clients{Kubeconfig: cp.Kubeconfig, Contexts: map[string]string{"c1": "local"}}
	store := kube.NewMemoryStore()
	h := newHarness(t, 0, 2, func(h *harness) {
		h.acts = &workflows.Activities{
			Plans:   stagedPlans{Plans: h.plans, store: store},
			Cluster: &kube.Cluster{Clients: clients, Store: store},
			Probes: workflows.Probers{
				workflows.CheckPodsAvailable:    &kube.PodsAvailable{Clients: clients},
				workflows.CheckNoCriticalAlerts: &alerts.Client{URL: am.URL},
			},
			Directory: h.dir,
		}
	})
	cl, err := clients.For("c1", "")
	if err != nil {
		t.Fatal(err)
	}
	image := func(tenant string) string {
		t.Helper()
		d, err := cl.Typed.AppsV1().Deployments("ns-"+tenant).Get(context.Background(), "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return d.Spec.Template.Spec.Containers[0].Image
	}
	const spec = `  tenants: {names: [t01, t02]}
  checks: {interval: 1s, settle: 2s, noCriticalAlerts: {matchers: ['severity="critical"', 'tenant="{tenant}"']}}
  onFailure: {action: rollback}
`
	// 1. A good image everywhere.
	h.plan("web-2", `  services: [{name: web, tag: "2"}]
`+spec)
	st := h.result(h.deploy("web-2"))
	if st.Phase != workflows.PhaseSucceeded {
		t.Fatalf("web-2: %s %+v", st.Phase, st.Tenants)
	}
	for _, tn := range []string{"t01", "t02"} {
		if got := image(tn); got != "registry.example.com/web:2" {
			t.Fatalf("%s runs %s after web-2", tn, got)
		}
	}

	// 2. A broken image: t01 fails for real and is rolled back; t02 is
	// never touched.
	h.plan("web-broken", `  services: [{name: web, tag: "broken"}]
`+spec)
	start := time.Now()
	st = h.result(h.deploy("web-broken"))
	t.Logf("broken image: %s after %v; t01: %s", st.Phase, time.Since(start).Round(100*time.Millisecond), st.Tenants[0].Failure)
	if st.Phase != workflows.PhaseFailed || st.Tenants[0].Phase != workflows.TenantRolledBack || st.Untouched != 1 {
		t.Fatalf("web-broken: phase %s untouched %d tenants %+v", st.Phase, st.Untouched, st.Tenants)
	}
	if f := st.Tenants[0].Failure; !strings.Contains(f, "ImagePullBackOff") && !strings.Contains(f, "progress deadline") {
		t.Errorf("t01's failure does not say why: %q", f)
	}
	if image("t01") != "registry.example.com/web:2" || image("t02") != "registry.example.com/web:2" {
		t.Fatalf("after web-broken: t01 %s, t02 %s; want :2 on both", image("t01"), image("t02"))
	}

	// 3. A critical alert for t02 fails t02 only; t01 keeps the new image.
	am.Fire(t, "5xx above 5%", map[string]string{"alertname": "HighErrorRate", "severity": "critical", "tenant": "t02"})
	h.plan("web-3", `  services: [{name: web, tag: "3"}]
`+spec)
	st = h.result(h.deploy("web-3"))
	if st.Phase != workflows.PhaseFailed || st.Tenants[0].Phase != workflows.TenantSucceeded || st.Tenants[1].Phase != workflows.TenantRolledBack {
		t.Fatalf("web-3: phase %s tenants %+v", st.Phase, st.Tenants)
	}
	if f := st.Tenants[1].Failure; !strings.Contains(f, "noCriticalAlerts") || !strings.Contains(f, "HighErrorRate") {
		t.Errorf("t02's failure = %q", f)
	}
	if image("t01") != "registry.example.com/web:3" || image("t02") != "registry.example.com/web:2" {
		t.Fatalf("after web-3: t01 %s, t02 %s", image("t01"), image("t02"))
	}
	t.Logf("apiserver requests for the three deployments: %d", cl.Requests())
}
