package workflows_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/prdeploy/prdeploy/internal/temporalx"
	"github.com/prdeploy/prdeploy/workflows"
)

// fakeMerges says which plans a merge changed.
type fakeMerges map[string][]workflows.MergedPlan

func (f fakeMerges) PlansInMerge(_ context.Context, _ string, sha string) ([]workflows.MergedPlan, error) {
	return f[sha], nil
}

func (f fakeMerges) PlansSince(_ context.Context, _ string, sha, _ string) ([]workflows.MergedPlan, error) {
	return f[sha], nil
}

// recordingHost keeps check runs and comments as GitHub would.
type recordingHost struct {
	mu        sync.Mutex
	runs      map[string]workflows.CheckRun // by external id
	publishes int
	comments  []string
	keyed     map[string]int // comment key → index in comments
	reactions map[int64][]string
}

func (h *recordingHost) PublishCheckRun(_ context.Context, c workflows.CheckRun) (int64, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.runs == nil {
		h.runs = map[string]workflows.CheckRun{}
	}
	h.runs[c.ExternalID] = c
	h.publishes++
	return 1, nil
}

// UpsertComment keeps one comment per key, edited in place.
func (h *recordingHost) UpsertComment(_ context.Context, _ string, _ int, key, body string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if i, ok := h.keyed[key]; ok {
		h.comments[i] = body
		return nil
	}
	if h.keyed == nil {
		h.keyed = map[string]int{}
	}
	h.keyed[key] = len(h.comments)
	h.comments = append(h.comments, body)
	return nil
}
func (h *recordingHost) React(_ context.Context, _ string, id int64, reaction string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.reactions == nil {
		h.reactions = map[int64][]string{}
	}
	h.reactions[id] = append(h.reactions[id], reaction)
	return nil
}

func (h *recordingHost) Reply(_ context.Context, _ string, _ int, body string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.comments = append(h.comments, body)
	return nil
}

func (h *recordingHost) snapshot() (map[string]workflows.CheckRun, []string, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	runs := map[string]workflows.CheckRun{}
	for k, v := range h.runs {
		runs[k] = v
	}
	return runs, append([]string(nil), h.comments...), h.publishes
}

// TestMergeDeploysAndReports: a merged PR starts the plan's Orchestration
// and its reporter; the deploy check run follows the rollout to success,
// with milestone comments (merged, started, canary waiting, done) posted
// once each; merging another PR with the same deployment id is refused on
// the PR.
func TestMergeDeploysAndReports(t *testing.T) {
	host := &recordingHost{}
	merges := fakeMerges{
		"1111111111111111111111111111111111111111": {{Path: "deploys/web-9.yaml", Deployment: "web-9", Clusters: []string{"c1"}}},
		"2222222222222222222222222222222222222222": {{Path: "deploys/web-9.yaml", Deployment: "web-9", Clusters: []string{"c1"}}, {Path: "deploys/bad.yaml", Error: "deploys/bad.yaml:3:1: spec: unknown field"}},
	}
	h := newHarness(t, 100*time.Millisecond, 3, func(h *harness) {
		h.acts = &workflows.Activities{Plans: h.plans, Cluster: h.cluster, Probes: h.prober, Directory: h.dir,
			Merges: merges, CheckRuns: host, Comments: host, Statuses: temporalx.Statuses{Client: h.c}}
	})
	h.plan("web-9", `  services: [{name: web, tag: "9"}]
  tenants: {names: [t01, t02, t03]}
  rollout: {canary: {tenants: [t01]}, approval: after-canary}
`+noChecks)
	ctx := context.Background()
	merge := func(sha string) workflows.MergedPRResult {
		t.Helper()
		run, err := h.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.MergedPRWorkflowID("acme/deploys", 7, sha), TaskQueue: workflows.TaskQueue},
			workflows.MergedPRWorkflow, workflows.MergedPRInput{Repo: "acme/deploys", PR: 7, MergeSHA: sha, BaseRef: "main", Author: "author", MergedBy: "ana"})
		if err != nil {
			t.Fatal(err)
		}
		var res workflows.MergedPRResult
		if err := run.Get(ctx, &res); err != nil {
			t.Fatal(err)
		}
		return res
	}
	res := merge("1111111111111111111111111111111111111111")
	if len(res.Started) != 1 || res.Started[0] != "deploy:c1/web-9" {
		t.Fatalf("merge: %+v", res)
	}
	h.eventually("the canary gate to wait", 30*time.Second, func() bool {
		_, comments, _ := host.snapshot()
		for _, c := range comments {
			if strings.Contains(c, "waiting at gate `after-canary`") {
				return true
			}
		}
		return false
	})
	runs, _, _ := host.snapshot()
	if r := runs["deploy:c1/web-9"]; r.Name != workflows.DeployCheckName || r.Report.Conclusion != "action_required" || !strings.HasPrefix(r.Report.Actions[0].Identifier, workflows.ActionApprove+"@") {
		t.Fatalf("check run while waiting: %+v", r)
	}
	for _, who := range []string{"ana"} { // no rule names the gate: one approval opens it
		if _, err := h.update("web-9", workflows.UpdateApprove, workflows.ApproveRequest{Login: who, Source: "comment", SourceID: who}); err != nil {
			t.Fatal(err)
		}
	}
	h.eventually("the final check run", 60*time.Second, func() bool {
		runs, _, _ := host.snapshot()
		return runs["deploy:c1/web-9"].Report.Conclusion == "success"
	})
	// The reporter ends with the deployment.
	h.eventually("the reporter to end", 30*time.Second, func() bool {
		d, err := h.c.DescribeWorkflowExecution(ctx, workflows.ReportWorkflowID("c1", "web-9"), "")
		return err == nil && d.WorkflowExecutionInfo.CloseTime != nil
	})
	runs, comments, publishes := host.snapshot()
	final := runs["deploy:c1/web-9"].Report
	if final.Status != "completed" || len(final.Actions) != 0 || !strings.Contains(final.Title, "done, 3 of 3 tenants") {
		t.Fatalf("final: %+v", final)
	}
	want := []string{"merged at `111111111111`", "web-9` in `c1` started: 3 tenants", "waiting at gate `after-canary`", "web-9` in `c1` completed: 3 tenants"}
	if len(comments) != len(want) {
		t.Fatalf("comments:\n%s", strings.Join(comments, "\n---\n"))
	}
	// Each milestone once; "merged" (MergedPR) and "started" (the
	// reporter) come from two workflows, in either order.
	for _, w := range want {
		n := 0
		for _, c := range comments {
			if strings.Contains(c, w) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d comments with %q:\n%s", n, w, strings.Join(comments, "\n---\n"))
		}
	}
	t.Logf("%d check-run publishes for the whole deployment", publishes)

	// Another merge with the same deployment id: refused, said on the PR.
	res = merge("2222222222222222222222222222222222222222")
	if len(res.Started) != 0 || len(res.Refused) != 1 {
		t.Fatalf("second merge: %+v", res)
	}
	_, comments, _ = host.snapshot()
	last := comments[len(comments)-1]
	if !strings.Contains(last, "deployment id `web-9` already ran") || !strings.Contains(last, "`deploys/bad.yaml` does not load") {
		t.Fatalf("refusal comment: %s", last)
	}
}
