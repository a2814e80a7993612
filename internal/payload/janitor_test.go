package payload

import (
	"context"
	"slices"
	"testing"

	"github.com/prdeploy/prdeploy/workflows"
)

func TestJanitorListsAndDeletesDeployments(t *testing.T) {
	ctx := context.Background()
	s, err := OpenMemory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{
		ObjectKey("prod-eu", "web-2", "acme", "web", "aa"), ObjectKey("prod-eu", "web-2", "beta", "web", "bb"),
		"deploys/prod-eu/web-2/plan.json", ObjectKey("prod-eu", "web-20", "acme", "web", "cc"),
		ObjectKey("prod-us", "web-2", "gamma", "web", "dd"),
	} {
		if _, err := s.Put(ctx, k, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	ds, err := s.StoredDeployments(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []workflows.StoredDeployment{{Cluster: "prod-eu", Deployment: "web-2"}, {Cluster: "prod-eu", Deployment: "web-20"}, {Cluster: "prod-us", Deployment: "web-2"}}
	if !slices.Equal(ds, want) {
		t.Fatalf("stored deployments %+v, want %+v", ds, want)
	}
	n, err := s.DeleteDeployment(ctx, workflows.StoredDeployment{Cluster: "prod-eu", Deployment: "web-2"})
	if err != nil || n != 3 {
		t.Fatalf("deleted %d, %v; want 3 (not web-20's)", n, err)
	}
	if ds, _ := s.StoredDeployments(ctx); len(ds) != 2 {
		t.Fatalf("left %+v", ds)
	}
}

// A workflow reference holds the key and digest only; the digest pins the
// content, so Get accepts it.
func TestGetWithKeyAndDigestOnly(t *testing.T) {
	ctx := context.Background()
	s, err := OpenMemory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := s.Put(ctx, "deploys/c/d/t/s/x", []byte("kind: ConfigMap\n"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, Ref{Key: ref.Key, Digest: ref.Digest})
	if err != nil || string(got) != "kind: ConfigMap\n" {
		t.Fatalf("%q %v", got, err)
	}
}
