package githubapp_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/prdeploy/prdeploy/internal/githubapp"
	"github.com/prdeploy/prdeploy/internal/githubsim"
	"github.com/prdeploy/prdeploy/workflows"
)

// factsWorld is a simulated GitHub with acme/deploys, writers cy and dan,
// and a client of it.
func factsWorld(t *testing.T) (*githubsim.Server, *githubapp.Client) {
	t.Helper()
	ctx := context.Background()
	gh := githubsim.New(githubsim.Options{})
	gh.Start()
	t.Cleanup(func() { gh.Close() })
	for _, u := range []string{"cy", "dan"} {
		if _, err := gh.AddUser(u, githubsim.UserOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := gh.CreateRepo(ctx, githubsim.RepoSpec{Repo: "acme/deploys", Files: map[string]string{"README.md": "deploys\n"}}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"cy", "dan"} {
		if err := gh.SetPermission("acme/deploys", u, "write"); err != nil {
			t.Fatal(err)
		}
	}
	token, err := gh.Token(gh.BotLogin())
	if err != nil {
		t.Fatal(err)
	}
	c, err := githubapp.New(githubapp.Config{BaseURL: gh.APIURL(), Token: token, Org: "acme", Login: gh.BotLogin(), CacheDir: t.TempDir(), MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	return gh, c
}

// TestFactsOfAnOversizedPRFailClosed: a PR GitHub cannot describe whole
// to prdeploy (more files than are read, more commits than GitHub lists)
// is a permanent error that says so, never facts with parts missing.
func TestFactsOfAnOversizedPRFailClosed(t *testing.T) {
	ctx := context.Background()
	gh, c := factsWorld(t)
	files := map[string]string{}
	for i := range workflows.MaxChangedFiles + 1 {
		files[fmt.Sprintf("deploys/f%04d.yaml", i)] = "x\n"
	}
	if _, err := gh.Push(ctx, githubsim.PushSpec{Repo: "acme/deploys", Branch: "wide", Author: "cy", Files: files, Message: "many files"}); err != nil {
		t.Fatal(err)
	}
	wide, err := gh.OpenPullRequest(ctx, githubsim.PullRequestSpec{Repo: "acme/deploys", Head: "wide", Base: "main", Title: "wide", Author: "cy"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.PullRequestFacts(ctx, "acme/deploys", wide.Number)
	if !errors.As(err, new(workflows.PermanentError)) || !strings.Contains(err.Error(), "1001 files") {
		t.Errorf("a PR of %d files: %v, want a permanent error naming its size", workflows.MaxChangedFiles+1, err)
	}
	for i := range 251 {
		if _, err := gh.Push(ctx, githubsim.PushSpec{Repo: "acme/deploys", Branch: "long", Author: "dan", Files: map[string]string{"deploys/long.yaml": fmt.Sprintf("n: %d\n", i)}}); err != nil {
			t.Fatal(err)
		}
	}
	long, err := gh.OpenPullRequest(ctx, githubsim.PullRequestSpec{Repo: "acme/deploys", Head: "long", Base: "main", Title: "long", Author: "dan"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.PullRequestFacts(ctx, "acme/deploys", long.Number)
	if !errors.As(err, new(workflows.PermanentError)) || !strings.Contains(err.Error(), "251 commits") {
		t.Errorf("a PR of 251 commits: %v, want a permanent error naming its length", err)
	}
}

// TestFactsNameContributorsAndThePolicyBase: authors, committers and
// co-authors GitHub can name are contributors; a co-author known only by
// an e-mail GitHub links to nobody is not (documented); each merge method
// finds the deploy branch before the PR's commits.
func TestFactsNameContributorsAndThePolicyBase(t *testing.T) {
	ctx := context.Background()
	gh, c := factsWorld(t)
	for _, method := range []string{"merge", "squash", "rebase"} {
		base, err := gh.BranchSHA("acme/deploys", "main")
		if err != nil {
			t.Fatal(err)
		}
		branch := "pr-" + method
		for i, msg := range []string{"one\n\nCo-authored-by: Dan <dan@users.noreply.github.com>", "two\n\nCo-authored-by: Eve <eve@example.com>"} {
			if _, err := gh.Push(ctx, githubsim.PushSpec{Repo: "acme/deploys", Branch: branch, Author: "cy", Message: msg,
				Files: map[string]string{fmt.Sprintf("deploys/%s-%d.yaml", method, i): "x\n"}}); err != nil {
				t.Fatal(err)
			}
		}
		pr, err := gh.OpenPullRequest(ctx, githubsim.PullRequestSpec{Repo: "acme/deploys", Head: branch, Base: "main", Title: branch, Author: "cy"})
		if err != nil {
			t.Fatal(err)
		}
		mergeSHA, err := gh.MergePullRequest(ctx, "acme/deploys", pr.Number, githubsim.MergeOptions{Actor: "dan", Method: method})
		if err != nil {
			t.Fatal(err)
		}
		f, err := c.PullRequestFacts(ctx, "acme/deploys", pr.Number)
		if err != nil {
			t.Fatal(err)
		}
		if f.PolicySHA != base || f.MergeSHA != mergeSHA || f.MergedBy != "dan" {
			t.Errorf("%s: policy base %s merge %s by %s; want base %s, merge %s by dan", method, f.PolicySHA, f.MergeSHA, f.MergedBy, base, mergeSHA)
		}
		if strings.Join(f.Contributors, ",") != "cy,dan" {
			t.Errorf("%s: contributors %v, want cy (author) and dan (co-author by GitHub address)", method, f.Contributors)
		}
		if len(f.ChangedFiles) != 2 {
			t.Errorf("%s: changed files %v", method, f.ChangedFiles)
		}
	}
}
