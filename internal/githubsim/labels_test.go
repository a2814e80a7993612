package githubsim

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
)

func TestLabelsNeedTriageAndDeliverLabeledAndUnlabeled(t *testing.T) {
	rc := &receiver{t: t}
	s := prSim(t, Options{Hooks: []Hook{{Handler: rc}}})
	if err := s.SetPermission("acme/gitops", "bob", "triage"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateLabel(bg, "acme/gitops", "hotfix"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateLabel(bg, "acme/gitops", "HotFix"); err == nil {
		t.Error("creating a label twice (names are case-insensitive) succeeded")
	}

	// carol can only read: GitHub refuses her labels.
	if _, err := s.AddLabels(bg, "acme/gitops", 1, "carol", "hotfix"); err == nil {
		t.Error("a reader labelled a pull request")
	}
	// alice wrote the PR but has no role on the repository either.
	if _, err := s.AddLabels(bg, "acme/gitops", 1, "alice", "hotfix"); err == nil {
		t.Error("the author without triage access labelled her pull request")
	}
	if got := s.Labels("acme/gitops", 1); len(got) != 0 {
		t.Fatalf("labels after refused adds: %v", got)
	}

	// bob (triage) adds an existing label and a new one, created on the fly.
	got := try(s.AddLabels(bg, "acme/gitops", 1, "bob", "hotfix", "Prod-Freeze")).must(t)
	if want := []string{"hotfix", "Prod-Freeze"}; !reflect.DeepEqual(got, want) {
		t.Errorf("AddLabels returned %v, want %v", got, want)
	}
	// Names match case-insensitively: the label is already there, nothing happens.
	try(s.AddLabels(bg, "acme/gitops", 1, "bob", "HOTFIX")).must(t)
	labeled := s.DeliveriesOf("pull_request", "labeled")
	if len(labeled) != 2 {
		t.Fatalf("%d labeled deliveries, want 2 (one per new label)", len(labeled))
	}
	p := decode(t, labeled[1].Payload)
	if p["label"].(map[string]any)["name"] != "Prod-Freeze" || p["sender"].(map[string]any)["login"] != "bob" {
		t.Errorf("second labeled payload: label %v sender %v", p["label"], p["sender"])
	}
	if n := len(p["pull_request"].(map[string]any)["labels"].([]any)); n != 2 {
		t.Errorf("pull_request.labels in the second labeled payload has %d labels, want 2", n)
	}
	pr := try(s.PullRequest("acme/gitops", 1)).must(t)
	if want := []string{"hotfix", "Prod-Freeze"}; !reflect.DeepEqual(pr.Labels, want) {
		t.Errorf("PullRequest.Labels = %v, want %v", pr.Labels, want)
	}

	// The REST API shows them on the pull request and the issue.
	gh := client(t, s, "")
	pj := res(gh.PullRequests.Get(bg, "acme", "gitops", 1)).must(t)
	if len(pj.Labels) != 2 {
		t.Fatalf("pull request JSON has %d labels", len(pj.Labels))
	}
	l := pj.Labels[0]
	if l.GetName() != "hotfix" || l.GetID() == 0 || l.GetNodeID() == "" || l.GetColor() != "ededed" || l.GetDefault() ||
		!strings.HasSuffix(l.GetURL(), "/api/v3/repos/acme/gitops/labels/hotfix") {
		t.Errorf("label JSON %+v", l)
	}
	issue := res(gh.Issues.Get(bg, "acme", "gitops", 1)).must(t)
	if len(issue.Labels) != 2 {
		t.Errorf("issue JSON has %d labels", len(issue.Labels))
	}

	// Through go-github: list, add (as the App), remove; a reader is refused.
	bot := client(t, s, try(s.InstallationToken(101)).must(t))
	ls := res(bot.Issues.AddLabelsToIssue(bg, "acme", "gitops", 1, []string{"deploy:prod"})).must(t)
	if len(ls) != 3 {
		t.Errorf("POST labels answered %d labels, want all 3 of the issue", len(ls))
	}
	carol := client(t, s, try(s.Token("carol")).must(t))
	if _, _, err := carol.Issues.AddLabelsToIssue(bg, "acme", "gitops", 1, []string{"x"}); !isStatus(err, http.StatusForbidden) {
		t.Errorf("carol adding a label over REST: %v", err)
	}
	if _, err := carol.Issues.RemoveLabelForIssue(bg, "acme", "gitops", 1, "hotfix"); !isStatus(err, http.StatusForbidden) {
		t.Errorf("carol removing a label over REST: %v", err)
	}
	if _, err := bot.Issues.RemoveLabelForIssue(bg, "acme", "gitops", 1, "deploy:prod"); err != nil {
		t.Fatal(err)
	}
	if _, err := bot.Issues.RemoveLabelForIssue(bg, "acme", "gitops", 1, "deploy:prod"); !isStatus(err, http.StatusNotFound) {
		t.Errorf("removing a label the issue does not have: %v", err)
	}
	listed := res(gh.Issues.ListLabelsByIssue(bg, "acme", "gitops", 1, nil)).must(t)
	if len(listed) != 2 || listed[0].GetName() != "hotfix" || listed[1].GetName() != "Prod-Freeze" {
		t.Errorf("listed labels %v", listed)
	}

	// bob removes one with the helper; a reader cannot.
	if err := s.RemoveLabel(bg, "acme/gitops", 1, "carol", "hotfix"); err == nil {
		t.Error("a reader removed a label")
	}
	if err := s.RemoveLabel(bg, "acme/gitops", 1, "bob", "HotFix"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveLabel(bg, "acme/gitops", 1, "bob", "hotfix"); err == nil {
		t.Error("removing a label twice succeeded")
	}
	if got := s.Labels("acme/gitops", 1); !reflect.DeepEqual(got, []string{"Prod-Freeze"}) {
		t.Errorf("labels at the end: %v", got)
	}
	unlabeled := s.DeliveriesOf("pull_request", "unlabeled")
	if len(unlabeled) != 2 {
		t.Fatalf("%d unlabeled deliveries, want 2", len(unlabeled))
	}
	p = decode(t, unlabeled[1].Payload)
	if p["label"].(map[string]any)["name"] != "hotfix" || p["sender"].(map[string]any)["login"] != "bob" {
		t.Errorf("unlabeled payload: label %v sender %v", p["label"], p["sender"])
	}
	if n := len(p["pull_request"].(map[string]any)["labels"].([]any)); n != 1 {
		t.Errorf("pull_request.labels after the removal has %d labels, want 1", n)
	}
}

func TestPullRequestOpenedWithLabels(t *testing.T) {
	rc := &receiver{t: t}
	s := prSim(t, Options{Hooks: []Hook{{Handler: rc}}})
	if err := s.SetPermission("acme/gitops", "bob", "write"); err != nil {
		t.Fatal(err)
	}
	try(s.Push(bg, PushSpec{Repo: "acme/gitops", Branch: "g", Files: map[string]string{"b": "1\n"}, Author: "bob"})).must(t)
	// Without triage access the labels are refused, and no pull request is opened.
	if _, err := s.OpenPullRequest(bg, PullRequestSpec{Repo: "acme/gitops", Head: "g", Title: "G", Author: "carol", Labels: []string{"hotfix"}}); err == nil {
		t.Error("a reader opened a labelled pull request")
	}
	pr := try(s.OpenPullRequest(bg, PullRequestSpec{Repo: "acme/gitops", Head: "g", Title: "G", Author: "bob", Labels: []string{"hotfix", "hotfix"}})).must(t)
	if !reflect.DeepEqual(pr.Labels, []string{"hotfix"}) {
		t.Errorf("labels at open: %v", pr.Labels)
	}
	// GitHub sends opened (already carrying the labels), then labeled per label.
	var seq []string
	for _, d := range s.Deliveries() {
		if d.Event == "pull_request" && strings.Contains(string(d.Payload), `"number":2`) {
			seq = append(seq, d.Action)
		}
	}
	if !reflect.DeepEqual(seq, []string{"opened", "labeled"}) {
		t.Errorf("deliveries for #2: %v", seq)
	}
	opened := decode(t, s.DeliveriesOf("pull_request", "opened")[1].Payload)
	if ls := opened["pull_request"].(map[string]any)["labels"].([]any); len(ls) != 1 {
		t.Errorf("opened payload labels %v", ls)
	}
}
