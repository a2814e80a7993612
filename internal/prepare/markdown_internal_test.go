package prepare

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prdeploy/prdeploy/planner"
	"github.com/prdeploy/prdeploy/workflows"
)

// TestSummaryFitsGitHubsLimit: 3,000 tenants with different changes of 50
// fields each, in two plans and the next deploys, fit one check-run
// summary: as many groups as fit, each preview a fair share, and where
// the rest are.
func TestSummaryFitsGitHubsLimit(t *testing.T) {
	previews := func(prefix string) []planner.TenantPreview {
		var ps []planner.TenantPreview
		for i := range 1000 {
			p := planner.TenantPreview{Tenant: fmt.Sprintf("%s-%04d", prefix, i), Namespace: "ns", Status: planner.PreviewOK}
			o := planner.ObjectPreview{Service: "web", Kind: "ConfigMap", Name: "web-config", Action: planner.PreviewConfigured, MoreFields: 3}
			for j := range planner.MaxPreviewFields {
				o.Fields = append(o.Fields, planner.FieldChange{Path: fmt.Sprintf(".data.KEY_%02d", j), Op: planner.FieldChanged, Old: "a", New: fmt.Sprintf("value-%d-%d", i, j)})
			}
			p.Objects = []planner.ObjectPreview{o}
			ps = append(ps, p)
		}
		return ps
	}
	at := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	v := checkView{BaseRef: "main",
		Plans: []planView{
			{File: "deploys/a.yaml", Plan: "### Deployment `a`\n", Decision: "**Policy:** allowed.\n", Locks: locksView{Off: true},
				Preview: newPreviewView(previews("a"), at, 0, "`prdeploy plan diff deploys/a.yaml` prints every tenant")},
			{File: "deploys/b.yaml", Plan: "### Deployment `b`\n", Decision: "**Policy:** allowed.\n", Locks: locksView{Off: true},
				Preview: newPreviewView(previews("b"), at, 0, "`prdeploy plan diff deploys/b.yaml` prints every tenant")},
		},
		Next: &nextView{Inputs: "`services/web/configmap.yaml`", Pairs: []pairView{{Service: "web", Tenants: []string{"n-0000"}}},
			Preview: newPreviewView(previews("n"), at, 0, "`prdeploy plan diff --next` prints every tenant")},
	}
	limit := workflows.MaxReportText - 400
	got := renderCheck(v, limit)
	if len(got) > limit {
		t.Fatalf("the summary is %d bytes, over %d", len(got), limit)
	}
	for _, want := range []string{"`a-0000`", "`b-0000`", "`n-0000`", "groups of tenants are not shown here (GitHub's size limit): `prdeploy plan diff deploys/a.yaml` prints every tenant",
		"`prdeploy plan diff deploys/b.yaml` prints every tenant", "`prdeploy plan diff --next` prints every tenant"} {
		if !strings.Contains(got, want) {
			t.Errorf("the summary lacks %q", want)
		}
	}
	shown := 0
	for _, p := range []*previewView{v.Plans[0].Preview, v.Plans[1].Preview, v.Next.Preview} {
		if len(p.Shown) < 3 || p.More != 1000-len(p.Shown) {
			t.Errorf("shown %d, more %d", len(p.Shown), p.More)
		}
		shown += len(p.Shown)
	}
	if len(got) < limit*9/10 {
		t.Errorf("the summary uses %d of %d bytes: groups that fit were left out", len(got), limit)
	}
	t.Logf("%d of 3000 groups shown in %d bytes", shown, len(got))
}

// TestFenceCannotBeClosedByAValue: a value with backticks does not end
// the diff's code block.
func TestFenceCannotBeClosedByAValue(t *testing.T) {
	got := fence([]string{"~ ConfigMap x", "    .data.a: ``` → ````"}, "diff")
	if !strings.HasPrefix(got, "`````diff\n") || !strings.HasSuffix(got, "\n`````") {
		t.Errorf("fence:\n%s", got)
	}
}
