package workflows_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prdeploy/prdeploy/internal/metrics"
	"github.com/prdeploy/prdeploy/internal/metrics/metricstest"
	"github.com/prdeploy/prdeploy/internal/temporalx"
	"github.com/prdeploy/prdeploy/policies"
	"github.com/prdeploy/prdeploy/webhook"
	"github.com/prdeploy/prdeploy/webhook/webhooktest"
	"github.com/prdeploy/prdeploy/workflows"
)

// Issue 13, as a hostile writer (and a reader) would try it: signed
// deliveries over real HTTP into the webhook handler, the real Dispatcher,
// the embedded Temporal server, and a deployment waiting at a gate that
// needs two SREs.

const (
	hookRepo   = "acme/deploys"
	hookPR     = 7
	hookMerge  = "3333333333333333333333333333333333333333"
	hookHead   = "4444444444444444444444444444444444444444"
	hookOld    = "5555555555555555555555555555555555555555"
	hookSecret = "hook-secret"
	hookGate   = "after-canary"
	hookDeploy = "web-10"
)

// prFacts answers the merged PR's facts, as GitHub would.
type prFacts workflows.PRFacts

func (f prFacts) PullRequestFacts(context.Context, string, int) (workflows.PRFacts, error) {
	return workflows.PRFacts(f), nil
}

// dispatchLog keeps what the Dispatcher logged: the workflow executions
// deliveries started (a delivery that meets a running execution of its ID
// logs that one's run again) and those that met a closed one.
type dispatchLog struct {
	mu      sync.Mutex
	started []string // workflow ID, in order
	runs    map[string]bool
	dup     int
}

func (l *dispatchLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *dispatchLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *dispatchLog) WithGroup(string) slog.Handler            { return l }
func (l *dispatchLog) Handle(_ context.Context, r slog.Record) error {
	var id, run string
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "workflow":
			id = a.Value.String()
		case "run":
			run = a.Value.String()
		}
		return true
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	switch r.Message {
	case "workflow started":
		if l.runs == nil {
			l.runs = map[string]bool{}
		}
		l.runs[id+" "+run] = true
		l.started = append(l.started, id)
	case "workflow already ran for this event":
		l.dup++
	}
	return nil
}

// executions counts the distinct workflow executions deliveries started.
func (l *dispatchLog) executions() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.runs)
}

func (l *dispatchLog) lastStarted() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.started) == 0 {
		return ""
	}
	return l.started[len(l.started)-1]
}

// hookWorld is the webhook handler in front of the Dispatcher and a
// worker whose GitHub is recordingHost.
type hookWorld struct {
	*harness
	t       *testing.T
	host    *recordingHost
	hook    webhooktest.Hook
	log     *dispatchLog
	metrics *metrics.Metrics
	guid    int
	checker *countingChecker
}

func newHookWorld(t *testing.T) *hookWorld {
	w := &hookWorld{t: t, host: &recordingHost{}, log: &dispatchLog{}, metrics: metrics.New(), checker: &countingChecker{}}
	merges := fakeMerges{hookMerge: {{Path: "deploys/" + hookDeploy + ".yaml", Deployment: hookDeploy, Clusters: []string{"c1"}}}}
	facts := prFacts{Number: hookPR, Author: "author", MergedBy: "merger", BaseRef: "main", HeadSHA: hookHead, MergeSHA: hookMerge, PolicySHA: hookOld}
	perms := permissions{"ana": "write", "bo": "maintain", "author": "admin", "merger": "write", "cy": "read", "dee": "triage"}
	w.harness = newHarness(t, 50*time.Millisecond, 3, func(h *harness) {
		h.metrics = w.metrics.TemporalHandler()
		h.acts = &workflows.Activities{Plans: h.plans, Cluster: h.cluster, Probes: h.prober, Directory: h.dir,
			Merges: merges, PullRequests: facts, CheckRuns: w.host, Comments: w.host, Statuses: temporalx.Statuses{Client: h.c},
			Deployments: temporalx.Deployments{Client: h.c}, Permissions: perms, PlanChecks: w.checker}
	})
	handler, err := webhook.NewHandler(webhook.Config{Secrets: []webhook.Secret{hookSecret}, Logger: slog.New(slog.DiscardHandler),
		Dispatcher: temporalx.Dispatcher{Client: w.c, Logger: slog.New(w.log)}, Scope: webhook.Scope{Repo: hookRepo, Branch: "main"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	w.hook = webhooktest.Hook{URL: srv.URL + webhook.Path, Secret: hookSecret}
	return w
}

// deliver POSTs a payload under a new delivery GUID and wants code.
func (w *hookWorld) deliver(p *webhooktest.Payload, code int) {
	w.t.Helper()
	w.guid++
	w.deliverAs(p, fmt.Sprintf("00000000-0000-4000-8000-%012d", w.guid), code)
}

func (w *hookWorld) deliverAs(p *webhooktest.Payload, guid string, code int) {
	w.t.Helper()
	if r := w.hook.Deliver(w.t, p.Event, guid, p.JSON(w.t)); r.Code != code {
		w.t.Fatalf("%s delivery: %d %s%s, want %d", p.Event, r.Code, r.Ignored, r.Body, code)
	}
}

// inRepo points a payload at the deploy repository, sent by login.
func inRepo(t testing.TB, p *webhooktest.Payload, login string) *webhooktest.Payload {
	return p.Set(t, "repository.full_name", hookRepo).Set(t, "repository.name", "deploys").
		Set(t, "repository.default_branch", "main").Set(t, "sender.login", login)
}

func commentPayload(t testing.TB, id int64, login, body string) *webhooktest.Payload {
	p := webhooktest.Example(t, "issue_comment/created.payload.json").
		Set(t, "issue.pull_request", map[string]any{"url": "https://api.github.com/repos/acme/deploys/pulls/7"}).
		Set(t, "issue.number", hookPR).Set(t, "comment.id", id).Set(t, "comment.body", body).Set(t, "comment.user.login", login)
	return inRepo(t, p, login)
}

func reviewPayload(t testing.TB, action string, id int64, login, commit string) *webhooktest.Payload {
	p := webhooktest.Example(t, "pull_request_review/"+action+".payload.json").
		Set(t, "review.id", id).Set(t, "review.user.login", login).Set(t, "review.commit_id", commit).
		Set(t, "pull_request.number", hookPR)
	if action == "submitted" {
		p.Set(t, "review.state", "approved")
	}
	return inRepo(t, p, login)
}

func pressPayload(t testing.TB, login, identifier, title string) *webhooktest.Payload {
	p := webhooktest.Example(t, "check_run/requested_action.payload.json").
		Set(t, "check_run.id", 901).Set(t, "check_run.external_id", workflows.DeployWorkflowID("c1", hookDeploy)).
		Set(t, "check_run.name", workflows.DeployCheckName).Set(t, "check_run.head_sha", hookMerge).
		Set(t, "check_run.pull_requests", []any{}).Set(t, "check_run.output.title", title).
		Set(t, "requested_action", map[string]any{"identifier": identifier})
	return inRepo(t, p, login)
}

// mergeAndWait merges the PR through its webhook and waits for the gate.
func (w *hookWorld) mergeAndWait() {
	w.t.Helper()
	w.plan(hookDeploy, `  services: [{name: web, tag: "10"}]
  tenants: {names: [t01, t02, t03]}
  rollout: {canary: {tenants: [t01]}, approval: after-canary}
`+noChecks, policies.Requirement{Rule: "prod", Gate: hookGate, Approvals: 2, Teams: []string{"acme/sre"}, AllowReviews: true})
	p := webhooktest.Example(w.t, "pull_request/closed.payload.json")
	p.Set(w.t, "pull_request.merged", true).Set(w.t, "pull_request.merge_commit_sha", hookMerge).
		Set(w.t, "pull_request.merged_at", "2026-03-02T09:30:00Z").Set(w.t, "pull_request.merged_by", p.Get("pull_request.user")).
		Set(w.t, "pull_request.merged_by.login", "merger").Set(w.t, "pull_request.number", hookPR).Set(w.t, "number", hookPR).
		Set(w.t, "pull_request.base.ref", "main").Set(w.t, "pull_request.head.sha", hookHead).Set(w.t, "pull_request.user.login", "author")
	w.deliver(inRepo(w.t, p, "merger"), 202)
	w.eventually("the gate to wait", 30*time.Second, func() bool {
		st, err := workflows.Describe(context.Background(), w.c, "c1", hookDeploy)
		return err == nil && len(st.Gates) == 1 && !st.Gates[0].WaitingSince.IsZero()
	})
}

// outcomes waits for the command workflow the last accepted delivery
// started, and returns what became of its commands.
func (w *hookWorld) outcomes(id string) []workflows.CommandOutcome {
	w.t.Helper()
	var out []workflows.CommandOutcome
	if err := w.c.GetWorkflow(context.Background(), id, "").Get(context.Background(), &out); err != nil {
		w.t.Fatalf("%s: %v", id, err)
	}
	return out
}

// comment delivers a comment and returns the outcome of its commands.
func (w *hookWorld) comment(id int64, login, body string) []workflows.CommandOutcome {
	w.t.Helper()
	w.deliver(commentPayload(w.t, id, login, body), 202)
	return w.outcomes(workflows.PRCommandWorkflowID(hookRepo, workflows.SourceComment, fmt.Sprint(id)))
}

// approvals are the logins that approved the gate, in order.
func (w *hookWorld) approvals() []string {
	w.t.Helper()
	var out []string
	for _, a := range w.status(hookDeploy).Gates[0].Approvals {
		out = append(out, a.Login+"/"+string(a.Source))
	}
	return out
}

// reply is the reply to one command source, or "".
func (w *hookWorld) reply(source policies.Source, id any) string {
	w.host.mu.Lock()
	defer w.host.mu.Unlock()
	if i, ok := w.host.keyed[fmt.Sprintf("reply:%s:%v", source, id)]; ok {
		return w.host.comments[i]
	}
	return ""
}

func (w *hookWorld) reactions(id int64) []string {
	w.host.mu.Lock()
	defer w.host.mu.Unlock()
	return slices.Clone(w.host.reactions[id])
}

// TestUnapproveWithdrawsOwnApproval (issue 13, item 5: "there is no way to
// withdraw an approval"): /unapprove withdraws the commenter's own
// approval while the gate waits, says so when they had none, and cannot
// touch a gate that has opened; a withdrawn approval never counts again.
func TestUnapproveWithdrawsOwnApproval(t *testing.T) {
	w := newHookWorld(t)
	w.mergeAndWait()

	if out := w.comment(201, "ana", "/approve canary is fine"); !out[0].OK || !strings.Contains(out[0].Message, "1 of 2") {
		t.Fatalf("ana's approval: %+v", out)
	}
	out := w.comment(202, "bo", "/unapprove")
	if out[0].OK || !strings.Contains(w.reply("comment", 202), "bo has no approval at gate after-canary to withdraw") {
		t.Fatalf("bo had no approval: %+v, reply %q", out, w.reply("comment", 202))
	}
	if got := w.approvals(); !slices.Equal(got, []string{"ana/comment"}) {
		t.Fatalf("approvals after bo's /unapprove: %v", got)
	}
	if out := w.comment(203, "ana", "/unapprove the canary's p99 moved"); !out[0].OK || !strings.Contains(out[0].Message, "approval withdrawn at after-canary") {
		t.Fatalf("ana's withdrawal: %+v", out)
	}
	if got := w.approvals(); len(got) != 0 {
		t.Fatalf("approvals after ana's /unapprove: %v", got)
	}
	if r := w.reactions(203); !slices.Equal(r, []string{"eyes", "+1"}) {
		t.Errorf("reactions on the withdrawal: %v", r)
	}
	// The approving comment delivered again, under a new GUID, does not
	// bring the approval back; nor does it once Temporal has forgotten
	// the comment's workflow (the gate remembers what was withdrawn).
	w.deliver(commentPayload(t, 201, "ana", "/approve canary is fine"), 202)
	if _, err := w.update(hookDeploy, workflows.UpdateApprove, workflows.ApproveRequest{Login: "ana", Source: policies.SourceComment, SourceID: "201"}); err == nil || !strings.Contains(err.Error(), "withdrawn") {
		t.Fatalf("a withdrawn approval counted again: %v", err)
	}
	if got := w.approvals(); len(got) != 0 {
		t.Fatalf("approvals after the replay: %v", got)
	}
	// A new approval counts; two open the gate; then nothing is withdrawn.
	w.comment(204, "ana", "/approve")
	if out := w.comment(205, "bo", "/approve"); !strings.Contains(out[0].Message, "gate open") {
		t.Fatalf("second approval: %+v", out)
	}
	out = w.comment(206, "ana", "/unapprove")
	if out[0].OK || !strings.Contains(w.reply("comment", 206), "no gate is waiting") {
		t.Fatalf("/unapprove after the gate opened: %+v, reply %q", out, w.reply("comment", 206))
	}
	st := w.result(w.c.GetWorkflow(context.Background(), workflows.DeployWorkflowID("c1", hookDeploy), ""))
	if st.Phase != workflows.PhaseSucceeded || len(st.Gates[0].Approvals) != 2 {
		t.Fatalf("deployment %s, gate %+v", st.Phase, st.Gates[0])
	}
}

// TestDismissedReviewWithdrawsItsApproval (issue 13, item 5): only an
// approving review of the PR's final head counts, and dismissing it on
// GitHub withdraws it (matched by review id, not by reviewer).
func TestDismissedReviewWithdrawsItsApproval(t *testing.T) {
	w := newHookWorld(t)
	w.mergeAndWait()
	review := func(id int64, login, commit string) []workflows.CommandOutcome {
		t.Helper()
		w.deliver(reviewPayload(t, "submitted", id, login, commit), 202)
		return w.outcomes(workflows.PRCommandWorkflowID(hookRepo, workflows.SourceReview, fmt.Sprint(id)))
	}
	if out := review(301, "ana", hookOld); out[0].OK || !strings.Contains(w.reply("review", 301), "not the PR's final head") {
		t.Fatalf("a review of an old commit: %+v, reply %q", out, w.reply("review", 301))
	}
	if out := review(302, "ana", hookHead); !out[0].OK || !strings.Contains(out[0].Message, "1 of 2") {
		t.Fatalf("a review of the final head: %+v", out)
	}
	w.comment(303, "ana", "/approve also here") // ana's comment approval is not the review's
	if got := w.approvals(); !slices.Equal(got, []string{"ana/review", "ana/comment"}) {
		t.Fatalf("approvals: %v", got)
	}

	w.deliver(reviewPayload(t, "dismissed", 302, "ana", hookHead).Set(t, "sender.login", "bo"), 202)
	out := w.outcomes(workflows.PRCommandWorkflowID(hookRepo, workflows.SourceDismissal, "302"))
	if !out[0].OK || !strings.Contains(w.reply(workflows.SourceDismissal, 302), "review by @ana was dismissed") {
		t.Fatalf("dismissal: %+v, reply %q", out, w.reply(workflows.SourceDismissal, 302))
	}
	if got := w.approvals(); !slices.Equal(got, []string{"ana/comment"}) {
		t.Fatalf("approvals after the dismissal: %v", got)
	}
	// The approving review delivered again does not count again.
	w.deliver(reviewPayload(t, "submitted", 302, "ana", hookHead), 202)
	if _, err := w.update(hookDeploy, workflows.UpdateApprove, workflows.ApproveRequest{Login: "ana", Source: policies.SourceReview, SourceID: "302", Commit: hookHead}); err == nil {
		t.Fatal("a dismissed review counted again")
	}
	// A dismissal of a review that approved nothing says nothing.
	w.deliver(reviewPayload(t, "dismissed", 301, "ana", hookOld), 202)
	if out := w.outcomes(workflows.PRCommandWorkflowID(hookRepo, workflows.SourceDismissal, "301")); out[0].OK || w.reply(workflows.SourceDismissal, 301) != "" {
		t.Fatalf("dismissal of a stale review: %+v, reply %q", out, w.reply(workflows.SourceDismissal, 301))
	}
	if got := w.approvals(); !slices.Equal(got, []string{"ana/comment"}) {
		t.Fatalf("approvals at the end: %v", got)
	}
}

// TestReadersGetNoAnswer (issue 13, item 7): /status, /help, an unknown
// command and /approve from people without write access get no reaction
// and no reply; they are counted on /metrics. A writer's /status is
// answered.
func TestReadersGetNoAnswer(t *testing.T) {
	w := newHookWorld(t)
	w.mergeAndWait()
	for i, c := range []struct{ login, body string }{
		{"cy", "/status"}, {"cy", "/help"}, {"cy", "/aprove"}, {"dee", "/approve"},
	} {
		id := int64(401 + i)
		out := w.comment(id, c.login, c.body)
		if out[0].OK || !strings.HasPrefix(out[0].Message, "ignored") {
			t.Errorf("%s %q: %+v", c.login, c.body, out)
		}
		if r := w.reactions(id); len(r) != 0 {
			t.Errorf("%s %q got reactions %v", c.login, c.body, r)
		}
		if r := w.reply("comment", id); r != "" {
			t.Errorf("%s %q got a reply: %q", c.login, c.body, r)
		}
	}
	w.deliver(reviewPayload(t, "submitted", 405, "cy", hookHead), 202)
	w.outcomes(workflows.PRCommandWorkflowID(hookRepo, workflows.SourceReview, "405"))
	if r := w.reply("review", 405); r != "" {
		t.Errorf("a reader's review got a reply: %q", r)
	}
	if got := w.approvals(); len(got) != 0 {
		t.Fatalf("readers approved: %v", got)
	}
	got := metricstest.Scrape(t, w.metrics.Handler())
	if n := got[`prdeploy_commands_ignored_total{reason="not_writer"}`]; n != 5 {
		t.Errorf("ignored commands counted %v, want 5", n)
	}
	w.comment(406, "ana", "/status")
	if r := w.reply("comment", 406); !strings.Contains(r, "**web-10** → cluster `c1`") || !slices.Equal(w.reactions(406), []string{"eyes", "+1"}) {
		t.Errorf("a writer's /status: reply %q, reactions %v", r, w.reactions(406))
	}
}

// TestReplayedButtonPressActsOnce (issue 13, item 4): check-run button
// presses are named by their signed content, not by the unsigned delivery
// GUID: a captured press replayed under a new GUID does nothing, while
// another person's press of the same button, or the same person's press of
// a button in another state, counts. An Approve button approves only the
// gate it was shown for.
func TestReplayedButtonPressActsOnce(t *testing.T) {
	w := newHookWorld(t)
	w.mergeAndWait()
	press := func(p *webhooktest.Payload, guid string) []workflows.CommandOutcome {
		t.Helper()
		before := w.log.executions()
		w.deliverAs(p, guid, 202)
		if after := w.log.executions(); after != before+1 {
			t.Fatalf("the press started %d workflows", after-before)
		}
		return w.outcomes(w.log.lastStarted())
	}
	approve := workflows.ApproveIdentifier(hookGate)
	waiting := "web-10: waiting for approval at after-canary"

	if out := press(pressPayload(t, "ana", workflows.ActionPause, waiting), "aaaaaaaa-0000-4000-8000-000000000001"); !out[0].OK {
		t.Fatalf("pause: %+v", out)
	}
	if !w.status(hookDeploy).Paused {
		t.Fatal("the Pause button did not pause")
	}
	w.comment(501, "ana", "/resume")
	// The captured Pause delivery, replayed under a new GUID.
	started := w.log.executions()
	w.deliverAs(pressPayload(t, "ana", workflows.ActionPause, waiting), "bbbbbbbb-0000-4000-8000-000000000002", 202)
	if n := w.log.executions() - started; n != 0 {
		t.Fatalf("the replayed press started %d workflows: %v", n, w.log.started)
	}
	if w.status(hookDeploy).Paused {
		t.Fatal("the replayed Pause paused the deployment again")
	}
	// Pressed again by ana once the check run shows the deployment
	// resumed, Pause is a new press.
	if out := press(pressPayload(t, "ana", workflows.ActionPause, waiting+" (resumed by ana)"), "cccccccc-0000-4000-8000-000000000003"); !out[0].OK {
		t.Fatalf("second pause: %+v", out)
	}
	w.comment(502, "ana", "/resume")

	// An Approve button for a gate the deployment does not have approves
	// nothing.
	if out := press(pressPayload(t, "ana", workflows.ApproveIdentifier("every-wave-2"), waiting), "dddddddd-0000-4000-8000-000000000004"); out[0].OK ||
		!strings.Contains(out[0].Message, "gate the deployment does not have") {
		t.Fatalf("approve for another gate: %+v", out)
	}
	if out := press(pressPayload(t, "ana", approve, waiting), "eeeeeeee-0000-4000-8000-000000000005"); !out[0].OK || !strings.Contains(out[0].Message, "1 of 2") {
		t.Fatalf("ana's approval: %+v", out)
	}
	started = w.log.executions()
	w.deliverAs(pressPayload(t, "ana", approve, waiting), "ffffffff-0000-4000-8000-000000000006", 202)
	if n := w.log.executions() - started; n != 0 {
		t.Fatalf("the replayed approval started %d workflows", n)
	}
	// bo presses the same button on the same check run: his own approval.
	if out := press(pressPayload(t, "bo", approve, waiting), "99999999-0000-4000-8000-000000000007"); !out[0].OK || !strings.Contains(out[0].Message, "gate open") {
		t.Fatalf("bo's approval: %+v", out)
	}
	st := w.result(w.c.GetWorkflow(context.Background(), workflows.DeployWorkflowID("c1", hookDeploy), ""))
	if st.Phase != workflows.PhaseSucceeded || !slices.Equal([]string{st.Gates[0].Approvals[0].Login, st.Gates[0].Approvals[1].Login}, []string{"ana", "bo"}) {
		t.Fatalf("deployment %s, gate %+v", st.Phase, st.Gates[0])
	}
}

// TestPlanCheckFollowsThePRState (issue 13, item 3): the plan check runs
// again when a label is added or removed, when the PR moves to another
// base, and on a push, and once per state: a redelivery, or a replay under
// a new GUID, of the same event checks nothing again; a title edit checks
// nothing.
func TestPlanCheckFollowsThePRState(t *testing.T) {
	w := newHookWorld(t)
	base := webhooktest.Example(t, "pull_request/opened.payload.json")
	bug := base.Get("pull_request.labels").([]any)[0].(map[string]any)
	withName := func(name string) map[string]any {
		l := map[string]any{}
		for k, v := range bug {
			l[k] = v
		}
		l["name"] = name
		return l
	}
	pr := func(action, head, updated string, labels ...string) *webhooktest.Payload {
		file := "pull_request/opened.payload.json"
		if action == "labeled" || action == "unlabeled" || action == "synchronize" {
			file = "pull_request/" + action + ".payload.json"
		}
		p := webhooktest.Example(t, file)
		ls := []any{}
		for _, l := range labels {
			ls = append(ls, withName(l))
		}
		p.Set(t, "action", action).Set(t, "number", hookPR).Set(t, "pull_request.number", hookPR).
			Set(t, "pull_request.labels", ls).Set(t, "pull_request.updated_at", updated).
			Set(t, "pull_request.base.ref", "main").Set(t, "pull_request.head.sha", head).Set(t, "pull_request.user.login", "author")
		if action == "synchronize" {
			p.Set(t, "before", hookOld).Set(t, "after", head)
		}
		return inRepo(t, p, "author")
	}
	checks := func(n int) []workflows.PlanPRInput {
		t.Helper()
		w.eventually(fmt.Sprintf("%d plan checks", n), 30*time.Second, func() bool {
			w.checker.mu.Lock()
			defer w.checker.mu.Unlock()
			return len(w.checker.calls) >= n
		})
		w.checker.mu.Lock()
		defer w.checker.mu.Unlock()
		return slices.Clone(w.checker.calls)
	}

	w.deliver(pr("opened", hookOld, "2026-03-02T09:00:00Z"), 202)
	checks(1)
	labeled := pr("labeled", hookOld, "2026-03-02T09:01:00Z", "hotfix").Set(t, "label", withName("hotfix"))
	w.deliverAs(labeled, "11111111-0000-4000-8000-000000000001", 202)
	if got := checks(2); !slices.Equal(got[1].Labels, []string{"hotfix"}) {
		t.Fatalf("check after the label: %+v", got[1])
	}
	// GitHub's redelivery (same GUID), and a replay under a new one.
	started := w.log.executions()
	w.deliverAs(labeled, "11111111-0000-4000-8000-000000000001", 202)
	w.deliverAs(labeled, "11111111-0000-4000-8000-000000000002", 202)
	if n := w.log.executions() - started; n != 0 {
		t.Fatalf("a redelivered label started %d checks", n)
	}
	// The label removed: the labels are as when the PR opened, and that
	// is a new state to check.
	w.deliver(pr("unlabeled", hookOld, "2026-03-02T09:02:00Z").Set(t, "label", withName("hotfix")), 202)
	if got := checks(3); len(got[2].Labels) != 0 {
		t.Fatalf("check after the label went: %+v", got[2])
	}
	// A title edit changes nothing the policies read.
	w.deliver(pr("edited", hookOld, "2026-03-02T09:03:00Z").Set(t, "changes", map[string]any{"title": map[string]any{"from": "web 9"}}), 204)
	// Moved from another base onto the deploy branch.
	w.deliver(pr("edited", hookOld, "2026-03-02T09:04:00Z").Set(t, "changes", map[string]any{"base": map[string]any{
		"ref": map[string]any{"from": "release"}, "sha": map[string]any{"from": hookMerge}}}), 202)
	if got := checks(4); got[3].BaseRef != "main" {
		t.Fatalf("check after the base change: %+v", got[3])
	}
	w.deliver(pr("synchronize", hookHead, "2026-03-02T09:05:00Z"), 202)
	if got := checks(5); got[4].HeadSHA != hookHead {
		t.Fatalf("check after the push: %+v", got[4])
	}
	if got := checks(5); len(got) != 5 {
		t.Fatalf("%d plan checks, want 5", len(got))
	}
}
