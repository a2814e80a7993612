package payload

import (
	"context"
	"strings"
	"testing"

	"github.com/prdeploy/prdeploy/planner"
)

// TestPreviewsKeepTheLatestHead: a pull request's preview is stored
// encrypted, read back, and replaced by its next head's.
func TestPreviewsKeepTheLatestHead(t *testing.T) {
	ctx := context.Background()
	s, err := OpenMemory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p := Previews{Store: s}
	if _, ok, err := p.Preview(ctx, "acme/deploys", 7); ok || err != nil {
		t.Fatalf("a preview before any: %v %v", ok, err)
	}
	for _, sha := range []string{"aaa111", "bbb222"} {
		r := planner.PreviewReport{Repo: "acme/deploys", PR: 7, HeadSHA: sha, Plans: []planner.PreviewSection{{File: "deploys/web.yaml",
			Tenants: []planner.TenantPreview{{Tenant: "globex", Status: planner.PreviewOK}}}}}
		if err := p.SavePreview(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	got, ok, err := p.Preview(ctx, "acme/deploys", 7)
	if err != nil || !ok || got.HeadSHA != "bbb222" || got.Plans[0].Tenants[0].Tenant != "globex" {
		t.Fatalf("%+v %v %v", got, ok, err)
	}
	raw, err := s.bucket.ReadAll(ctx, PreviewKey("acme/deploys", 7))
	if err != nil || strings.Contains(string(raw), "globex") {
		t.Errorf("the stored object is not encrypted: %v", err)
	}
}
