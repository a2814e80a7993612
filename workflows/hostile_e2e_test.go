package workflows_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prdeploy/prdeploy/internal/githubsim"
	"github.com/prdeploy/prdeploy/internal/prepare"
)

// aliasBomb is issue 20's plan: about 150 KB, one long list under an
// anchor used by 300 aliases (millions of values once expanded).
func aliasBomb(id string) string {
	var b strings.Builder
	b.WriteString("apiVersion: prdeploy.dev/v1\nkind: DeployPlan\nmetadata: {name: " + id + "}\nspec:\n  clusters: [prod-eu]\n  services: [{name: web, tag: \"7.0.0\"}]\n")
	b.WriteString("  tenants:\n    names: &t [")
	for i := range 23_500 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("globex")
	}
	b.WriteString("]\n  rollout:\n    waves:\n")
	for i := range 300 {
		fmt.Fprintf(&b, "      - {name: w%d, tenants: *t}\n", i)
	}
	return b.String()
}

// memory returns the memory the process holds from the OS (which grows
// with the peak heap) and the bytes allocated so far.
func memory() (sys, alloc uint64) {
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.Sys, m.TotalAlloc
}

// TestHostilePlansFailTheirPRCheckAlone is issue 20 end to end: a PR
// adding the alias plan and a 10 MB plan gets a failed plan check naming
// each file at its position, within seconds and without the worker's
// heap growing by more than 100 MB; the next PR's plan check still works.
func TestHostilePlansFailTheirPRCheckAlone(t *testing.T) {
	ctx := context.Background()
	h, gh, _ := githubWorld(t, "../examples/gitops-repo", nil)
	big := strings.Replace(e2ePlan, "name: web-7", "name: web-big", 1) + "# " + strings.Repeat("x", 10<<20) + "\n"
	if _, err := gh.Push(ctx, githubsim.PushSpec{Repo: "acme/deploys", Branch: "hostile", Author: "dan", Message: "two plans",
		Files: map[string]string{"deploys/alias.yaml": aliasBomb("web-alias"), "deploys/big.yaml": big}}); err != nil {
		t.Fatal(err)
	}
	sys0, alloc0 := memory()
	start := time.Now()
	pr, err := gh.OpenPullRequest(ctx, githubsim.PullRequestSpec{Repo: "acme/deploys", Head: "hostile", Base: "main", Title: "two plans", Author: "dan"})
	if err != nil {
		t.Fatal(err)
	}
	run := waitCheckRun(t, h, gh, pr.HeadSHA, prepare.PlanCheckName, func(r githubsim.CheckRun) bool { return r.Status == "completed" })
	took := time.Since(start)
	sys1, alloc1 := memory()
	grew := int64(sys1) - int64(sys0)
	t.Logf("hostile PR (a 150 KB alias plan and a 10 MB plan): plan check %s in %v; memory from the OS %+.1f MB, %.1f MB allocated (the simulated GitHub serving the PR included)",
		run.Conclusion, took.Round(time.Millisecond), float64(grew)/(1<<20), float64(alloc1-alloc0)/(1<<20))
	if run.Conclusion != "failure" {
		t.Fatalf("plan check of the hostile PR: %s %s\n%s", run.Conclusion, run.Title, run.Summary)
	}
	for _, want := range []string{"deploys/alias.yaml:", "once expanded", "deploys/big.yaml:1:1", "at most 1 MiB"} {
		if !strings.Contains(run.Summary, want) {
			t.Errorf("the plan check does not say %q:\n%s", want, run.Summary)
		}
	}
	// The simulated GitHub runs in this process and diffs the 10 MB file for
	// the PR's JSON; prdeploy's own share is measured in planner and gitrepo.
	if took > 30*time.Second || grew > 300<<20 {
		t.Errorf("the hostile PR cost %v and %d MB more memory; want seconds and under 300 MB", took, grew>>20)
	}
	// The worker is fine: the next PR is checked as usual.
	ok, _ := openPlanPR(t, gh, "web-next", "cy", githubsim.PushSpec{Message: "web 7", Files: map[string]string{"deploys/web-next.yaml": planNamed("web-next")}})
	if r := waitCheckRun(t, h, gh, ok.HeadSHA, prepare.PlanCheckName, func(r githubsim.CheckRun) bool { return r.Status == "completed" }); r.Conclusion != "success" {
		t.Fatalf("the next PR's plan check: %s %s\n%s", r.Conclusion, r.Title, r.Summary)
	}
}
