package workflows_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prdeploy/prdeploy/internal/githubsim"
	"github.com/prdeploy/prdeploy/workflows"
)

// orderFiles is a deploy repository of one cluster, three tenants and web.
var orderFiles = map[string]string{
	"fleet.yaml": `apiVersion: prdeploy.dev/v1
kind: Fleet
clusters: [{name: c1}]
services:
  - {name: web, image: registry.example.com/web}
tenants:
  - {name: t001, cluster: c1, namespace: ns-t001}
  - {name: t002, cluster: c1, namespace: ns-t002}
  - {name: t003, cluster: c1, namespace: ns-t003}
`,
	"services/web/kustomization.yaml": "resources: [deployment.yaml]\n",
	"services/web/deployment.yaml":    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: web, image: registry.example.com/web:1}]}\n",
}

// TestNewestMergeWinsThroughGitHub: three PRs, each a plan deploying a
// newer web to the same tenants, merged one after the other through the
// GitHub simulator; the first two prepare only after the third has
// finished. The merges' places come from the real git history (the GitHub
// client's Generation); the tenants end on the third merge's web, and the
// first two deployments' check runs and PR comments say, once per step,
// that they were superseded by web-3.
func TestNewestMergeWinsThroughGitHub(t *testing.T) {
	ctx := context.Background()
	h, gh, _ := githubWorld(t, "", orderFiles)
	release := map[string]func(){"web-1": h.prepareGate.Hold("web-1"), "web-2": h.prepareGate.Hold("web-2")}
	var prs []int
	var merges []string
	for i := 1; i <= 3; i++ {
		id := fmt.Sprintf("web-%d", i)
		plan := fmt.Sprintf("apiVersion: prdeploy.dev/v1\nkind: DeployPlan\nmetadata: {name: %s}\nspec:\n  clusters: [c1]\n  services: [{name: web, tag: \"%d\"}]\n  tenants: {names: [t001, t002, t003]}\n  rollout: {maxParallel: 1}\n%s", id, i+1, noChecks)
		if _, err := gh.Push(ctx, githubsim.PushSpec{Repo: "acme/deploys", Branch: id, Files: map[string]string{"deploys/" + id + ".yaml": plan}, Message: id}); err != nil {
			t.Fatal(err)
		}
		pr, err := gh.OpenPullRequest(ctx, githubsim.PullRequestSpec{Repo: "acme/deploys", Head: id, Base: "main", Title: id, Author: "cy"})
		if err != nil {
			t.Fatal(err)
		}
		prs = append(prs, pr.Number)
	}
	for i, n := range prs {
		method := "merge"
		if i == 1 {
			method = "squash"
		}
		sha, err := gh.MergePullRequest(ctx, "acme/deploys", n, githubsim.MergeOptions{Actor: "ana", Method: method})
		if err != nil {
			t.Fatal(err)
		}
		merges = append(merges, sha)
	}
	done := func(i int) githubsim.CheckRun {
		return waitCheckRun(t, h, gh, merges[i], workflows.DeployCheckName, func(r githubsim.CheckRun) bool { return r.Status == "completed" })
	}
	if r := done(2); r.Conclusion != "success" || !strings.Contains(r.Title, "done, 3 of 3 tenants") {
		t.Fatalf("web-3: %s %s", r.Conclusion, r.Title)
	}
	release["web-2"]()
	second := done(1)
	release["web-1"]()
	first := done(0)

	var gens []int64
	for i := 1; i <= 3; i++ {
		gens = append(gens, h.status(fmt.Sprintf("web-%d", i)).Request.Generation)
	}
	if gens[0] <= 0 || gens[0] >= gens[1] || gens[1] >= gens[2] {
		t.Errorf("generations %v do not follow the merges", gens)
	}
	for _, tn := range []string{"t001", "t002", "t003"} {
		if got := h.cluster.Live(tn, "web"); got != "registry.example.com/web:4" {
			t.Errorf("%s runs %s, want web:4 (web-3, merged last)", tn, got)
		}
	}
	neverBackInTime(t, h, []string{"t001", "t002", "t003"}, "web")
	for i, r := range []githubsim.CheckRun{first, second} {
		id := fmt.Sprintf("web-%d", i+1)
		if r.Conclusion != "success" || !strings.Contains(r.Title, "(3 superseded by newer merges)") {
			t.Errorf("%s check run: %s %s", id, r.Conclusion, r.Title)
		}
		for _, tn := range []string{"t001", "t002", "t003"} {
			line := "- `" + tn + "` web: superseded by `web-3` (merged after this one)"
			if n := strings.Count(r.Summary, line); n != 1 {
				t.Errorf("%s check run says %q %d times:\n%s", id, line, n, r.Summary)
			}
		}
		// The PR comments follow the check run.
		var comments []githubsim.Comment
		mentions := 0
		h.eventually(id+"'s completion comment", 30*time.Second, func() bool {
			var err error
			if comments, err = gh.Comments("acme/deploys", prs[i]); err != nil {
				return false
			}
			mentions = 0
			for _, c := range comments {
				mentions += strings.Count(c.Body, "superseded")
			}
			return mentions > 0
		})
		if mentions != 1 {
			var all []string
			for _, c := range comments {
				all = append(all, c.Body)
			}
			t.Errorf("%s's PR mentions superseded steps %d times, want once:\n%s", id, mentions, strings.Join(all, "\n---\n"))
		}
	}
}
