package workflows_test

import (
	"context"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prdeploy/prdeploy/internal/githubapp"
	"github.com/prdeploy/prdeploy/internal/githubsim"
	"github.com/prdeploy/prdeploy/internal/prepare"
	"github.com/prdeploy/prdeploy/workflows"
)

// Issue 13, end to end: the GitHub simulator (real git, signed webhooks),
// the webhook server, the real GitHub client reading the PR's facts, the
// embedded Temporal server. Each test is an attack by someone with write
// access, and what prdeploy does about it.

// weakPolicies replaces the example approvals with a rule under which
// dan alone may approve anything.
const weakPolicies = `apiVersion: prdeploy.dev/v1
kind: DeployPolicy
metadata: {name: production-approvals}
rules:
  - name: dan-will-do
    when: 'true'
    require: {approvals: 1, from: {users: [dan]}, gates: ["*"]}
`

// planNamed is e2ePlan with another deployment id.
func planNamed(id string) string { return strings.Replace(e2ePlan, "name: web-7", "name: "+id, 1) }

// commandReply posts a comment and returns the reply of its one command.
func commandReply(t *testing.T, h *harness, gh *githubsim.Server, pr int, who, body string) string {
	t.Helper()
	ctx := context.Background()
	c, err := gh.AddComment(ctx, "acme/deploys", pr, who, body)
	if err != nil {
		t.Fatal(err)
	}
	var out []workflows.CommandOutcome
	id := workflows.PRCommandWorkflowID("acme/deploys", workflows.SourceComment, strconv.FormatInt(c.ID, 10))
	h.eventually("the command workflow "+id, 30*time.Second, func() bool {
		_, err := h.c.DescribeWorkflowExecution(ctx, id, "")
		return err == nil
	})
	if err := h.c.GetWorkflow(ctx, id, "").Get(ctx, &out); err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 {
		t.Fatalf("%s %q: %+v", who, body, out)
	}
	return out[0].Message
}

// openPlanPR pushes commits (one per file set, by author, with the
// message) onto a new branch and opens a PR into main.
func openPlanPR(t *testing.T, gh *githubsim.Server, branch, author string, commits ...githubsim.PushSpec) (githubsim.PullRequest, []string) {
	t.Helper()
	ctx := context.Background()
	var shas []string
	for _, c := range commits {
		c.Repo, c.Branch = "acme/deploys", branch
		if c.Author == "" {
			c.Author = author
		}
		sha, err := gh.Push(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		shas = append(shas, sha)
	}
	pr, err := gh.OpenPullRequest(ctx, githubsim.PullRequestSpec{Repo: "acme/deploys", Head: branch, Base: "main", Title: branch, Author: author})
	if err != nil {
		t.Fatal(err)
	}
	return pr, shas
}

// TestPRThatWeakensPoliciesIsJudgedByTheOldOnes is item 1: a PR whose
// first commit weakens policies/ and whose second adds a production plan
// is judged by the deploy branch's policies as they were before it, at
// its plan check (which says so) and at its gates, whichever way it is
// merged. A non-member's /approve is refused at the gate, as the old
// rules want.
func TestPRThatWeakensPoliciesIsJudgedByTheOldOnes(t *testing.T) {
	ctx := context.Background()
	h, gh, _ := githubWorld(t, "../examples/gitops-repo", nil)
	original, err := os.ReadFile("../examples/gitops-repo/policies/approvals.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, method := range []string{"merge", "squash", "rebase"} {
		t.Run(method, func(t *testing.T) {
			id := "web-weak-" + method
			pr, _ := openPlanPR(t, gh, id, "cy",
				githubsim.PushSpec{Files: map[string]string{"policies/approvals.yaml": weakPolicies}, Message: "tidy the policies"},
				githubsim.PushSpec{Files: map[string]string{"deploys/" + id + ".yaml": planNamed(id)}, Message: "web 7"})
			run := waitCheckRun(t, h, gh, pr.HeadSHA, prepare.PlanCheckName, func(r githubsim.CheckRun) bool { return r.Status == "completed" })
			if !strings.Contains(run.Summary, "changes the policies (`policies/approvals.yaml`)") || !strings.Contains(run.Summary, "prod-needs-sre") {
				t.Fatalf("plan check does not judge by the old policies or does not say so:\n%s", run.Summary)
			}
			mergeSHA, err := gh.MergePullRequest(ctx, "acme/deploys", pr.Number, githubsim.MergeOptions{Actor: "dan", Method: method})
			if err != nil {
				t.Fatal(err)
			}
			waitCheckRun(t, h, gh, mergeSHA, workflows.DeployCheckName, func(r githubsim.CheckRun) bool {
				return strings.Contains(r.Title, "waiting for approval")
			})
			if m := commandReply(t, h, gh, pr.Number, "dan", "/approve"); !strings.Contains(m, "acme/sre") {
				t.Fatalf("dan's /approve under the weakened rules: %s", m)
			}
			if err := h.c.CancelWorkflow(ctx, workflows.DeployWorkflowID("prod-eu", id), ""); err != nil {
				t.Fatal(err)
			}
			// The merge weakened main's policies: restore them for the next method.
			if _, err := gh.Push(ctx, githubsim.PushSpec{Repo: "acme/deploys", Branch: "main", Author: "ana", Message: "restore the policies",
				Files: map[string]string{"policies/approvals.yaml": string(original)}}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestApprovalsExcludeCoAuthorsAndTheMerger is item 5: a co-author named
// in a commit's Co-authored-by trailer, the merger, and a review of a
// commit that is not the PR's final head do not count; a reviewer who is
// none of these does.
func TestApprovalsExcludeCoAuthorsAndTheMerger(t *testing.T) {
	ctx := context.Background()
	h, gh, _ := githubWorld(t, "../examples/gitops-repo", nil)
	pr, shas := openPlanPR(t, gh, "web-co", "cy",
		githubsim.PushSpec{Files: map[string]string{"deploys/web-co.yaml": planNamed("web-co")}, Message: "web 7\n\nCo-authored-by: Ana <ana@users.noreply.github.com>"},
		githubsim.PushSpec{Files: map[string]string{"deploys/README.md": "web 7 is next\n"}, Message: "note"})
	mergeSHA, err := gh.MergePullRequest(ctx, "acme/deploys", pr.Number, githubsim.MergeOptions{Actor: "bo"})
	if err != nil {
		t.Fatal(err)
	}
	waitCheckRun(t, h, gh, mergeSHA, workflows.DeployCheckName, func(r githubsim.CheckRun) bool {
		return strings.Contains(r.Title, "waiting for approval")
	})
	if m := commandReply(t, h, gh, pr.Number, "ana", "/approve"); !strings.Contains(m, "co-wrote") {
		t.Errorf("co-author's /approve: %s", m)
	}
	if m := commandReply(t, h, gh, pr.Number, "bo", "/approve"); !strings.Contains(m, "you merged this PR") {
		t.Errorf("merger's /approve: %s", m)
	}
	// A review of the first commit, not of the final head, is refused.
	rv, err := gh.SubmitReview(ctx, githubsim.ReviewSpec{Repo: "acme/deploys", Number: pr.Number, Reviewer: "dan", State: "APPROVE", CommitID: shas[0]})
	if err != nil {
		t.Fatal(err)
	}
	id := workflows.PRCommandWorkflowID("acme/deploys", workflows.SourceReview, strconv.FormatInt(rv.ID, 10))
	h.eventually("the review's command workflow", 30*time.Second, func() bool {
		_, err := h.c.DescribeWorkflowExecution(ctx, id, "")
		return err == nil
	})
	var out []workflows.CommandOutcome
	if err := h.c.GetWorkflow(ctx, id, "").Get(ctx, &out); err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || !strings.Contains(out[0].Message, "only reviews of the final head count") {
		t.Errorf("stale review: %+v", out)
	}
	st, err := h.c.QueryWorkflow(ctx, workflows.DeployWorkflowID("prod-eu", "web-co"), "", workflows.QueryStatus)
	if err != nil {
		t.Fatal(err)
	}
	var status workflows.Status
	if err := st.Get(&status); err != nil {
		t.Fatal(err)
	}
	for _, g := range status.Gates {
		if len(g.Approvals) != 0 {
			t.Errorf("gate %s counted approvals: %+v", g.ID, g.Approvals)
		}
	}
}

// TestFactsGitHubCannotGiveFailClosed: GitHub answers 500 for the PR's
// files until the facts activity gives up; nothing deploys, and the PR
// says why and how to try again.
func TestFactsGitHubCannotGiveFailClosed(t *testing.T) {
	ctx := context.Background()
	h, gh, _ := githubWorld(t, "../examples/gitops-repo", nil, func(c *githubapp.Config) { c.MaxAttempts = 1 })
	pr, _ := openPlanPR(t, gh, "web-nofacts", "cy",
		githubsim.PushSpec{Files: map[string]string{"deploys/web-nofacts.yaml": planNamed("web-nofacts")}, Message: "web 7"})
	waitCheckRun(t, h, gh, pr.HeadSHA, prepare.PlanCheckName, func(r githubsim.CheckRun) bool { return r.Status == "completed" })
	gh.InjectFault(githubsim.Fault{Kind: githubsim.FaultServerError, Method: "GET", PathPrefix: "/repos/acme/deploys/pulls/" + strconv.Itoa(pr.Number) + "/files", Count: 4})
	mergeSHA, err := gh.MergePullRequest(ctx, "acme/deploys", pr.Number, githubsim.MergeOptions{Actor: "ana"})
	if err != nil {
		t.Fatal(err)
	}
	merged := workflows.MergedPRWorkflowID("acme/deploys", pr.Number, mergeSHA)
	h.eventually("the merge workflow", 30*time.Second, func() bool {
		_, err := h.c.DescribeWorkflowExecution(ctx, merged, "")
		return err == nil
	})
	err = h.c.GetWorkflow(ctx, merged, "").Get(ctx, nil)
	if err == nil || !strings.Contains(err.Error(), "facts could not be read") {
		t.Fatalf("merge workflow: %v", err)
	}
	if _, err := h.c.DescribeWorkflowExecution(ctx, workflows.DeployWorkflowID("prod-eu", "web-nofacts"), ""); err == nil {
		t.Fatal("a deployment started without the PR's facts")
	}
	comments, err := gh.Comments("acme/deploys", pr.Number)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range comments {
		found = found || (strings.Contains(c.Body, "nothing deployed") && strings.Contains(c.Body, "redeliver"))
	}
	if !found {
		t.Errorf("no comment says nothing deployed and how to retry")
	}
	if left := gh.PendingFaults(); left != 0 {
		t.Errorf("%d faults never hit: the activity gave up early", left)
	}
	// GitHub answers again; the redelivered merge deploys. A second
	// redelivery of a merge that ran starts nothing more.
	var closed []githubsim.Delivery
	for _, d := range gh.DeliveriesOf("pull_request", "closed") {
		if strings.Contains(string(d.Payload), mergeSHA) {
			closed = append(closed, d)
		}
	}
	if len(closed) != 1 {
		t.Fatalf("%d closed deliveries of the merge", len(closed))
	}
	redeliver := func() string {
		t.Helper()
		if d, err := gh.Redeliver(ctx, closed[0].ID); err != nil || d.StatusCode >= 300 {
			t.Fatalf("redelivery: %v %d", err, d.StatusCode)
		}
		d, err := h.c.DescribeWorkflowExecution(ctx, merged, "")
		if err != nil {
			t.Fatal(err)
		}
		return d.WorkflowExecutionInfo.Execution.RunId
	}
	run := redeliver()
	if err := h.c.GetWorkflow(ctx, merged, "").Get(ctx, nil); err != nil {
		t.Fatalf("the redelivered merge workflow: %v", err)
	}
	if _, err := h.c.DescribeWorkflowExecution(ctx, workflows.DeployWorkflowID("prod-eu", "web-nofacts"), ""); err != nil {
		t.Fatalf("the redelivered merge started no deployment: %v", err)
	}
	if again := redeliver(); again != run {
		t.Fatalf("a merge that ran ran again on redelivery (run %s, then %s)", run, again)
	}
}

// securityPolicy adds a requirement to PRs labelled needs-security.
const securityPolicy = `apiVersion: prdeploy.dev/v1
kind: DeployPolicy
metadata: {name: security-review}
rules:
  - name: labelled-needs-security
    when: '"needs-security" in pr.labels'
    require: {approvals: 1, from: {teams: [acme/security]}, gates: ["*"]}
`

// TestLabelAddsARequirementAtTheGate is item 3: a label read from GitHub
// at the merge is a fact the gates judge by, as the plan check did. Two
// SRE approvals (what an unlabelled PR needs) do not open the gate of a
// PR labelled needs-security; the security team's does.
func TestLabelAddsARequirementAtTheGate(t *testing.T) {
	ctx := context.Background()
	h, gh, _ := githubWorld(t, "../examples/gitops-repo", map[string]string{"policies/security.yaml": securityPolicy})
	if _, err := gh.AddUser("eve", githubsim.UserOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := gh.AddTeam("acme", "security", githubsim.TeamOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := gh.AddTeamMember("acme", "security", "eve", githubsim.TeamMember{}); err != nil {
		t.Fatal(err)
	}
	if err := gh.SetPermission("acme/deploys", "eve", "write"); err != nil {
		t.Fatal(err)
	}
	pr, _ := openPlanPR(t, gh, "web-sec", "dan",
		githubsim.PushSpec{Files: map[string]string{"deploys/web-sec.yaml": planNamed("web-sec")}, Message: "web 7"})
	if _, err := gh.AddLabels(ctx, "acme/deploys", pr.Number, "cy", "needs-security"); err != nil {
		t.Fatal(err)
	}
	waitCheckRun(t, h, gh, pr.HeadSHA, prepare.PlanCheckName, func(r githubsim.CheckRun) bool { return r.Status == "completed" })
	mergeSHA, err := gh.MergePullRequest(ctx, "acme/deploys", pr.Number, githubsim.MergeOptions{Actor: "cy"})
	if err != nil {
		t.Fatal(err)
	}
	waitCheckRun(t, h, gh, mergeSHA, workflows.DeployCheckName, func(r githubsim.CheckRun) bool {
		return strings.Contains(r.Title, "waiting for approval")
	})
	for _, who := range []string{"ana", "bo"} {
		if m := commandReply(t, h, gh, pr.Number, who, "/approve"); strings.Contains(m, "gate open") {
			t.Fatalf("%s's /approve opened the gate of a PR labelled needs-security: %s", who, m)
		}
	}
	st, err := workflows.Describe(ctx, h.c, "prod-eu", "web-sec")
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Gates) == 0 || st.Gates[0].WaitingSince.IsZero() || st.Gates[0].Open {
		t.Fatalf("the gate after two SRE approvals: %+v", st.Gates)
	}
	if m := commandReply(t, h, gh, pr.Number, "eve", "/approve"); !strings.Contains(m, "gate open") {
		t.Fatalf("eve's (acme/security) /approve: %s", m)
	}
	if err := h.c.CancelWorkflow(ctx, workflows.DeployWorkflowID("prod-eu", "web-sec"), ""); err != nil {
		t.Fatal(err)
	}
}

// TestPRIntoAnotherBranchStartsNothing is item 1's other half: a writer
// weakens policies/ on a branch of their own and merges a production
// plan into it. The PR gets no plan check, its merge starts nothing, and
// its deliveries are acknowledged (GitHub does not retry them).
func TestPRIntoAnotherBranchStartsNothing(t *testing.T) {
	ctx := context.Background()
	h, gh, _ := githubWorld(t, "../examples/gitops-repo", nil)
	if _, err := gh.Push(ctx, githubsim.PushSpec{Repo: "acme/deploys", Branch: "staging", Author: "dan", Message: "tidy the policies",
		Files: map[string]string{"policies/approvals.yaml": weakPolicies}}); err != nil {
		t.Fatal(err)
	}
	if _, err := gh.Push(ctx, githubsim.PushSpec{Repo: "acme/deploys", Branch: "web-side", From: "staging", Author: "dan", Message: "web 7",
		Files: map[string]string{"deploys/web-side.yaml": planNamed("web-side")}}); err != nil {
		t.Fatal(err)
	}
	pr, err := gh.OpenPullRequest(ctx, githubsim.PullRequestSpec{Repo: "acme/deploys", Head: "web-side", Base: "staging", Title: "web 7", Author: "dan"})
	if err != nil {
		t.Fatal(err)
	}
	mergeSHA, err := gh.MergePullRequest(ctx, "acme/deploys", pr.Number, githubsim.MergeOptions{Actor: "dan"})
	if err != nil {
		t.Fatal(err)
	}
	// Deliveries are synchronous: when the merge returns, the webhook has
	// answered every delivery of this PR, each with 204 (acknowledged, out
	// of scope, nothing started).
	outOfScope(t, gh, "acme/deploys")
	if _, err := h.c.DescribeWorkflowExecution(ctx, workflows.MergedPRWorkflowID("acme/deploys", pr.Number, mergeSHA), ""); err == nil {
		t.Error("the merge into staging started a merge workflow")
	}
	if _, err := h.c.DescribeWorkflowExecution(ctx, workflows.DeployWorkflowID("prod-eu", "web-side"), ""); err == nil {
		t.Error("the merge into staging started a deployment")
	}
	runs, err := gh.CheckRuns("acme/deploys", pr.HeadSHA)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 0 {
		t.Errorf("check runs on a PR into staging: %+v", runs)
	}
}

// TestRepositoryNotConfiguredStartsNothing is item 2: the App is
// installed on another repository of the organization, with a fleet and
// policies of its own; a plan merged there starts nothing, and its
// deliveries are acknowledged.
func TestRepositoryNotConfiguredStartsNothing(t *testing.T) {
	ctx := context.Background()
	h, gh, _ := githubWorld(t, "../examples/gitops-repo", nil)
	if _, err := gh.CreateRepo(ctx, githubsim.RepoSpec{Repo: "acme/shadow", Dir: "../examples/gitops-repo",
		Files: map[string]string{"policies/approvals.yaml": weakPolicies}}); err != nil {
		t.Fatal(err)
	}
	if err := gh.SetPermission("acme/shadow", "dan", "write"); err != nil {
		t.Fatal(err)
	}
	if _, err := gh.Push(ctx, githubsim.PushSpec{Repo: "acme/shadow", Branch: "web-shadow", Author: "dan", Message: "web 7",
		Files: map[string]string{"deploys/web-shadow.yaml": planNamed("web-shadow")}}); err != nil {
		t.Fatal(err)
	}
	pr, err := gh.OpenPullRequest(ctx, githubsim.PullRequestSpec{Repo: "acme/shadow", Head: "web-shadow", Base: "main", Title: "web 7", Author: "dan"})
	if err != nil {
		t.Fatal(err)
	}
	mergeSHA, err := gh.MergePullRequest(ctx, "acme/shadow", pr.Number, githubsim.MergeOptions{Actor: "dan"})
	if err != nil {
		t.Fatal(err)
	}
	outOfScope(t, gh, "acme/shadow")
	if _, err := h.c.DescribeWorkflowExecution(ctx, workflows.MergedPRWorkflowID("acme/shadow", pr.Number, mergeSHA), ""); err == nil {
		t.Error("a merge in acme/shadow started a merge workflow")
	}
	if _, err := h.c.DescribeWorkflowExecution(ctx, workflows.DeployWorkflowID("prod-eu", "web-shadow"), ""); err == nil {
		t.Error("a merge in acme/shadow started a deployment")
	}
	if runs, _ := gh.CheckRuns("acme/shadow", pr.HeadSHA); len(runs) != 0 {
		t.Errorf("check runs in acme/shadow: %+v", runs)
	}
}

// outOfScope checks that the repository's pull_request deliveries (at
// least opened and closed) were acknowledged as out of scope: 204.
func outOfScope(t *testing.T, gh *githubsim.Server, repo string) {
	t.Helper()
	seen := 0
	for _, d := range gh.DeliveriesOf("pull_request", "") {
		if d.Repo != repo {
			continue
		}
		seen++
		if d.StatusCode != http.StatusNoContent {
			t.Errorf("%s.%s delivery answered %d, want 204 (out of scope)", d.Event, d.Action, d.StatusCode)
		}
	}
	if seen < 2 {
		t.Fatalf("the App's webhook got %d pull_request deliveries from %s: the test proves nothing", seen, repo)
	}
}
