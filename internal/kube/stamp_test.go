package kube

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/prdeploy/prdeploy/workflows"
)

// TestStampsRecordMergeOrder: an ordered deployment stamps the objects
// of its service (not the shared Namespace) with annotations owned by
// prdeploy's field manager; LiveStamp reads the newest; a newer merge
// of the same manifests re-stamps them without counting a change; a
// rollback stamps what it restores with the rolling-back deployment; a
// rollback that deletes everything leaves a tombstone.
func TestStampsRecordMergeOrder(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	store := NewMemoryStore()
	cl := &Cluster{Clients: oneCluster{c}, Store: store}
	ordered := func(deployment string, gen int64, image string) workflows.ServiceTarget {
		tg := stage(t, store, deployment, "tenant-order", service("tenant-order", image, ""))
		tg.Merge, tg.Generation = strings.Repeat("ab", 20), gen
		return tg
	}
	if s, err := cl.LiveStamp(ctx, ordered("web-5", 5, "v1")); err != nil || s != nil {
		t.Fatalf("nothing live yet: %+v %v", s, err)
	}
	if _, _, err := deploy(t, cl, ordered("web-6", 6, "v2")); err != nil {
		t.Fatal(err)
	}
	d, err := c.Typed.AppsV1().Deployments("tenant-order").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if a := d.Annotations; a[AnnotationDeployment] != "web-6" || a[AnnotationGeneration] != "6" || a[AnnotationMerge] != "abababababab" {
		t.Errorf("the Deployment's annotations: %v", a)
	}
	owned := false
	for _, m := range d.ManagedFields {
		if m.Manager == FieldManager && m.FieldsV1 != nil && strings.Contains(m.FieldsV1.GetRawString(), `"f:prdeploy.dev/generation"`) {
			owned = true
		}
		if m.Manager != FieldManager && m.FieldsV1 != nil && strings.Contains(m.FieldsV1.GetRawString(), "prdeploy.dev/generation") {
			t.Errorf("manager %s owns the stamp", m.Manager)
		}
	}
	if !owned {
		t.Errorf("prdeploy's field manager does not own the stamp: %+v", d.ManagedFields)
	}
	ns, _ := c.Typed.CoreV1().Namespaces().Get(ctx, "tenant-order", metav1.GetOptions{})
	if _, ok := ns.Annotations[AnnotationGeneration]; ok {
		t.Errorf("the shared Namespace is stamped: %v", ns.Annotations)
	}
	before := c.Requests()
	if s, err := cl.LiveStamp(ctx, ordered("web-5", 5, "v1")); err != nil || s == nil || s.Deployment != "web-6" || s.Generation != 6 {
		t.Fatalf("LiveStamp after web-6: %+v %v", s, err)
	}
	t.Logf("apiserver requests to read a service's live stamp (2 namespaced objects): %d", c.Requests()-before)

	// The same manifests from a newer merge: stamped, but no change.
	again := ordered("web-7", 7, "v2")
	_, res, err := deploy(t, cl, again)
	if err != nil {
		t.Fatal(err)
	}
	if res.Configured != 0 || res.Created != 0 || res.Unchanged != 3 {
		t.Errorf("re-stamping counted as a change: %+v", res)
	}
	if s, _ := cl.LiveStamp(ctx, again); s == nil || s.Generation != 7 {
		t.Errorf("after web-7: %+v", s)
	}
	// Rolling web-7 back restores web-6's objects, stamped by web-7.
	if err := cl.Rollback(ctx, again, nil, nil); err != nil {
		t.Fatal(err)
	}
	if s, _ := cl.LiveStamp(ctx, again); s == nil || s.Deployment != "web-7" || s.Generation != 7 || liveImage(t, c, "tenant-order") != "v2" {
		t.Errorf("after web-7's rollback: %+v", s)
	}

	// A first deploy rolled back leaves nothing but its tombstone.
	fresh := stage(t, store, "web-3", "tenant-fresh", service("tenant-fresh", "v1", ""))
	fresh.Merge, fresh.Generation = strings.Repeat("cd", 20), 3
	if _, _, err := deploy(t, cl, fresh); err != nil {
		t.Fatal(err)
	}
	if err := cl.Rollback(ctx, fresh, nil, nil); err != nil {
		t.Fatal(err)
	}
	if s, err := cl.LiveStamp(ctx, fresh); err != nil || s == nil || s.Deployment != "web-3" || s.Generation != 3 {
		t.Errorf("after a rollback to nothing: %+v %v", s, err)
	}
}
