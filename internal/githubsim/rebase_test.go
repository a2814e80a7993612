package githubsim

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/google/go-github/v60/github"
)

func TestPullRequestCommitsAreListedParentFirst(t *testing.T) {
	// Every commit gets the same timestamp (the clock stands still), so
	// only the parent links can order them.
	s := newSim(t, Options{})
	try(s.CreateRepo(bg, RepoSpec{Repo: "acme/gitops", Files: map[string]string{"a": "0\n"}})).must(t)
	var want []string
	for i := 1; i <= 6; i++ {
		want = append(want, try(s.Push(bg, PushSpec{Repo: "acme/gitops", Branch: "f", Files: map[string]string{"a": strings.Repeat("x", i) + "\n"}})).must(t))
	}
	pr := try(s.OpenPullRequest(bg, PullRequestSpec{Repo: "acme/gitops", Head: "f", Title: "six"})).must(t)
	got := res(client(t, s, "").PullRequests.ListCommits(bg, "acme", "gitops", pr.Number, nil)).must(t)
	if len(got) != len(want) {
		t.Fatalf("%d commits listed, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].GetSHA() != want[i] {
			t.Errorf("commit %d is %s, want %s (oldest first)", i, got[i].GetSHA(), want[i])
		}
	}
}

func TestRebaseMergeReplaysEachCommitOnTheBase(t *testing.T) {
	clock := newFakeClock()
	rc := &receiver{t: t}
	s := newSim(t, Options{Clock: clock.Now, Hooks: []Hook{{Handler: rc}}})
	try(s.AddUser("alice", UserOptions{Name: "Alice Example", Email: "alice@example.com"})).must(t)
	try(s.AddUser("bob", UserOptions{Name: "Bob Merger", Email: "bob@example.com"})).must(t)
	repo := try(s.CreateRepo(bg, RepoSpec{Repo: "acme/gitops", Files: map[string]string{"a.yaml": "v: 1\n", "policies/p.yaml": "approvals: 2\n"}})).must(t)
	if err := s.SetPermission("acme/gitops", "bob", "write"); err != nil {
		t.Fatal(err)
	}
	// alice's two commits: the first weakens the policies, the second adds a plan.
	first := try(s.Push(bg, PushSpec{Repo: "acme/gitops", Branch: "r", Author: "alice", Message: "Relax policies",
		Files: map[string]string{"policies/p.yaml": "approvals: 0\n"}})).must(t)
	clock.Advance(time.Minute)
	second := try(s.Push(bg, PushSpec{Repo: "acme/gitops", Branch: "r", Author: "alice", Message: "Deploy api",
		Files: map[string]string{"deploys/api.yaml": "id: api\n"}})).must(t)
	pr := try(s.OpenPullRequest(bg, PullRequestSpec{Repo: "acme/gitops", Head: "r", Title: "Deploy", Author: "alice"})).must(t)
	// main moves on, so the replayed commits differ from the originals.
	clock.Advance(time.Minute)
	mainBefore := try(s.Push(bg, PushSpec{Repo: "acme/gitops", Branch: "main", Files: map[string]string{"a.yaml": "v: 2\n"}})).must(t)
	clock.Advance(time.Hour)

	gh := client(t, s, try(s.Token("bob")).must(t))
	if _, resp, _ := gh.PullRequests.Merge(bg, "acme", "gitops", pr.Number, "", &github.PullRequestOptions{MergeMethod: "fast-forward"}); resp == nil || resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("an unknown merge method: %v", resp)
	}
	mr := res(gh.PullRequests.Merge(bg, "acme", "gitops", pr.Number, "", &github.PullRequestOptions{MergeMethod: "rebase"})).must(t)
	tip := try(s.BranchSHA("acme/gitops", "main")).must(t)
	if mr.GetSHA() != tip || !mr.GetMerged() {
		t.Fatalf("merge answered sha %s merged %v; main is at %s", mr.GetSHA(), mr.GetMerged(), tip)
	}

	g := try(git.PlainOpen(repo.Dir)).must(t)
	c2 := try(g.CommitObject(plumbing.NewHash(tip))).must(t)
	if len(c2.ParentHashes) != 1 {
		t.Fatalf("replayed commit has %d parents", len(c2.ParentHashes))
	}
	c1 := try(g.CommitObject(c2.ParentHashes[0])).must(t)
	if len(c1.ParentHashes) != 1 || c1.ParentHashes[0].String() != mainBefore {
		t.Fatalf("first replayed commit's parents %v, want [%s]", c1.ParentHashes, mainBefore)
	}
	for _, x := range []struct {
		replayed *object.Commit
		orig     string
	}{{c1, first}, {c2, second}} {
		o := try(g.CommitObject(plumbing.NewHash(x.orig))).must(t)
		r := x.replayed
		if r.Hash.String() == x.orig {
			t.Errorf("%s was not rewritten although main moved", x.orig)
		}
		if r.Author.Name != o.Author.Name || r.Author.Email != o.Author.Email || !r.Author.When.Equal(o.Author.When) || r.Message != o.Message {
			t.Errorf("replayed commit %s: author %v %q, want %v %q", r.Hash, r.Author, r.Message, o.Author, o.Message)
		}
		if r.Committer.Name != "Bob Merger" || r.Committer.Email != "bob@example.com" || !r.Committer.When.Equal(clock.Now()) {
			t.Errorf("replayed commit %s: committer %v, want the merger now", r.Hash, r.Committer)
		}
	}
	if got := fileAt(t, g, c1.Hash.String(), "policies/p.yaml"); got != "approvals: 0\n" {
		t.Errorf("policies at the first replayed commit: %q", got)
	}
	if _, err := c1.File("deploys/api.yaml"); err == nil {
		t.Error("the plan is already in the first replayed commit")
	}
	for p, want := range map[string]string{"a.yaml": "v: 2\n", "deploys/api.yaml": "id: api\n", "policies/p.yaml": "approvals: 0\n"} {
		if got := fileAt(t, g, tip, p); got != want {
			t.Errorf("%s at the new tip: %q, want %q", p, got, want)
		}
	}

	after := try(s.PullRequest("acme/gitops", pr.Number)).must(t)
	if !after.Merged || after.MergeCommitSHA != tip || after.State != "closed" {
		t.Errorf("after the rebase merge: %+v", after)
	}
	closed := s.DeliveriesOf("pull_request", "closed")
	if len(closed) != 1 {
		t.Fatalf("%d closed deliveries", len(closed))
	}
	pj := decode(t, closed[0].Payload)["pull_request"].(map[string]any)
	if pj["merged"] != true || pj["merge_commit_sha"] != tip || pj["merged_by"].(map[string]any)["login"] != "bob" {
		t.Errorf("closed payload: merged %v sha %v by %v", pj["merged"], pj["merge_commit_sha"], pj["merged_by"])
	}
	// The pull request still lists alice's original commits, oldest first.
	cs := res(gh.PullRequests.ListCommits(bg, "acme", "gitops", pr.Number, nil)).must(t)
	if len(cs) != 2 || cs[0].GetSHA() != first || cs[1].GetSHA() != second {
		t.Errorf("commits of the merged pull request: %d", len(cs))
	}
}

func TestRebaseMergeRefusesConflicts(t *testing.T) {
	s := newSim(t, Options{})
	try(s.CreateRepo(bg, RepoSpec{Repo: "acme/gitops", Files: map[string]string{"a": "1\n"}})).must(t)
	try(s.Push(bg, PushSpec{Repo: "acme/gitops", Branch: "x", Files: map[string]string{"a": "x\n"}})).must(t)
	try(s.Push(bg, PushSpec{Repo: "acme/gitops", Branch: "x", Files: map[string]string{"b": "x\n"}})).must(t)
	pr := try(s.OpenPullRequest(bg, PullRequestSpec{Repo: "acme/gitops", Head: "x", Title: "x"})).must(t)
	before := try(s.Push(bg, PushSpec{Repo: "acme/gitops", Branch: "main", Files: map[string]string{"a": "main\n"}})).must(t)
	_, resp, err := client(t, s, "").PullRequests.Merge(bg, "acme", "gitops", pr.Number, "", &github.PullRequestOptions{MergeMethod: "rebase"})
	if resp == nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("rebasing a conflicting pull request: %v", err)
	}
	if tip := try(s.BranchSHA("acme/gitops", "main")).must(t); tip != before {
		t.Errorf("main moved to %s after a refused rebase", tip)
	}
	if got := try(s.PullRequest("acme/gitops", pr.Number)).must(t); got.Merged || got.State != "open" {
		t.Errorf("pull request after a refused rebase: %+v", got)
	}
}
