package githubsim

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-github/v60/github"
)

// prSim has acme/gitops with PR #1 by alice.
func prSim(t *testing.T, opts Options) *Server {
	t.Helper()
	s := newSim(t, opts)
	for _, u := range []string{"alice", "bob", "carol"} {
		try(s.AddUser(u, UserOptions{})).must(t)
	}
	try(s.CreateRepo(bg, RepoSpec{Repo: "acme/gitops", Files: map[string]string{"a": "1\n"}})).must(t)
	try(s.Push(bg, PushSpec{Repo: "acme/gitops", Branch: "f", Files: map[string]string{"a": "2\n"}, Author: "alice"})).must(t)
	try(s.OpenPullRequest(bg, PullRequestSpec{Repo: "acme/gitops", Head: "f", Title: "Change a", Author: "alice"})).must(t)
	return s
}

func TestIssueCommentsThroughGoGitHub(t *testing.T) {
	rc := &receiver{t: t}
	s := prSim(t, Options{Hooks: []Hook{{Handler: rc}}})
	bot := client(t, s, try(s.InstallationToken(101)).must(t))
	for i := 0; i < 5; i++ {
		res(bot.Issues.CreateComment(bg, "acme", "gitops", 1, &github.IssueComment{Body: github.String(strings.Repeat("x", i+1))})).must(t)
	}
	// Paginated listing follows Link headers.
	var all []*github.IssueComment
	opts := &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: 2}}
	for {
		page, resp, err := bot.Issues.ListComments(bg, "acme", "gitops", 1, opts)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if resp.NextPage == 0 {
			if resp.FirstPage != 1 || resp.PrevPage != 2 {
				t.Errorf("last page links: first %d prev %d", resp.FirstPage, resp.PrevPage)
			}
			break
		}
		opts.Page = resp.NextPage
	}
	if len(all) != 5 || all[4].GetBody() != "xxxxx" {
		t.Fatalf("listed %d comments", len(all))
	}
	c := all[0]
	if c.GetUser().GetLogin() != "prdeploy[bot]" || c.GetUser().GetType() != "Bot" {
		t.Errorf("bot comment: user %s (%s)", c.GetUser().GetLogin(), c.GetUser().GetType())
	}
	if !strings.HasSuffix(c.GetHTMLURL(), "/acme/gitops/pull/1#issuecomment-30001") {
		t.Errorf("html_url %s", c.GetHTMLURL())
	}
	ed := res(bot.Issues.EditComment(bg, "acme", "gitops", c.GetID(), &github.IssueComment{Body: github.String("edited")})).must(t)
	if ed.GetBody() != "edited" {
		t.Errorf("edited body %q", ed.GetBody())
	}
	if got := res(bot.Issues.GetComment(bg, "acme", "gitops", c.GetID())).must(t); got.GetBody() != "edited" {
		t.Errorf("get after edit: %q", got.GetBody())
	}
	// Someone else's comment: a reader may not edit or delete it.
	bobc := try(s.AddComment(bg, "acme/gitops", 1, "bob", "/approve")).must(t)
	carol := client(t, s, try(s.Token("carol")).must(t))
	if _, _, err := carol.Issues.EditComment(bg, "acme", "gitops", bobc.ID, &github.IssueComment{Body: github.String("hijack")}); !isStatus(err, http.StatusForbidden) {
		t.Errorf("carol editing bob's comment: %v", err)
	}
	if _, err := bot.Issues.DeleteComment(bg, "acme", "gitops", c.GetID()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := bot.Issues.GetComment(bg, "acme", "gitops", c.GetID()); !isStatus(err, http.StatusNotFound) {
		t.Errorf("deleted comment: %v", err)
	}
	// Validation.
	_, _, err := bot.Issues.CreateComment(bg, "acme", "gitops", 1, &github.IssueComment{Body: github.String(strings.Repeat("y", 65537))})
	var er *github.ErrorResponse
	if !errors.As(err, &er) || er.Response.StatusCode != http.StatusUnprocessableEntity || len(er.Errors) != 1 ||
		er.Errors[0].Message != "body is too long (maximum is 65536 characters)" {
		t.Errorf("too long comment: %v", err)
	}
	if _, _, err := bot.Issues.CreateComment(bg, "acme", "gitops", 99, &github.IssueComment{Body: github.String("x")}); !isStatus(err, http.StatusNotFound) {
		t.Errorf("comment on a missing PR: %v", err)
	}
	// The API's comments were delivered too, with the bot as sender.
	created := s.DeliveriesOf("issue_comment", "created")
	if len(created) != 6 {
		t.Errorf("%d issue_comment created deliveries, want 6", len(created))
	}
	ev := decode(t, created[0].Payload)
	if ev["sender"].(map[string]any)["login"] != "prdeploy[bot]" || ev["comment"].(map[string]any)["performed_via_github_app"] == nil {
		t.Errorf("API comment payload: sender %v", ev["sender"])
	}
	if len(s.DeliveriesOf("issue_comment", "edited")) != 1 || len(s.DeliveriesOf("issue_comment", "deleted")) != 1 {
		t.Error("edit/delete through the API not delivered")
	}
	if cs := try(s.Comments("acme/gitops", 1)).must(t); len(cs) != 5 || cs[4].Author != "bob" || !cs[0].ViaApp {
		t.Errorf("comments state: %+v", cs)
	}
}

func TestReactionsOnComments(t *testing.T) {
	s := prSim(t, Options{})
	c := try(s.AddComment(bg, "acme/gitops", 1, "bob", "/approve")).must(t)
	bot := client(t, s, try(s.InstallationToken(101)).must(t))
	r1, resp, err := bot.Reactions.CreateIssueCommentReaction(bg, "acme", "gitops", c.ID, "rocket")
	if err != nil || resp.StatusCode != http.StatusCreated || r1.GetContent() != "rocket" || r1.GetUser().GetLogin() != "prdeploy[bot]" {
		t.Fatalf("first reaction: %v %v", resp, err)
	}
	r2, resp, err := bot.Reactions.CreateIssueCommentReaction(bg, "acme", "gitops", c.ID, "rocket")
	if err != nil || resp.StatusCode != http.StatusOK || r2.GetID() != r1.GetID() {
		t.Errorf("same reaction again: status %v id %d, want 200 and the same reaction", resp.StatusCode, r2.GetID())
	}
	if _, _, err := bot.Reactions.CreateIssueCommentReaction(bg, "acme", "gitops", c.ID, "tada"); !isStatus(err, http.StatusUnprocessableEntity) {
		t.Errorf("invalid reaction: %v", err)
	}
	if err := s.AddReaction("acme/gitops", c.ID, "carol", "+1"); err != nil {
		t.Fatal(err)
	}
	got := res(bot.Issues.GetComment(bg, "acme", "gitops", c.ID)).must(t)
	if got.GetReactions().GetTotalCount() != 2 || got.GetReactions().GetRocket() != 1 || got.GetReactions().GetPlusOne() != 1 {
		t.Errorf("reaction rollup %+v", got.GetReactions())
	}
	list := res(bot.Reactions.ListIssueCommentReactions(bg, "acme", "gitops", c.ID, nil)).must(t)
	if len(list) != 2 {
		t.Errorf("listed %d reactions", len(list))
	}
	state := try(s.Comments("acme/gitops", 1)).must(t)
	if strings.Join(state[0].Reactions["rocket"], ",") != "prdeploy[bot]" {
		t.Errorf("reactions state %v", state[0].Reactions)
	}
	if _, err := bot.Reactions.DeleteIssueCommentReaction(bg, "acme", "gitops", c.ID, r1.GetID()); err != nil {
		t.Errorf("deleting a reaction: %v", err)
	}
}

func TestReviewsThroughTheAPIAndHelper(t *testing.T) {
	s := prSim(t, Options{})
	try(s.SubmitReview(bg, ReviewSpec{Repo: "acme/gitops", Number: 1, Reviewer: "bob", State: "approved"})).must(t)
	carol := client(t, s, try(s.Token("carol")).must(t))
	res(carol.PullRequests.CreateReview(bg, "acme", "gitops", 1, &github.PullRequestReviewRequest{
		Event: github.String("REQUEST_CHANGES"), Body: github.String("Wait for the freeze to end")})).must(t)
	alice := client(t, s, try(s.Token("alice")).must(t))
	_, _, err := alice.PullRequests.CreateReview(bg, "acme", "gitops", 1, &github.PullRequestReviewRequest{Event: github.String("APPROVE")})
	var er *github.ErrorResponse
	if !errors.As(err, &er) || er.Response.StatusCode != http.StatusUnprocessableEntity || len(er.Errors) != 1 ||
		er.Errors[0].Message != "Can not approve your own pull request" {
		t.Errorf("self-approval: %v", err)
	}
	rs := res(carol.PullRequests.ListReviews(bg, "acme", "gitops", 1, nil)).must(t)
	if len(rs) != 2 || rs[0].GetState() != "APPROVED" || rs[0].GetUser().GetLogin() != "bob" || rs[1].GetState() != "CHANGES_REQUESTED" {
		t.Errorf("reviews: %v", rs)
	}
	pr := try(s.PullRequest("acme/gitops", 1)).must(t)
	if rs[0].GetCommitID() != pr.HeadSHA || rs[0].SubmittedAt == nil {
		t.Errorf("review commit %s, want head %s", rs[0].GetCommitID(), pr.HeadSHA)
	}
}

func TestCollaboratorPermissionTeamsAndMembership(t *testing.T) {
	s := prSim(t, Options{})
	try(s.AddUser("dave", UserOptions{})).must(t)
	try(s.AddUser("deploy-bot", UserOptions{Bot: true})).must(t)
	for _, step := range []error{
		s.SetPermission("acme/gitops", "alice", "maintain"),
		s.SetPermission("acme/gitops", "bob", "triage"),
		s.AddTeam("acme", "sre", TeamOptions{Name: "SRE"}),
		s.AddTeamMember("acme", "sre", "carol", TeamMember{Role: "maintainer"}),
		s.AddTeamMember("acme", "sre", "dave", TeamMember{Pending: true}),
		s.SetTeamPermission("acme/gitops", "acme", "sre", "admin"),
	} {
		if step != nil {
			t.Fatal(step)
		}
	}
	gh := client(t, s, try(s.InstallationToken(101)).must(t))
	for _, c := range []struct{ user, perm, role string }{
		{"alice", "write", "maintain"}, {"bob", "read", "triage"}, {"carol", "admin", "admin"},
		{"dave", "read", "read"}, {"deploy-bot[bot]", "read", "read"}, {"acme", "admin", "admin"},
	} {
		p := res(gh.Repositories.GetPermissionLevel(bg, "acme", "gitops", c.user)).must(t)
		if p.GetPermission() != c.perm || p.GetUser().GetRoleName() != c.role || p.GetUser().GetLogin() != c.user {
			t.Errorf("%s: permission %s role %s user %s, want %s/%s", c.user, p.GetPermission(), p.GetUser().GetRoleName(), p.GetUser().GetLogin(), c.perm, c.role)
		}
	}
	if _, _, err := gh.Repositories.GetPermissionLevel(bg, "acme", "gitops", "nobody"); !isStatus(err, http.StatusNotFound) {
		t.Errorf("unknown user: %v", err)
	}
	if u := res(gh.Users.Get(bg, "deploy-bot[bot]")).must(t); u.GetType() != "Bot" {
		t.Errorf("bot type %s", u.GetType())
	}

	m := res(gh.Teams.GetTeamMembershipBySlug(bg, "acme", "sre", "carol")).must(t)
	if m.GetState() != "active" || m.GetRole() != "maintainer" {
		t.Errorf("carol's membership %+v", m)
	}
	if m := res(gh.Teams.GetTeamMembershipBySlug(bg, "acme", "sre", "dave")).must(t); m.GetState() != "pending" {
		t.Errorf("dave's membership %+v", m)
	}
	if _, _, err := gh.Teams.GetTeamMembershipBySlug(bg, "acme", "sre", "alice"); !isStatus(err, http.StatusNotFound) {
		t.Errorf("non-member: %v", err)
	}
	if _, _, err := gh.Teams.GetTeamMembershipBySlug(bg, "acme", "nope", "carol"); !isStatus(err, http.StatusNotFound) {
		t.Errorf("unknown team: %v", err)
	}
	members := res(gh.Teams.ListTeamMembersBySlug(bg, "acme", "sre", nil)).must(t)
	if len(members) != 1 || members[0].GetLogin() != "carol" {
		t.Errorf("team members %v", members)
	}
	if ok := res(gh.Organizations.IsMember(bg, "acme", "carol")).must(t); !ok {
		t.Error("carol is not an org member")
	}
	if ok := res(gh.Organizations.IsMember(bg, "acme", "bob")).must(t); ok {
		t.Error("bob is an org member")
	}
	teams := res(gh.Teams.ListTeams(bg, "acme", nil)).must(t)
	if len(teams) != 1 || teams[0].GetSlug() != "sre" || teams[0].GetName() != "SRE" {
		t.Errorf("teams %v", teams)
	}
	if err := s.RemoveTeamMember("acme", "sre", "carol"); err != nil {
		t.Fatal(err)
	}
	if p := res(gh.Repositories.GetPermissionLevel(bg, "acme", "gitops", "carol")).must(t); p.GetPermission() != "read" {
		t.Errorf("carol after leaving the team: %s", p.GetPermission())
	}
	// Author association follows membership.
	c := try(s.AddComment(bg, "acme/gitops", 1, "bob", "hi")).must(t)
	if got := res(gh.Issues.GetComment(bg, "acme", "gitops", c.ID)).must(t); got.GetAuthorAssociation() != "COLLABORATOR" {
		t.Errorf("bob's association %s", got.GetAuthorAssociation())
	}
}

func TestPullRequestsThroughGoGitHub(t *testing.T) {
	s := prSim(t, Options{})
	try(s.Push(bg, PushSpec{Repo: "acme/gitops", Branch: "g", Files: map[string]string{"b": "1\n"}})).must(t)
	try(s.OpenPullRequest(bg, PullRequestSpec{Repo: "acme/gitops", Head: "g", Title: "Second", Body: "body", Draft: true})).must(t)
	if err := s.ClosePullRequest(bg, "acme/gitops", 2, ""); err != nil {
		t.Fatal(err)
	}
	gh := client(t, s, "")
	open := res(gh.PullRequests.List(bg, "acme", "gitops", nil)).must(t)
	if len(open) != 1 || open[0].GetNumber() != 1 || open[0].GetHead().GetRef() != "f" || open[0].GetBase().GetRef() != "main" {
		t.Errorf("open PRs %v", open)
	}
	all := res(gh.PullRequests.List(bg, "acme", "gitops", &github.PullRequestListOptions{State: "all"})).must(t)
	if len(all) != 2 || all[0].GetNumber() != 2 || all[0].GetState() != "closed" || !all[0].GetDraft() {
		t.Errorf("all PRs %v", all)
	}
	byHead := res(gh.PullRequests.List(bg, "acme", "gitops", &github.PullRequestListOptions{State: "all", Head: "acme:g"})).must(t)
	if len(byHead) != 1 || byHead[0].GetNumber() != 2 {
		t.Errorf("by head %v", byHead)
	}
	p := res(gh.PullRequests.Get(bg, "acme", "gitops", 1)).must(t)
	if p.GetUser().GetLogin() != "alice" || p.GetHead().GetSHA() != try(s.BranchSHA("acme/gitops", "f")).must(t) ||
		p.GetBase().GetRepo().GetFullName() != "acme/gitops" || p.GetHTMLURL() != s.URL()+"/acme/gitops/pull/1" {
		t.Errorf("PR 1: %v", p)
	}
	commits := res(gh.PullRequests.ListCommits(bg, "acme", "gitops", 1, nil)).must(t)
	if len(commits) != 1 || commits[0].GetSHA() != p.GetHead().GetSHA() {
		t.Errorf("commits %v", commits)
	}
	iss := res(gh.Issues.Get(bg, "acme", "gitops", 1)).must(t)
	if !iss.IsPullRequest() || iss.GetTitle() != "Change a" {
		t.Errorf("issue view %v", iss)
	}
	r := res(gh.Repositories.Get(bg, "acme", "gitops")).must(t)
	if r.GetDefaultBranch() != "main" || r.GetOwner().GetType() != "Organization" || r.GetOpenIssuesCount() != 1 {
		t.Errorf("repository %v", r)
	}
	if _, _, err := gh.PullRequests.Get(bg, "acme", "gitops", 3); !isStatus(err, http.StatusNotFound) {
		t.Errorf("missing PR: %v", err)
	}
	if _, _, err := gh.Repositories.Get(bg, "acme", "missing"); !isStatus(err, http.StatusNotFound) {
		t.Errorf("missing repository: %v", err)
	}
	// Helpers refuse what GitHub refuses.
	if _, err := s.OpenPullRequest(bg, PullRequestSpec{Repo: "acme/gitops", Head: "f", Title: "dup"}); err == nil {
		t.Error("a second open PR for the same branch was accepted")
	}
	try(s.Push(bg, PushSpec{Repo: "acme/gitops", Branch: "empty"})).must(t)
	if _, err := s.OpenPullRequest(bg, PullRequestSpec{Repo: "acme/gitops", Head: "empty", Title: "nothing"}); err == nil ||
		!strings.Contains(err.Error(), "No commits between main and empty") {
		t.Errorf("PR without commits: %v", err)
	}
}
