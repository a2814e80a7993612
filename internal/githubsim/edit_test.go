package githubsim

import (
	"net/http"
	"testing"

	"github.com/google/go-github/v60/github"
)

func strPtr(s string) *string { return &s }

func TestEditPullRequestTitleBodyAndBase(t *testing.T) {
	rc := &receiver{t: t}
	s := prSim(t, Options{Hooks: []Hook{{Handler: rc}}})
	if err := s.SetPermission("acme/gitops", "bob", "write"); err != nil {
		t.Fatal(err)
	}
	release := try(s.Push(bg, PushSpec{Repo: "acme/gitops", Branch: "release", Files: map[string]string{"policies/p.yaml": "approvals: 0\n"}})).must(t)
	mainSHA := try(s.BranchSHA("acme/gitops", "main")).must(t)
	edited := func() []Delivery { return s.DeliveriesOf("pull_request", "edited") }

	// carol can only read and did not write the pull request.
	if _, err := s.EditPullRequest(bg, "acme/gitops", 1, "carol", PullRequestEdit{Title: strPtr("hijacked")}); err == nil {
		t.Error("a reader edited someone else's pull request")
	}
	// Refusals: an empty title, a base that does not exist.
	if _, err := s.EditPullRequest(bg, "acme/gitops", 1, "alice", PullRequestEdit{Title: strPtr("")}); err == nil {
		t.Error("the title was emptied")
	}
	if _, err := s.EditPullRequest(bg, "acme/gitops", 1, "alice", PullRequestEdit{Base: strPtr("nope")}); err == nil {
		t.Error("the base moved to a branch that does not exist")
	}
	// Nothing changes: nothing is delivered.
	try(s.EditPullRequest(bg, "acme/gitops", 1, "alice", PullRequestEdit{Title: strPtr("Change a")})).must(t)
	if n := len(edited()); n != 0 {
		t.Fatalf("%d edited deliveries before any change", n)
	}

	// The author edits title and body.
	pr := try(s.EditPullRequest(bg, "acme/gitops", 1, "alice", PullRequestEdit{Title: strPtr("Change a, again"), Body: strPtr("Why: because.")})).must(t)
	if pr.Title != "Change a, again" || pr.Body != "Why: because." {
		t.Errorf("after the edit: %+v", pr)
	}
	ds := edited()
	if len(ds) != 1 {
		t.Fatalf("%d edited deliveries", len(ds))
	}
	ch := decode(t, ds[0].Payload)["changes"].(map[string]any)
	if ch["title"].(map[string]any)["from"] != "Change a" || ch["body"].(map[string]any)["from"] != "" || ch["base"] != nil {
		t.Errorf("changes %v", ch)
	}

	// bob (write) moves the base to release.
	pr = try(s.EditPullRequest(bg, "acme/gitops", 1, "bob", PullRequestEdit{Base: strPtr("release")})).must(t)
	if pr.BaseRef != "release" || pr.BaseSHA != release {
		t.Errorf("base after the edit: %s at %s, want release at %s", pr.BaseRef, pr.BaseSHA, release)
	}
	ds = edited()
	if len(ds) != 2 {
		t.Fatalf("%d edited deliveries", len(ds))
	}
	p := decode(t, ds[1].Payload)
	base := p["changes"].(map[string]any)["base"].(map[string]any)
	if base["ref"].(map[string]any)["from"] != "main" || base["sha"].(map[string]any)["from"] != mainSHA {
		t.Errorf("changes.base %v, want main at %s", base, mainSHA)
	}
	if _, ok := p["changes"].(map[string]any)["title"]; ok {
		t.Error("changes.title present although the title did not change")
	}
	if p["pull_request"].(map[string]any)["base"].(map[string]any)["ref"] != "release" || p["sender"].(map[string]any)["login"] != "bob" {
		t.Errorf("edited payload: base %v sender %v", p["pull_request"].(map[string]any)["base"], p["sender"])
	}

	// Through go-github: a reader is refused, a bad base is a 422, bob edits
	// and closes, the author reopens.
	gh := client(t, s, try(s.Token("bob")).must(t))
	carol := client(t, s, try(s.Token("carol")).must(t))
	if _, _, err := carol.PullRequests.Edit(bg, "acme", "gitops", 1, &github.PullRequest{Title: github.String("x")}); !isStatus(err, http.StatusForbidden) {
		t.Errorf("a reader editing over REST: %v", err)
	}
	if _, _, err := gh.PullRequests.Edit(bg, "acme", "gitops", 1, &github.PullRequest{Base: &github.PullRequestBranch{Ref: github.String("nope")}}); !isStatus(err, http.StatusUnprocessableEntity) {
		t.Errorf("a missing base over REST: %v", err)
	}
	got := res(gh.PullRequests.Edit(bg, "acme", "gitops", 1, &github.PullRequest{Base: &github.PullRequestBranch{Ref: github.String("main")}})).must(t)
	if got.GetBase().GetRef() != "main" || got.GetBase().GetSHA() != mainSHA {
		t.Errorf("REST edit answered base %s at %s", got.GetBase().GetRef(), got.GetBase().GetSHA())
	}
	got = res(gh.PullRequests.Edit(bg, "acme", "gitops", 1, &github.PullRequest{State: github.String("closed")})).must(t)
	if got.GetState() != "closed" || len(s.DeliveriesOf("pull_request", "closed")) != 1 {
		t.Errorf("closing over REST: state %s", got.GetState())
	}
	if _, err := s.EditPullRequest(bg, "acme/gitops", 1, "bob", PullRequestEdit{Base: strPtr("release")}); err == nil {
		t.Error("the base of a closed pull request moved")
	}
	alice := client(t, s, try(s.Token("alice")).must(t))
	got = res(alice.PullRequests.Edit(bg, "acme", "gitops", 1, &github.PullRequest{State: github.String("open")})).must(t)
	if got.GetState() != "open" || len(s.DeliveriesOf("pull_request", "reopened")) != 1 {
		t.Errorf("reopening over REST: state %s", got.GetState())
	}
	if n := len(edited()); n != 3 {
		t.Errorf("%d edited deliveries at the end, want 3", n)
	}
}
