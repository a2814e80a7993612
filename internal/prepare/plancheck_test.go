package prepare_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/prdeploy/prdeploy/internal/gitrepo/gittest"
	"github.com/prdeploy/prdeploy/internal/prepare"
	"github.com/prdeploy/prdeploy/workflows"
)

// codeHost records what a check publishes, like GitHub would keep it.
type codeHost struct {
	mu       sync.Mutex
	runs     map[string]workflows.CheckRun // by name/external id/sha
	comments map[string]string             // by repo#pr/key
	edits    int
}

func (h *codeHost) PublishCheckRun(_ context.Context, c workflows.CheckRun) (int64, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.runs == nil {
		h.runs = map[string]workflows.CheckRun{}
	}
	h.runs[c.Name+"/"+c.ExternalID+"/"+c.HeadSHA] = c
	return int64(len(h.runs)), nil
}

func (h *codeHost) UpsertComment(_ context.Context, repo string, pr int, key, body string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.comments == nil {
		h.comments = map[string]string{}
	}
	k := repo + "#" + key
	if _, ok := h.comments[k]; ok {
		h.edits++
	}
	h.comments[k] = body
	return nil
}

func (h *codeHost) Reply(context.Context, string, int, string) error   { return nil }
func (h *codeHost) React(context.Context, string, int64, string) error { return nil }

// commitOnTop writes files over the repository's work tree and commits.
func commitOnTop(t *testing.T, dir string, files map[string]string) string {
	t.Helper()
	return gittest.Commit(t, dir, "", files, "change")
}

const newPlan = `apiVersion: prdeploy.dev/v1
kind: DeployPlan
metadata: {name: web-7}
spec:
  clusters: [prod-eu]
  services: [{name: web, tag: "7.0.0"}]
  tenants: {names: [globex, initech]}
  rollout: {canary: {tenants: [globex]}, approval: after-canary}
`

// TestPlanCheckOnAPullRequest: a PR adds a good plan and a broken one, and
// edits the policies to let its author approve. The check fails with an
// annotation at the broken line, shows the good plan and the decision of
// the BASE policies (two SREs, author excluded), and one comment is kept.
func TestPlanCheckOnAPullRequest(t *testing.T) {
	ctx := context.Background()
	repos, base := exampleRepo(t, nil)
	dir := repos.Dirs["acme/deploys"]
	approvals, err := os.ReadFile(filepath.Join(dir, "policies/approvals.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	head := commitOnTop(t, dir, map[string]string{
		"deploys/web-7.yaml":      newPlan,
		"deploys/broken.yaml":     "apiVersion: prdeploy.dev/v1\nkind: DeployPlan\nmetadata: {name: broken}\nspec:\n  clusters: [prod-eu]\n  servces: []\n",
		"policies/approvals.yaml": strings.ReplaceAll(string(approvals), "allowAuthor: false", "allowAuthor: true"),
	})
	host := &codeHost{}
	checker := &prepare.PlanChecker{Repos: repos, Checks: host, Comments: host, Now: at("2026-11-24T10:00:00Z")}
	in := workflows.PlanPRInput{Repo: "acme/deploys", PR: 31, HeadSHA: head, BaseSHA: base, BaseRef: "main", Author: "cy"}
	res, err := checker.CheckPR(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if res.Conclusion != "failure" || len(res.Plans) != 2 || len(res.Deployments) != 1 || res.Deployments[0] != "web-7" {
		t.Fatalf("result %+v", res)
	}
	run := host.runs[prepare.PlanCheckName+"/plan:acme/deploys#31/"+head]
	if run.Report.Conclusion != "failure" || run.Report.Title != "2 plans cannot deploy as they are" {
		t.Fatalf("check run %+v", run.Report)
	}
	found := false
	for _, a := range run.Annotations {
		if a.Path != "deploys/broken.yaml" || a.Level != "failure" {
			t.Errorf("annotation %+v", a)
		}
		found = found || (a.StartLine == 6 && strings.Contains(a.Message, `unknown field "servces"; did you mean "services"?`))
	}
	if len(run.Annotations) != 3 || !found {
		t.Fatalf("annotations %+v", run.Annotations)
	}
	for _, want := range []string{"## `deploys/web-7.yaml`", "globex", "prod-needs-sre"} {
		if !strings.Contains(run.Report.Summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, run.Report.Summary)
		}
	}
	// The base policies judge: the author is still excluded.
	if strings.Contains(run.Report.Summary, "author may approve") || !strings.Contains(host.comments["acme/deploys#plan"], "policies from `main`") {
		t.Errorf("the head's policies were used, or the comment is missing:\n%s", run.Report.Summary)
	}

	// The author fixes the broken plan: the check passes, the comment is
	// edited in place.
	fixed := commitOnTop(t, dir, map[string]string{"deploys/broken.yaml": strings.Replace(newPlan, "web-7", "web-8", 1)})
	in.HeadSHA = fixed
	res, err = checker.CheckPR(ctx, in)
	if err != nil || res.Conclusion != "success" {
		t.Fatalf("fixed: %+v %v", res, err)
	}
	if host.edits != 1 || len(host.comments) != 1 {
		t.Fatalf("comments %d, edits %d", len(host.comments), host.edits)
	}

	// A PR that changes no plan gets nothing.
	in.HeadSHA = base
	res, err = checker.CheckPR(ctx, in)
	if err != nil || len(res.Plans) != 0 || res.Conclusion != "" {
		t.Fatalf("no plans: %+v %v", res, err)
	}
}

// TestPlansInMerge: the plans a merge commit adds or changes compared with
// its first parent, with their ids and clusters; unchanged plans are not
// redeployed.
func TestPlansInMerge(t *testing.T) {
	repos, _ := exampleRepo(t, nil)
	dir := repos.Dirs["acme/deploys"]
	merged := commitOnTop(t, dir, map[string]string{"deploys/web-7.yaml": newPlan})
	m := &prepare.MergeReader{Repos: repos, History: repos}
	plans, err := m.PlansInMerge(context.Background(), "acme/deploys", merged)
	if err != nil {
		t.Fatal(err)
	}
	if len(plans) != 1 || plans[0].Path != "deploys/web-7.yaml" || plans[0].Deployment != "web-7" || len(plans[0].Clusters) != 1 || plans[0].Clusters[0] != "prod-eu" {
		t.Fatalf("plans %+v", plans)
	}
}

type heldLocks []workflows.HeldLock

func (h heldLocks) HeldLocks(context.Context, []workflows.LockKey) ([]workflows.HeldLock, error) {
	return h, nil
}

// TestPlanCheckShowsHeldLocks: the summary says which locks the rollout
// would wait on, and who holds them.
func TestPlanCheckShowsHeldLocks(t *testing.T) {
	repos, base := exampleRepo(t, nil)
	head := commitOnTop(t, repos.Dirs["acme/deploys"], map[string]string{"deploys/web-7.yaml": newPlan})
	host := &codeHost{}
	locks := heldLocks{{Key: workflows.LockKey{Cluster: "prod-eu", Tenant: "globex", Service: "web"}, Holder: "deploy:prod-eu/web-6 (tenant globex)", Since: "2026-11-24T09:58:00Z", Queued: 1,
		Merges: []workflows.Stamp{{Deployment: "web-6", Merge: "0a1b2c3d4e5f", Generation: 41}, {Deployment: "web-6b", Merge: "1b2c3d4e5f60", Generation: 42}}}}
	checker := &prepare.PlanChecker{Repos: repos, Checks: host, Comments: host, Locks: locks, Now: at("2026-11-24T10:00:00Z")}
	if _, err := checker.CheckPR(context.Background(), workflows.PlanPRInput{Repo: "acme/deploys", PR: 3, HeadSHA: head, BaseSHA: base, BaseRef: "main", Author: "cy"}); err != nil {
		t.Fatal(err)
	}
	summary := host.runs[prepare.PlanCheckName+"/plan:acme/deploys#3/"+head].Report.Summary
	if !strings.Contains(summary, "| `prod-eu/globex/web` | deploy:prod-eu/web-6 (tenant globex) | 2026-11-24T09:58:00Z | 1 | `web-6` (merge `0a1b2c3d4e5f`), `web-6b` (merge `1b2c3d4e5f60`) |") ||
		!strings.Contains(summary, "**Which wins:** merged now, this PR is the newest merge") {
		t.Fatalf("summary:\n%s", summary)
	}
}

// unreadableHead checks out every commit but one, which is larger than
// prdeploy reads.
type unreadableHead struct {
	prepare.Checkouts
	sha string
}

func (u unreadableHead) Checkout(ctx context.Context, repo, sha string) (fs.FS, error) {
	if sha == u.sha {
		return nil, workflows.Permanent(errors.New("the commit's files hold more than 256 MiB (at deploys/blob.bin)"))
	}
	return u.Checkouts.Checkout(ctx, repo, sha)
}

// TestPlanCheckOfAnUnreadablePR: a PR whose head cannot be read for good
// gets a failed plan check that says why, not silence; the error is
// permanent so the workflow stops.
func TestPlanCheckOfAnUnreadablePR(t *testing.T) {
	ctx := context.Background()
	repos, base := exampleRepo(t, nil)
	head := commitOnTop(t, repos.Dirs["acme/deploys"], map[string]string{"deploys/web-7.yaml": newPlan})
	host := &codeHost{}
	checker := &prepare.PlanChecker{Repos: unreadableHead{repos, head}, Checks: host, Comments: host, Now: at("2026-11-24T10:00:00Z")}
	_, err := checker.CheckPR(ctx, workflows.PlanPRInput{Repo: "acme/deploys", PR: 32, HeadSHA: head, BaseSHA: base, BaseRef: "main", Author: "cy"})
	if !errors.As(err, new(workflows.PermanentError)) {
		t.Fatalf("err = %v, want a permanent error", err)
	}
	run := host.runs[prepare.PlanCheckName+"/plan:acme/deploys#32/"+head]
	if run.Report.Conclusion != "failure" || !strings.Contains(run.Report.Summary, "more than 256 MiB") {
		t.Fatalf("check run %+v", run.Report)
	}
}
