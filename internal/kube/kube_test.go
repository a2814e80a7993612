// Tests against a real local control plane (etcd, kube-apiserver,
// controller-manager, scheduler, kwok), started once for the package by
// kubetest.Main. Without its binaries (`make kube-binaries`) they are
// skipped, unless PRDEPLOY_REAL=required.
package kube

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/prdeploy/prdeploy/internal/kube/kubetest"
	"github.com/prdeploy/prdeploy/workflows"
)

var (
	controlPlane *kubetest.ControlPlane
	noPlaneWhy   string
)

func TestMain(m *testing.M) { kubetest.Main(m, &controlPlane, &noPlaneWhy) }

func newClient(t *testing.T) *Client {
	t.Helper()
	cfg, err := kubetest.Need(t, controlPlane, noPlaneWhy).Config()
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// oneCluster gives the same client for every cluster name.
type oneCluster struct{ c *Client }

func (o oneCluster) For(string, string) (*Client, error) { return o.c, nil }

// service renders a tenant's "web" service as the planner would: its
// namespace, a config map and a 3-replica Deployment, labelled.
func service(ns, image string, extra string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata: {name: %[1]s}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config, namespace: %[1]s, labels: {prdeploy.dev/service: web}}
data: {LOG_LEVEL: info}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: %[1]s, labels: {prdeploy.dev/service: web, prdeploy.dev/tenant: %[1]s}}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
%[3]s
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "registry.example.com/web:%[2]s"}]}
`, ns, image, extra)
}

// stage stores manifests as Prepare would and returns the target.
func stage(t *testing.T, store Store, deployment, ns, manifests string) workflows.ServiceTarget {
	t.Helper()
	data := []byte(manifests)
	b, err := store.Put(context.Background(), fmt.Sprintf("deploys/local/%s/%s/web/%s", deployment, ns, Digest(data)), data)
	if err != nil {
		t.Fatal(err)
	}
	return workflows.ServiceTarget{Deployment: deployment, Cluster: "local", Tenant: ns, Namespace: ns, Service: "web",
		ManifestRef: b.Key, ManifestDigest: b.Digest}
}

func liveImage(t *testing.T, c *Client, ns string) string {
	t.Helper()
	d, err := c.Typed.AppsV1().Deployments(ns).Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(d.Spec.Template.Spec.Containers[0].Image, "registry.example.com/web:")
}

// deploy runs what the Apply and WaitRollout activities run.
func deploy(t *testing.T, cl *Cluster, tg workflows.ServiceTarget) (workflows.SnapshotRef, workflows.ApplyResult, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	snap, err := cl.Snapshot(ctx, tg)
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	res, err := cl.Apply(ctx, tg)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	return snap, res, cl.WaitRollout(ctx, tg, nil)
}

func TestApplyChangeSetsAndConflicts(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	apply := func(image string, force bool) ([]Change, error) {
		return c.Apply(ctx, mustDecode(t, service("tenant-acme", image, "")), force)
	}
	for _, step := range []struct{ image, want string }{
		{"1", "Namespace=created ConfigMap=created Deployment=created"},
		{"1", "Namespace=unchanged ConfigMap=unchanged Deployment=unchanged"},
		{"2", "Namespace=unchanged ConfigMap=unchanged Deployment=configured"},
	} {
		cs, err := apply(step.image, false)
		if err != nil {
			t.Fatal(err)
		}
		if got := actions(cs); got != step.want {
			t.Errorf("apply image %s: %s, want %s", step.image, got, step.want)
		}
	}
	if err := c.WaitHealthy(ctx, mustDecode(t, service("tenant-acme", "2", ""))[2:], nil); err != nil {
		t.Fatal(err)
	}
	// Someone scales by hand with their own field manager: prdeploy's next
	// apply of a different replica count is a conflict naming them.
	scaled := mustDecode(t, service("tenant-acme", "2", ""))[2]
	scaled.Object["spec"] = map[string]any{"replicas": int64(5)}
	ri, _ := c.resource(scaled)
	if _, err := ri.Apply(ctx, "web", scaled, metav1.ApplyOptions{FieldManager: "sre-hand-edit", Force: true}); err != nil {
		t.Fatal(err)
	}
	_, err := apply("2", false)
	var conflict *ConflictError
	if err == nil || !strings.Contains(err.Error(), `"sre-hand-edit"`) || !strings.Contains(err.Error(), ".spec.replicas") || !errors.As(err, &conflict) {
		t.Fatalf("want a conflict naming sre-hand-edit and .spec.replicas, got %v", err)
	}
	if Retryable(err) {
		t.Errorf("a conflict is not retryable: %v", err)
	}
	t.Logf("conflict as users see it: %v", err)
	cs, err := apply("2", true)
	if err != nil || actions(cs) != "Namespace=unchanged ConfigMap=unchanged Deployment=configured" {
		t.Fatalf("forced apply: %s %v", actions(cs), err)
	}
}

// TestDeployThreeTenantsAndRollBack deploys a service to three tenant
// namespaces, waits for every rollout, deploys a new image to one, and
// rolls it back to exactly what was live.
func TestDeployThreeTenantsAndRollBack(t *testing.T) {
	c := newClient(t)
	store := NewMemoryStore()
	cl := &Cluster{Clients: oneCluster{c}, Store: store}
	before := c.Requests()
	for _, ns := range []string{"tenant-a", "tenant-b", "tenant-c"} {
		snap, res, err := deploy(t, cl, stage(t, store, "d1", ns, service(ns, "v1", "")))
		if err != nil {
			t.Fatalf("%s: %v", ns, err)
		}
		if !snap.Empty || res.Created != 3 || len(res.Changes) != 3 {
			t.Errorf("%s first deploy: snapshot %+v, result %+v", ns, snap, res)
		}
		if got := liveImage(t, c, ns); got != "v1" {
			t.Errorf("%s runs %s, want v1", ns, got)
		}
	}
	t.Logf("apiserver requests per first rollout of a service: %.1f", float64(c.Requests()-before)/3)

	before = c.Requests()
	tg := stage(t, store, "d2", "tenant-a", service("tenant-a", "v2", ""))
	snap, res, err := deploy(t, cl, tg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("apiserver requests per image change of a service: %d", c.Requests()-before)
	if snap.Empty || res.Configured != 1 || res.Unchanged != 2 || res.Changes[0] != "configured Deployment tenant-a/web" {
		t.Errorf("second deploy: snapshot %+v, result %+v", snap, res)
	}
	// A retried Apply activity finds the first snapshot, not the new state.
	again, err := cl.Snapshot(context.Background(), tg)
	if err != nil || again != snap {
		t.Fatalf("snapshot retried: %+v %v, want %+v", again, err, snap)
	}
	if got := liveImage(t, c, "tenant-a"); got != "v2" {
		t.Fatalf("tenant-a runs %s, want v2", got)
	}

	var progress []string
	if err := cl.Rollback(context.Background(), tg, nil, func(d string) { progress = append(progress, d) }); err != nil {
		t.Fatal(err)
	}
	if got := liveImage(t, c, "tenant-a"); got != "v1" {
		t.Errorf("after rollback tenant-a runs %s, want v1", got)
	}
	d, _ := c.Typed.AppsV1().Deployments("tenant-a").Get(context.Background(), "web", metav1.GetOptions{})
	if h := DeploymentHealth(d); h.Status != Healthy {
		t.Errorf("after rollback: %s %s", h.Status, h.Message)
	}
	if liveImage(t, c, "tenant-b") != "v1" || liveImage(t, c, "tenant-c") != "v1" {
		t.Error("a rollback of tenant-a touched another tenant")
	}
}

// TestRollbackOfAFirstDeployDeletesWhatItCreated: nothing was live, so a
// rollback deletes the deploy's objects but keeps the namespace.
func TestRollbackOfAFirstDeployDeletesWhatItCreated(t *testing.T) {
	c := newClient(t)
	store := NewMemoryStore()
	cl := &Cluster{Clients: oneCluster{c}, Store: store}
	tg := stage(t, store, "d1", "tenant-new", service("tenant-new", "v1", ""))
	if _, _, err := deploy(t, cl, tg); err != nil {
		t.Fatal(err)
	}
	if err := cl.Rollback(context.Background(), tg, nil, nil); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	d, err := c.Typed.AppsV1().Deployments("tenant-new").Get(ctx, "web", metav1.GetOptions{})
	if err == nil && d.DeletionTimestamp == nil {
		t.Error("the Deployment the deploy created is still there")
	}
	if _, err := c.Typed.CoreV1().Namespaces().Get(ctx, "tenant-new", metav1.GetOptions{}); err != nil {
		t.Errorf("the namespace must stay: %v", err)
	}
}

// TestFailingImage: pods that never become ready fail the rollout by its
// progress deadline, with the reason; podsAvailable fails sooner, naming
// the pod's waiting reason; a rollback brings the old image back healthy.
func TestFailingImage(t *testing.T) {
	c := newClient(t)
	store := NewMemoryStore()
	cl := &Cluster{Clients: oneCluster{c}, Store: store}
	pods := &PodsAvailable{Clients: oneCluster{c}}
	check := workflows.CheckTarget{Cluster: "local", Tenant: "tenant-f", Namespace: "tenant-f", Services: []string{"web"}, MinReadyRatio: 1}
	if _, _, err := deploy(t, cl, stage(t, store, "d1", "tenant-f", service("tenant-f", "v1", "  progressDeadlineSeconds: 3"))); err != nil {
		t.Fatal(err)
	}
	if r, err := pods.Probe(context.Background(), workflows.CheckPodsAvailable, check); err != nil || !r.OK {
		t.Fatalf("healthy service: podsAvailable %+v %v", r, err)
	}

	tg := stage(t, store, "d2", "tenant-f", service("tenant-f", "broken", "  progressDeadlineSeconds: 3"))
	start := time.Now()
	_, _, err := deploy(t, cl, tg)
	var rollout *RolloutError
	var perm workflows.PermanentError
	if !errors.As(err, &rollout) || !errors.As(err, &perm) || !strings.Contains(err.Error(), "exceeded its progress deadline") {
		t.Fatalf("want a permanent rollout failure by progress deadline, got %v", err)
	}
	t.Logf("failed after %v: %v", time.Since(start).Round(100*time.Millisecond), err)
	r, err := pods.Probe(context.Background(), workflows.CheckPodsAvailable, check)
	if err != nil || r.OK || !strings.Contains(r.Reason, "ImagePullBackOff") {
		t.Fatalf("podsAvailable during a broken rollout: %+v %v", r, err)
	}
	t.Logf("podsAvailable: %s", r.Reason)

	if err := cl.Rollback(context.Background(), tg, nil, nil); err != nil {
		t.Fatal(err)
	}
	if got := liveImage(t, c, "tenant-f"); got != "v1" {
		t.Fatalf("after rollback: %s, want v1", got)
	}
}

// TestPodsAvailableFailsForReal: crash-looping pods fail at once; pods
// that cannot be scheduled fail by the ratio.
func TestPodsAvailableFailsForReal(t *testing.T) {
	c := newClient(t)
	ctx := context.Background()
	pods := &PodsAvailable{Clients: oneCluster{c}}
	if _, err := c.Apply(ctx, mustDecode(t, service("tenant-crash", "crashloop", "")), false); err != nil {
		t.Fatal(err)
	}
	check := workflows.CheckTarget{Cluster: "local", Namespace: "tenant-crash", Services: []string{"web"}, MinReadyRatio: 0.5}
	r := waitProbe(t, pods, check, func(r workflows.CheckResult) bool { return strings.Contains(r.Reason, "CrashLoopBackOff") })
	t.Logf("crash loop: %s", r.Reason)

	unschedulable := strings.Replace(service("tenant-pending", "v1", ""), "spec: {containers:", "spec: {nodeSelector: {pool: none}, containers:", 1)
	if _, err := c.Apply(ctx, mustDecode(t, unschedulable), false); err != nil {
		t.Fatal(err)
	}
	check.Namespace = "tenant-pending"
	r = waitProbe(t, pods, check, func(r workflows.CheckResult) bool {
		return r.Reason == "Deployment tenant-pending/web has 0 of 3 pods available (minimum 50%)"
	})
	// Another service's workloads are not this check's business.
	check.Services = []string{"api"}
	if r, err := pods.Probe(ctx, workflows.CheckPodsAvailable, check); err != nil || !r.OK {
		t.Fatalf("no api workloads: %+v %v", r, err)
	}
}

// waitProbe probes until ok says the result is the expected one (pods
// take a moment to be created), failing after 30 s.
func waitProbe(t *testing.T, p *PodsAvailable, ct workflows.CheckTarget, ok func(workflows.CheckResult) bool) workflows.CheckResult {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last workflows.CheckResult
	for time.Now().Before(deadline) {
		r, err := p.Probe(context.Background(), workflows.CheckPodsAvailable, ct)
		if err != nil {
			t.Fatal(err)
		}
		if !r.OK && ok(r) {
			return r
		}
		last = r
		time.Sleep(100 * time.Millisecond) // polling the cluster, as the check does
	}
	t.Fatalf("probe never gave the expected failure; last %+v", last)
	return last
}

// TestWaitSurvivesApiserverRestart stops the apiserver while a rollout is
// being waited for, starts it again a few seconds later, and the wait
// ends in success.
func TestWaitSurvivesApiserverRestart(t *testing.T) {
	c := newClient(t)
	store := NewMemoryStore()
	cl := &Cluster{Clients: oneCluster{c}, Store: store}
	// minReadySeconds holds the rollout open long enough to stop the
	// apiserver in the middle of it.
	tg := stage(t, store, "d1", "tenant-o", service("tenant-o", "v1", "  minReadySeconds: 4"))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := cl.Apply(ctx, tg); err != nil {
		t.Fatal(err)
	}
	old := HeartbeatEvery
	HeartbeatEvery = 200 * time.Millisecond
	defer func() { HeartbeatEvery = old }()
	reports := make(chan string, 1000)
	done := make(chan error, 1)
	go func() { done <- cl.WaitRollout(ctx, tg, func(d string) { reports <- d }) }()

	// Wait until the wait is under way, then stop the apiserver.
	for d := range reports {
		if strings.Contains(d, "tenant-o/web") {
			break
		}
	}
	if err := controlPlane.StopComponent("kube-apiserver"); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	retrying := 0
	for retrying < 3 {
		select {
		case d := <-reports:
			if strings.Contains(d, "retrying") {
				retrying++
			}
		case err := <-done:
			t.Fatalf("the wait ended while the apiserver was down: %v", err)
		}
	}
	if err := controlPlane.StartComponent("kube-apiserver"); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("the wait did not survive the restart: %v", err)
	}
	t.Logf("apiserver down for %v; the wait rode it out with %d retry reports", time.Since(stopped).Round(100*time.Millisecond), retrying)
	d, _ := c.Typed.AppsV1().Deployments("tenant-o").Get(ctx, "web", metav1.GetOptions{})
	if h := DeploymentHealth(d); h.Status != Healthy {
		t.Fatalf("after the wait: %s %s", h.Status, h.Message)
	}
}

// TestRestartIsIdempotent restarts a service twice with the same restart
// id: one new pod template revision, then nothing.
func TestRestartIsIdempotent(t *testing.T) {
	c := newClient(t)
	store := NewMemoryStore()
	cl := &Cluster{Clients: oneCluster{c}, Store: store}
	if _, _, err := deploy(t, cl, stage(t, store, "d1", "tenant-r", service("tenant-r", "v1", ""))); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	gen := func() int64 {
		d, err := c.Typed.AppsV1().Deployments("tenant-r").Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return d.Generation
	}
	g0 := gen()
	// A restart has no manifests: it finds the service's workloads by label.
	tg := workflows.ServiceTarget{Deployment: "restart-1", Cluster: "local", Tenant: "tenant-r", Namespace: "tenant-r", Service: "web"}
	for range 2 {
		if err := cl.Restart(ctx, tg); err != nil {
			t.Fatal(err)
		}
		if err := cl.WaitRollout(ctx, tg, nil); err != nil {
			t.Fatal(err)
		}
	}
	if g := gen(); g != g0+1 {
		t.Fatalf("generation %d → %d, want one new revision", g0, g)
	}
}

func TestManifestsOutsideTheTenantAreRefused(t *testing.T) {
	store := NewMemoryStore()
	cl := &Cluster{Clients: oneCluster{newClient(t)}, Store: store}
	tg := stage(t, store, "d1", "tenant-a", service("tenant-b", "v1", ""))
	_, err := cl.Apply(context.Background(), tg)
	var perm workflows.PermanentError
	if !errors.As(err, &perm) || !strings.Contains(err.Error(), `Namespace tenant-b: a tenant's manifests may hold its own Namespace tenant-a only (boundary rule "namespace")`) ||
		!strings.Contains(err.Error(), `Deployment tenant-b/web: the tenant's namespace is tenant-a (boundary rule "namespace")`) {
		t.Fatalf("got %v", err)
	}
	tg.ManifestDigest = Digest([]byte("something else"))
	tg.Deployment = "d2"
	if _, err := cl.Apply(context.Background(), tg); err == nil || !strings.Contains(err.Error(), "does not match the reference's") || !errors.As(err, &perm) {
		t.Fatalf("digest mismatch: %v", err)
	}
}

func actions(cs []Change) string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Kind+"="+string(c.Action))
	}
	return strings.Join(out, " ")
}

func mustDecode(t testing.TB, s string) []*unstructured.Unstructured {
	t.Helper()
	objs, err := Decode([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return objs
}
