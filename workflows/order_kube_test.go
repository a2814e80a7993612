package workflows_test

import (
	"context"
	"testing"

	"go.temporal.io/sdk/client"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/prdeploy/prdeploy/internal/kube"
	"github.com/prdeploy/prdeploy/internal/kube/kubetest"
	"github.com/prdeploy/prdeploy/workflows"
)

// TestNewestMergeWinsOnRealCluster: three merges of web, the first two
// prepared only after the third has rolled out on the local control
// plane. The first two read the third's stamp on the live Deployments and
// apply nothing; both tenants run the third merge's image, stamped with
// it.
func TestNewestMergeWinsOnRealCluster(t *testing.T) {
	cp := kubetest.StartT(t)
	clients := &kube.Clients{Kubeconfig: cp.Kubeconfig, Contexts: map[string]string{"c1": "local"}}
	store := kube.NewMemoryStore()
	hist := &history{gens: map[string]int64{mergeSHA(1): 1, mergeSHA(2): 2, mergeSHA(3): 3}}
	h := newHarness(t, 0, 2, func(h *harness) {
		h.acts = &workflows.Activities{
			Plans: stagedPlans{Plans: h.plans, store: store}, Cluster: &kube.Cluster{Clients: clients, Store: store},
			Probes: h.prober, Directory: h.dir, History: hist,
		}
	})
	cl, err := clients.For("c1", "")
	if err != nil {
		t.Fatal(err)
	}
	tenants := []string{"t01", "t02"}
	var release []func()
	for i, tag := range []string{"1", "2", "3"} {
		id := "web-" + tag
		h.webPlan(id, tag, tenants, "")
		if i < 2 {
			release = append(release, h.plans.Hold(id))
		}
	}
	old1, old2 := h.deployMerge("web-1", 1), h.deployMerge("web-2", 2)
	if st := h.result(h.deployMerge("web-3", 3)); st.Phase != workflows.PhaseSucceeded {
		t.Fatalf("web-3: %s %+v", st.Phase, st.Tenants)
	}
	release[1]()
	release[0]()
	for i, run := range []client.WorkflowRun{old1, old2} {
		st := h.result(run)
		if st.Phase != workflows.PhaseSucceeded || st.Superseded != 2 || st.Counts[workflows.TenantSuperseded] != 2 {
			t.Errorf("web-%d: %s superseded %d %+v", i+1, st.Phase, st.Superseded, st.Tenants)
		}
		for _, s := range workflows.SupersededSteps(st) {
			if s.By.Deployment != "web-3" && s.By.Deployment != "web-2" {
				t.Errorf("web-%d: %s superseded by %+v", i+1, s.Tenant, s.By)
			}
		}
	}
	for _, tn := range tenants {
		d, err := cl.Typed.AppsV1().Deployments("ns-"+tn).Get(context.Background(), "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if img := d.Spec.Template.Spec.Containers[0].Image; img != "registry.example.com/web:3" {
			t.Errorf("%s runs %s, want web:3", tn, img)
		}
		if a := d.Annotations; a[kube.AnnotationDeployment] != "web-3" || a[kube.AnnotationGeneration] != "3" {
			t.Errorf("%s's Deployment is stamped %v", tn, a)
		}
	}
}
