package githubsim

import (
	"net/http"
	"testing"

	"github.com/google/go-github/v60/github"
)

func TestDismissedReviewsAreDismissedEverywhere(t *testing.T) {
	rc := &receiver{t: t}
	s := prSim(t, Options{Hooks: []Hook{{Handler: rc}}})
	try(s.AddUser("dave", UserOptions{})).must(t)
	for _, u := range []string{"bob", "dave"} {
		if err := s.SetPermission("acme/gitops", u, "write"); err != nil {
			t.Fatal(err)
		}
	}
	approve := func(who string) Review {
		return try(s.SubmitReview(bg, ReviewSpec{Repo: "acme/gitops", Number: 1, Reviewer: who, State: "APPROVE"})).must(t)
	}
	bobs, daves := approve("bob"), approve("dave")
	comment := try(s.SubmitReview(bg, ReviewSpec{Repo: "acme/gitops", Number: 1, Reviewer: "carol", State: "COMMENT", Body: "hm"})).must(t)

	// Refusals: a reader, no message, a comment-only review, an unknown review.
	if _, err := s.DismissReview(bg, "acme/gitops", 1, bobs.ID, "carol", "nope"); err == nil {
		t.Error("a reader dismissed a review")
	}
	if _, err := s.DismissReview(bg, "acme/gitops", 1, bobs.ID, "dave", ""); err == nil {
		t.Error("a dismissal without a message succeeded")
	}
	if _, err := s.DismissReview(bg, "acme/gitops", 1, comment.ID, "dave", "noise"); err == nil {
		t.Error("a commented review was dismissed")
	}
	if _, err := s.DismissReview(bg, "acme/gitops", 1, 1, "dave", "x"); err == nil {
		t.Error("an unknown review was dismissed")
	}
	if n := len(s.DeliveriesOf("pull_request_review", "dismissed")); n != 0 {
		t.Fatalf("%d dismissed deliveries after refusals", n)
	}

	// dave dismisses bob's approval with the helper.
	got := try(s.DismissReview(bg, "acme/gitops", 1, bobs.ID, "dave", "Approved before the last push")).must(t)
	if got.State != "DISMISSED" || got.ID != bobs.ID || got.Reviewer != "bob" {
		t.Errorf("dismissed review %+v", got)
	}
	if _, err := s.DismissReview(bg, "acme/gitops", 1, bobs.ID, "dave", "again"); err == nil {
		t.Error("a review was dismissed twice")
	}
	ds := s.DeliveriesOf("pull_request_review", "dismissed")
	if len(ds) != 1 {
		t.Fatalf("%d dismissed deliveries", len(ds))
	}
	p := decode(t, ds[0].Payload)
	rv := p["review"].(map[string]any)
	if rv["state"] != "dismissed" || int64(rv["id"].(float64)) != bobs.ID || p["sender"].(map[string]any)["login"] != "dave" {
		t.Errorf("dismissed payload: review %v sender %v", rv, p["sender"])
	}

	// Through go-github: bob dismisses dave's approval; a reader and a
	// missing message are refused.
	bob := client(t, s, try(s.Token("bob")).must(t))
	carol := client(t, s, try(s.Token("carol")).must(t))
	if _, _, err := carol.PullRequests.DismissReview(bg, "acme", "gitops", 1, daves.ID,
		&github.PullRequestReviewDismissalRequest{Message: github.String("x")}); !isStatus(err, http.StatusForbidden) {
		t.Errorf("a reader dismissing over REST: %v", err)
	}
	if _, _, err := bob.PullRequests.DismissReview(bg, "acme", "gitops", 1, daves.ID,
		&github.PullRequestReviewDismissalRequest{}); !isStatus(err, http.StatusUnprocessableEntity) {
		t.Errorf("dismissing without a message over REST: %v", err)
	}
	out := res(bob.PullRequests.DismissReview(bg, "acme", "gitops", 1, daves.ID,
		&github.PullRequestReviewDismissalRequest{Message: github.String("stale")})).must(t)
	if out.GetState() != "DISMISSED" || out.GetID() != daves.ID {
		t.Errorf("REST dismissal answered %v", out)
	}
	one := res(bob.PullRequests.GetReview(bg, "acme", "gitops", 1, daves.ID)).must(t)
	if one.GetState() != "DISMISSED" {
		t.Errorf("GET review state %s", one.GetState())
	}

	// Both approvals read as DISMISSED from the helper and the REST list.
	states := map[int64]string{}
	for _, r := range try(s.Reviews("acme/gitops", 1)).must(t) {
		states[r.ID] = r.State
	}
	for _, r := range res(bob.PullRequests.ListReviews(bg, "acme", "gitops", 1, nil)).must(t) {
		if states[r.GetID()] != r.GetState() {
			t.Errorf("review %d: helper says %s, REST says %s", r.GetID(), states[r.GetID()], r.GetState())
		}
	}
	if states[bobs.ID] != "DISMISSED" || states[daves.ID] != "DISMISSED" || states[comment.ID] != "COMMENTED" {
		t.Errorf("review states %v", states)
	}
}
