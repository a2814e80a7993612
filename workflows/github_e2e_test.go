package workflows_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prdeploy/prdeploy/internal/demo"
	"github.com/prdeploy/prdeploy/internal/githubapp"
	"github.com/prdeploy/prdeploy/internal/githubsim"
	"github.com/prdeploy/prdeploy/internal/payload"
	"github.com/prdeploy/prdeploy/internal/prepare"
	"github.com/prdeploy/prdeploy/internal/sim"
	"github.com/prdeploy/prdeploy/internal/temporalx"
	"github.com/prdeploy/prdeploy/webhook"
	"github.com/prdeploy/prdeploy/workflows"
)

const e2ePlan = `apiVersion: prdeploy.dev/v1
kind: DeployPlan
metadata: {name: web-7}
spec:
  clusters: [prod-eu]
  services: [{name: web, tag: "7.0.0"}]
  tenants: {names: [globex, initech, umbrella]}
  rollout: {canary: {tenants: [globex]}, approval: after-canary}
  checks: {noCriticalAlerts: {enabled: false}, podsAvailable: {enabled: false}}
`

// e2eNow is a Wednesday morning outside the example policies' freezes
// (holidays, Friday afternoons), so the tests judge the same on any day.
func e2eNow() time.Time { return time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC) }

// githubWorld is the GitHub simulator with users (cy, ana, bo, dan, all
// with write access; ana, bo and cy in acme/sre) and the repository
// acme/deploys made from repoDir plus files, the real GitHub client, the
// real Prepare and payload store, the webhook server and a worker on the
// embedded Temporal server with the simulated cluster.
func githubWorld(t testing.TB, repoDir string, files map[string]string, opts ...func(*githubapp.Config)) (*harness, *githubsim.Server, *githubapp.Client) {
	ctx := context.Background()
	gh := githubsim.New(githubsim.Options{})
	gh.Start()
	t.Cleanup(func() { gh.Close() })
	if err := demo.SetupGitHub(ctx, gh, repoDir, files); err != nil {
		t.Fatal(err)
	}
	token, err := gh.Token(gh.BotLogin())
	if err != nil {
		t.Fatal(err)
	}
	cfg := githubapp.Config{BaseURL: gh.APIURL(), Token: token, Org: "acme", Login: gh.BotLogin(), CacheDir: t.TempDir()}
	for _, o := range opts {
		o(&cfg)
	}
	gc, err := githubapp.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	store, err := payload.OpenMemory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, 50*time.Millisecond, 1, func(h *harness) {
		h.acts = &workflows.Activities{
			Plans:        sim.GatedPlans{PlanSource: &prepare.Preparer{Repos: gc, Store: store, Now: e2eNow}, Gate: &h.prepareGate},
			History:      gc,
			Cluster:      h.cluster,
			Probes:       h.prober,
			Directory:    gc,
			PlanChecks:   &prepare.PlanChecker{Repos: gc, Checks: gc, Comments: gc, Locks: temporalx.LockPreview{Client: h.c}, PullRequests: gc, Now: e2eNow},
			Merges:       &prepare.MergeReader{Repos: gc, History: gc},
			PullRequests: gc,
			CheckRuns:    gc, Comments: gc, Statuses: temporalx.Statuses{Client: h.c},
			Deployments: temporalx.Deployments{Client: h.c}, Permissions: gc,
		}
	})
	handler, err := webhook.NewHandler(webhook.Config{Secrets: []webhook.Secret{"hook-secret"}, Dispatcher: temporalx.Dispatcher{Client: h.c}, Logger: slog.New(slog.DiscardHandler), Scope: webhook.Scope{Repo: "acme/deploys"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	// The App's webhook, as in production: every repository the App is
	// installed on delivers here; the handler's scope keeps acme/deploys.
	gh.AddHook(githubsim.Hook{URL: srv.URL + webhook.Path, Secret: "hook-secret"})
	return h, gh, gc
}

// TestPullRequestToProduction is the user's day, end to end: the GitHub
// simulator (real git over HTTP, signed webhooks) in front of the webhook
// server, the real GitHub client, the real Prepare and payload store, the
// embedded Temporal server, and the simulated cluster. Open a PR with a
// plan → the plan check succeeds → merge → the deploy check run waits at
// the canary gate → /approve by a non-member and by the author are refused
// with replies → two SREs approve → the rollout completes, the check run
// says success and the milestone comments are on the PR. GitHub answers
// 502, 429 and 500 for a while after the merge; nothing is lost.
func TestPullRequestToProduction(t *testing.T) {
	ctx := context.Background()
	h, gh, gc := githubWorld(t, "../examples/gitops-repo", nil)

	// Open a PR with the plan: the plan check succeeds on its head.
	if _, err := gh.Push(ctx, githubsim.PushSpec{Repo: "acme/deploys", Branch: "web-7", Files: map[string]string{"deploys/web-7.yaml": e2ePlan}, Message: "web 7"}); err != nil {
		t.Fatal(err)
	}
	pr, err := gh.OpenPullRequest(ctx, githubsim.PullRequestSpec{Repo: "acme/deploys", Head: "web-7", Base: "main", Title: "web 7", Author: "cy"})
	if err != nil {
		t.Fatal(err)
	}
	planRun := waitCheckRun(t, h, gh, pr.HeadSHA, prepare.PlanCheckName, func(r githubsim.CheckRun) bool { return r.Status == "completed" })
	if planRun.Conclusion != "success" || !strings.Contains(planRun.Summary, "globex") || !strings.Contains(planRun.Summary, "prod-needs-sre") ||
		!strings.Contains(planRun.Summary, "none of this plan's tenant/service locks is held now") {
		t.Fatalf("plan check: %s %s\n%s", planRun.Conclusion, planRun.Title, planRun.Summary)
	}

	// Merge: the deployment starts and waits at the canary gate.
	mergeSHA, err := gh.MergePullRequest(ctx, "acme/deploys", pr.Number, githubsim.MergeOptions{Actor: "dan"})
	if err != nil {
		t.Fatal(err)
	}
	// GitHub has a bad minute: 502s on check runs, 429s, 500s on comments.
	// The GitHub client retries and the activities retry; nothing is lost.
	gh.InjectFault(githubsim.Fault{Kind: githubsim.FaultBadGateway, PathPrefix: "/repos/acme/deploys/check-runs", Count: 3})
	gh.InjectFault(githubsim.Fault{Kind: githubsim.FaultTooManyRequests, RetryAfter: time.Second, Count: 2})
	gh.InjectFault(githubsim.Fault{Kind: githubsim.FaultServerError, Method: "POST", PathPrefix: "/repos/acme/deploys/issues", Count: 2})
	deployRun := waitCheckRun(t, h, gh, mergeSHA, workflows.DeployCheckName, func(r githubsim.CheckRun) bool {
		return strings.Contains(r.Title, "waiting for approval")
	})
	if len(deployRun.Actions) == 0 {
		t.Fatalf("no buttons while waiting: %+v", deployRun)
	}

	comment := func(who, body string) string {
		t.Helper()
		return commandReply(t, h, gh, pr.Number, who, body)
	}
	if m := comment("dan", "/approve"); !strings.Contains(m, "refused") || !strings.Contains(m, "acme/sre") {
		t.Fatalf("non-member: %s", m)
	}
	if m := comment("cy", "/approve"); !strings.Contains(m, "author") {
		t.Fatalf("author: %s", m)
	}
	if m := comment("ana", "/approve canary looks good"); !strings.Contains(m, "1 of 2") {
		t.Fatalf("first SRE: %s", m)
	}
	if m := comment("bo", "/approve"); !strings.Contains(m, "gate open") {
		t.Fatalf("second SRE: %s", m)
	}
	final := waitCheckRun(t, h, gh, mergeSHA, workflows.DeployCheckName, func(r githubsim.CheckRun) bool { return r.Status == "completed" })
	if final.Conclusion != "success" || !strings.Contains(final.Title, "done, 3 of 3 tenants") {
		t.Fatalf("final deploy check: %s %s", final.Conclusion, final.Title)
	}
	// The reporter posts the last milestone after the check run ends.
	var comments []githubsim.Comment
	h.eventually("the completed milestone comment", 30*time.Second, func() bool {
		comments, _ = gh.Comments("acme/deploys", pr.Number)
		for _, c := range comments {
			if strings.Contains(c.Body, "`web-7` in `prod-eu` completed") {
				return true
			}
		}
		return false
	})
	var all []string
	for _, c := range comments {
		all = append(all, c.Author+": "+c.Body)
	}
	text := strings.Join(all, "\n")
	for _, want := range []string{"prdeploy: 1 plan ready to deploy", "merged at", "`web-7` in `prod-eu` started: 3 tenants", "waiting at gate `after-canary`",
		"@dan, `/approve` was refused", "`web-7` in `prod-eu` completed: 3 tenants"} {
		if !strings.Contains(text, want) {
			t.Errorf("no comment with %q:\n%s", want, text)
		}
	}
	for _, c := range comments {
		if c.Author == "bo" && !containsReaction(c.Reactions, "+1") {
			t.Errorf("bo's approval has no 👍: %v", c.Reactions)
		}
	}
	if left := gh.PendingFaults(); left != 0 {
		t.Errorf("%d injected faults were never hit", left)
	}
	st := gc.Stats()
	t.Logf("GitHub API calls: %d, content-creating %d, retried %d", st.Requests, st.ContentRequests, st.Retries)
}

func containsReaction(r map[string][]string, content string) bool {
	for k, v := range r {
		if k == content && len(v) > 0 {
			return true
		}
	}
	return false
}

// waitCheckRun polls the simulator until the named check run on sha
// satisfies ok.
func waitCheckRun(t testing.TB, h *harness, gh *githubsim.Server, sha, name string, ok func(githubsim.CheckRun) bool) githubsim.CheckRun {
	t.Helper()
	var found githubsim.CheckRun
	h.eventually("check run "+name+" on "+sha[:8], 60*time.Second, func() bool {
		runs, err := gh.CheckRuns("acme/deploys", sha)
		if err != nil {
			return false
		}
		for _, r := range runs {
			if r.Name == name && ok(r) {
				found = r
				return true
			}
		}
		return false
	})
	return found
}

// BenchmarkGitHubCallsPerDeployment runs a 100-tenant deployment through
// the GitHub simulator (PR, plan check, merge, one /approve at the canary
// gate, rollout, final check run) and reports the GitHub API calls it
// made, content-creating or not, and the most content-creating calls in
// any 60 s window.
func BenchmarkGitHubCallsPerDeployment(b *testing.B) {
	const tenants = 100
	var fleet strings.Builder
	fleet.WriteString("apiVersion: prdeploy.dev/v1\nkind: Fleet\nclusters: [{name: c1}]\nservices:\n  - {name: web, image: registry.example.com/web}\ntenants:\n")
	for i := 1; i <= tenants; i++ {
		fmt.Fprintf(&fleet, "  - {name: t%03d, cluster: c1, namespace: ns-t%03d, labels: {tier: all}}\n", i, i)
	}
	files := map[string]string{
		"fleet.yaml":                      fleet.String(),
		"services/web/kustomization.yaml": "resources: [deployment.yaml]\n",
		"services/web/deployment.yaml":    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: web, image: registry.example.com/web:1}]}\n",
	}
	plan := `apiVersion: prdeploy.dev/v1
kind: DeployPlan
metadata: {name: web-2}
spec:
  clusters: [c1]
  services: [{name: web, tag: "2"}]
  tenants: {selector: {matchLabels: {tier: all}}}
  rollout: {canary: {tenants: [t001]}, approval: after-canary, maxParallel: 20}
  checks: {noCriticalAlerts: {enabled: false}, podsAvailable: {enabled: false}}
`
	for b.Loop() {
		ctx := context.Background()
		h, gh, gc := githubWorld(b, "", files)
		h.wait = 10 * time.Minute
		if _, err := gh.Push(ctx, githubsim.PushSpec{Repo: "acme/deploys", Branch: "web-2", Files: map[string]string{"deploys/web-2.yaml": plan}, Message: "web 2"}); err != nil {
			b.Fatal(err)
		}
		pr, err := gh.OpenPullRequest(ctx, githubsim.PullRequestSpec{Repo: "acme/deploys", Head: "web-2", Base: "main", Title: "web 2", Author: "cy"})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		waitCheckRun(b, h, gh, pr.HeadSHA, prepare.PlanCheckName, func(r githubsim.CheckRun) bool { return r.Status == "completed" })
		mergeSHA, err := gh.MergePullRequest(ctx, "acme/deploys", pr.Number, githubsim.MergeOptions{Actor: "dan"})
		if err != nil {
			b.Fatal(err)
		}
		waitCheckRun(b, h, gh, mergeSHA, workflows.DeployCheckName, func(r githubsim.CheckRun) bool { return strings.Contains(r.Title, "waiting for approval") })
		if _, err := gh.AddComment(ctx, "acme/deploys", pr.Number, "ana", "/approve"); err != nil {
			b.Fatal(err)
		}
		final := waitCheckRun(b, h, gh, mergeSHA, workflows.DeployCheckName, func(r githubsim.CheckRun) bool { return r.Status == "completed" })
		if final.Conclusion != "success" {
			b.Fatalf("final: %s %s", final.Conclusion, final.Title)
		}
		took := time.Since(start)
		calls := gh.Calls()
		api, content := 0, 0
		for _, c := range calls {
			if !c.Git {
				api++
			}
			if c.Mutating {
				content++
			}
		}
		st := gc.Stats()
		b.ReportMetric(float64(api), "api-calls")
		b.ReportMetric(float64(content), "content-calls")
		b.ReportMetric(float64(final.Updates), "check-run-updates")
		b.ReportMetric(took.Seconds(), "story-s")
		b.Logf("%d tenants: PR to done in %v; %d API calls (%d content-creating), git requests %d, client retries %d",
			tenants, took.Round(time.Millisecond), api, content, len(calls)-api, st.Retries)
	}
}
