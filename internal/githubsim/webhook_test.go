package githubsim

import (
	"bytes"
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-github/v60/github"
)

// scenario drives one pull request through its life and returns the
// simulator, the receiver of the App's hook and the repository-hook receiver.
func scenario(t *testing.T) (*Server, *receiver, *receiver) {
	t.Helper()
	app := &receiver{t: t, secret: "app-secret"}
	repoHook := &receiver{t: t, secret: "repo-secret"}
	s := newSim(t, Options{Hooks: []Hook{{URL: "https://prdeploy.example/webhook", Handler: app, Secret: "app-secret"}}})
	repoHookID := s.AddHook(Hook{Handler: repoHook, Secret: "repo-secret", Repo: "acme/gitops"})
	for _, u := range []string{"alice", "bob"} {
		try(s.AddUser(u, UserOptions{})).must(t)
	}
	try(s.AddUser("renovate", UserOptions{Bot: true})).must(t)
	if err := s.AddTeam("acme", "sre", TeamOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddTeamMember("acme", "sre", "bob", TeamMember{}); err != nil {
		t.Fatal(err)
	}
	try(s.CreateRepo(bg, RepoSpec{Repo: "acme/gitops", Files: map[string]string{
		"fleet.yaml": "clusters: []\n", "services/api/deployment.yaml": "image: api:1\n"}})).must(t)
	if err := s.SetPermission("acme/gitops", "alice", "write"); err != nil {
		t.Fatal(err)
	}

	try(s.Ping(bg, 90001)).must(t)
	try(s.Ping(bg, repoHookID)).must(t)
	try(s.Push(bg, PushSpec{Repo: "acme/gitops", Branch: "deploy-api", Author: "alice",
		Files: map[string]string{"deploys/api.yaml": "deployment: api\n"}, Message: "Deploy api 2"})).must(t)
	pr := try(s.OpenPullRequest(bg, PullRequestSpec{Repo: "acme/gitops", Head: "deploy-api", Title: "Deploy api 2",
		Body: "Rolls api to 2.", Author: "alice"})).must(t)
	try(s.Push(bg, PushSpec{Repo: "acme/gitops", Branch: "deploy-api", Author: "alice",
		Files: map[string]string{"services/api/deployment.yaml": "image: api:2\n"}})).must(t)
	try(s.AddLabels(bg, "acme/gitops", pr.Number, "alice", "hotfix", "canary")).must(t)
	if err := s.RemoveLabel(bg, "acme/gitops", pr.Number, "alice", "canary"); err != nil {
		t.Fatal(err)
	}
	c := try(s.AddComment(bg, "acme/gitops", pr.Number, "bob", "/approve")).must(t)
	if err := s.EditComment(bg, "acme/gitops", c.ID, "bob", "/approve please"); err != nil {
		t.Fatal(err)
	}
	stale := try(s.SubmitReview(bg, ReviewSpec{Repo: "acme/gitops", Number: pr.Number, Reviewer: "bob", State: "APPROVE"})).must(t)
	try(s.DismissReview(bg, "acme/gitops", pr.Number, stale.ID, "alice", "Approved before the last change")).must(t)
	try(s.SubmitReview(bg, ReviewSpec{Repo: "acme/gitops", Number: pr.Number, Reviewer: "bob", State: "APPROVE", Body: "LGTM"})).must(t)

	// The App (installation token) reports a check run with a button and comments.
	tok := try(s.InstallationToken(101)).must(t)
	gh := client(t, s, tok)
	head := try(s.BranchSHA("acme/gitops", "deploy-api")).must(t)
	cr := res(gh.Checks.CreateCheckRun(bg, "acme", "gitops", github.CreateCheckRunOptions{
		Name: "prdeploy/plan", HeadSHA: head, Status: github.String("in_progress"),
		Output:  &github.CheckRunOutput{Title: github.String("Plan"), Summary: github.String("3 tenants")},
		Actions: []*github.CheckRunAction{{Label: "Approve", Description: "Approve the rollout", Identifier: "approve"}},
	})).must(t)
	try(s.ClickCheckRunAction(bg, "acme/gitops", cr.GetID(), "approve", "bob")).must(t)
	bc := res(gh.Issues.CreateComment(bg, "acme", "gitops", pr.Number, &github.IssueComment{Body: github.String("Plan: 3 tenants")})).must(t)
	if _, err := gh.Issues.DeleteComment(bg, "acme", "gitops", bc.GetID()); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteComment(bg, "acme/gitops", c.ID, "bob"); err != nil {
		t.Fatal(err)
	}

	// A second pull request is closed and reopened, the first one merged.
	try(s.Push(bg, PushSpec{Repo: "acme/gitops", Branch: "other", Files: map[string]string{"x": "1\n"}, Author: "renovate[bot]"})).must(t)
	pr2 := try(s.OpenPullRequest(bg, PullRequestSpec{Repo: "acme/gitops", Head: "other", Title: "Other", Author: "renovate[bot]"})).must(t)
	if err := s.ClosePullRequest(bg, "acme/gitops", pr2.Number, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := s.ReopenPullRequest(bg, "acme/gitops", pr2.Number, "alice"); err != nil {
		t.Fatal(err)
	}
	try(s.MergePullRequest(bg, "acme/gitops", pr.Number, MergeOptions{Actor: "bob"})).must(t)
	try(s.EditPullRequest(bg, "acme/gitops", pr.Number, "alice", PullRequestEdit{Body: strPtr("Rolls api to 2, then 3.")})).must(t)
	try(s.Push(bg, PushSpec{Repo: "acme/gitops", Branch: "release", Files: map[string]string{"r": "1\n"}})).must(t)
	try(s.EditPullRequest(bg, "acme/gitops", pr2.Number, "alice", PullRequestEdit{Title: strPtr("Other, for release"), Base: strPtr("release")})).must(t)
	try(s.MergePullRequest(bg, "acme/gitops", pr2.Number, MergeOptions{Actor: "alice", Method: "rebase"})).must(t)
	return s, app, repoHook
}

func TestEveryPayloadValidatesAgainstGitHubSchemas(t *testing.T) {
	s, app, repoHook := scenario(t)
	sc := loadSchemas(t)
	want := map[string]bool{
		"ping/": true, "pull_request/opened": true, "pull_request/synchronize": true, "pull_request/closed": true,
		"pull_request/reopened": true, "issue_comment/created": true, "issue_comment/edited": true,
		"issue_comment/deleted": true, "pull_request_review/submitted": true, "check_run/requested_action": true,
		"pull_request/labeled": true, "pull_request/unlabeled": true, "pull_request_review/dismissed": true,
		"pull_request/edited": true,
	}
	seen := map[string]int{}
	ds := s.Deliveries()
	if len(ds) == 0 {
		t.Fatal("no deliveries")
	}
	for _, d := range ds {
		key := d.Event + "/" + d.Action
		seen[key]++
		if err := sc.validate(d.Event, d.Action, d.Payload); err != nil {
			t.Errorf("delivery %d (%s, hook %d) does not match the schema:\n%v\npayload: %s", d.ID, key, d.HookID, err, d.Payload)
		}
		if _, err := github.ParseWebHook(d.Event, d.Payload); err != nil {
			t.Errorf("delivery %d (%s): go-github cannot parse it: %v", d.ID, key, err)
		}
		if d.StatusCode != http.StatusAccepted {
			t.Errorf("delivery %d (%s): status %d, error %q", d.ID, key, d.StatusCode, d.Error)
		}
	}
	t.Logf("validated %d deliveries: %v", len(ds), seen)
	for k := range want {
		if seen[k] == 0 {
			t.Errorf("no %s delivery (got %v)", k, seen)
		}
	}
	// Each event went to both hooks (the App subscribes to all four event types).
	if got, want := len(app.all())+len(repoHook.all()), len(ds); got != want {
		t.Errorf("receivers got %d requests, log has %d deliveries", got, want)
	}
	if len(app.all()) != len(repoHook.all()) {
		t.Errorf("App hook got %d deliveries, repository hook %d", len(app.all()), len(repoHook.all()))
	}
}

func TestSchemaValidatorAcceptsGitHubExamplesAndRejectsExtraFields(t *testing.T) {
	sc := loadSchemas(t)
	for _, ex := range []struct{ file, event, action string }{
		{"pull_request.opened.payload.json", "pull_request", "opened"},
		{"issue_comment.created.payload.json", "issue_comment", "created"},
	} {
		b, err := os.ReadFile(schemaDir + "/examples/" + ex.file)
		if err != nil {
			t.Fatal(err)
		}
		if err := sc.validate(ex.event, ex.action, b); err != nil {
			t.Errorf("GitHub's example %s does not validate: %v", ex.file, err)
		}
		bad := bytes.Replace(b, []byte(`"action":`), []byte(`"unexpected_field": 1, "action":`), 1)
		if err := sc.validate(ex.event, ex.action, bad); err == nil {
			t.Errorf("%s with an unknown top-level field validated; the validator is too lenient", ex.file)
		}
	}
}

func TestDeliveriesCarryGitHubHeadersAndSignatures(t *testing.T) {
	s, app, repoHook := scenario(t)
	guid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	guids := map[string]bool{}
	for _, rc := range []*receiver{app, repoHook} {
		for _, r := range rc.all() {
			h := r.Header
			if !strings.HasPrefix(h.Get("User-Agent"), "GitHub-Hookshot/") {
				t.Errorf("User-Agent %q", h.Get("User-Agent"))
			}
			if h.Get("Content-Type") != "application/json" {
				t.Errorf("Content-Type %q", h.Get("Content-Type"))
			}
			if !guid.MatchString(h.Get("X-GitHub-Delivery")) || guids[h.Get("X-GitHub-Delivery")] {
				t.Errorf("X-GitHub-Delivery %q is not a fresh GUID", h.Get("X-GitHub-Delivery"))
			}
			guids[h.Get("X-GitHub-Delivery")] = true
			if h.Get("X-GitHub-Event") == "" || h.Get("X-GitHub-Hook-ID") == "" {
				t.Errorf("missing event or hook ID: %v", h)
			}
			wantType := "integration"
			if rc == repoHook {
				wantType = "repository"
			}
			if got := h.Get("X-GitHub-Hook-Installation-Target-Type"); got != wantType {
				t.Errorf("target type %q, want %q", got, wantType)
			}
			p := decode(t, r.Body)
			_, hasInst := p["installation"]
			if ev := h.Get("X-GitHub-Event"); ev != "ping" && hasInst != (rc == app) {
				t.Errorf("%s to the %s hook: installation present = %v", ev, wantType, hasInst)
			}
		}
	}
	// The signature is over the exact bytes with the hook's own secret:
	// checking a repository-hook delivery with the App secret fails.
	d := s.DeliveriesOf("pull_request", "opened")[1]
	if d.Header.Get("X-Hub-Signature-256") == "sha256="+hmacHex(sha256.New, "app-secret", d.Payload) {
		t.Error("the repository hook's delivery verifies with the App's secret")
	}
}

func TestRedeliverSendsTheSameBodyAndGUID(t *testing.T) {
	rc := &receiver{t: t, secret: "s", status: http.StatusInternalServerError}
	s := newSim(t, Options{Hooks: []Hook{{Handler: rc, Secret: "s"}}})
	try(s.CreateRepo(bg, RepoSpec{Repo: "acme/gitops", Files: map[string]string{"a": "1\n"}})).must(t)
	try(s.Push(bg, PushSpec{Repo: "acme/gitops", Branch: "b", Files: map[string]string{"a": "2\n"}})).must(t)
	try(s.OpenPullRequest(bg, PullRequestSpec{Repo: "acme/gitops", Head: "b", Title: "t"})).must(t)
	first := s.DeliveriesOf("pull_request", "opened")
	if len(first) != 1 || first[0].StatusCode != http.StatusInternalServerError {
		t.Fatalf("first delivery: %+v", first)
	}
	rc.mu.Lock()
	rc.status = http.StatusOK
	rc.mu.Unlock()
	again := try(s.Redeliver(bg, first[0].ID)).must(t)
	if again.StatusCode != http.StatusOK || !again.Redelivery || again.GUID != first[0].GUID || again.ID == first[0].ID {
		t.Errorf("redelivery %+v", again)
	}
	if last, ok := s.LastDelivery(); !ok || last.ID != again.ID {
		t.Errorf("LastDelivery = %+v", last)
	}
	reqs := rc.all()
	if len(reqs) != 2 || !bytes.Equal(reqs[0].Body, reqs[1].Body) ||
		reqs[0].Header.Get("X-GitHub-Delivery") != reqs[1].Header.Get("X-GitHub-Delivery") {
		t.Errorf("redelivered request differs from the original")
	}
	if _, err := s.Redeliver(bg, 9999); err == nil {
		t.Error("redelivering an unknown delivery succeeded")
	}
}

func TestDeliveryOverHTTPRecordsStatusAndTransportErrors(t *testing.T) {
	rc := &receiver{t: t, secret: "s", status: http.StatusNoContent}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	s := newSim(t, Options{Hooks: []Hook{{URL: srv.URL + "/hook", Secret: "s"}, {URL: deadURL + "/hook"}}})
	d1 := try(s.Ping(bg, 90001)).must(t)
	d2 := try(s.Ping(bg, 90002)).must(t)
	if d1.StatusCode != http.StatusNoContent || d1.Error != "" {
		t.Errorf("delivery to a live hook: %+v", d1)
	}
	if d2.StatusCode != 0 || d2.Error == "" {
		t.Errorf("delivery to a dead hook: status %d error %q", d2.StatusCode, d2.Error)
	}
	if len(rc.all()) != 1 || rc.all()[0].Header.Get("X-GitHub-Hook-ID") != strconv.FormatInt(90001, 10) {
		t.Errorf("live hook got %d requests", len(rc.all()))
	}
	if len(s.Deliveries()) != 2 {
		t.Errorf("log has %d deliveries, want 2", len(s.Deliveries()))
	}
}

func TestPayloadsAreDeterministic(t *testing.T) {
	render := func() []string {
		s, _, _ := scenario(t)
		var out []string
		for _, d := range s.Deliveries() {
			host := strings.TrimPrefix(s.URL(), "http://")
			out = append(out, d.GUID+" "+strings.ReplaceAll(string(d.Payload), host, "HOST"))
		}
		return out
	}
	a, b := render(), render()
	if len(a) != len(b) {
		t.Fatalf("%d vs %d deliveries", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Errorf("delivery %d differs between two identical runs:\n%s\n%s", i, a[i], b[i])
		}
	}
}
