package githubsim_test

import (
	"context"
	"fmt"
	"net/http"
	"os"

	"github.com/google/go-github/v60/github"

	"github.com/prdeploy/prdeploy/internal/githubsim"
)

// A test opens a pull request the way a person would, lets the code under
// test react to the webhook through the REST API, and merges.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "githubsim-example-")
	defer os.RemoveAll(dir)

	var handler http.HandlerFunc = func(w http.ResponseWriter, r *http.Request) {
		// The code under test would verify X-Hub-Signature-256 and react here.
		w.WriteHeader(http.StatusAccepted)
	}
	s := githubsim.New(githubsim.Options{Dir: dir, Hooks: []githubsim.Hook{{Handler: handler, Secret: "webhook-secret"}}})
	s.Start()
	defer s.Close()

	_, _ = s.AddUser("alice", githubsim.UserOptions{})
	_, _ = s.CreateRepo(ctx, githubsim.RepoSpec{Repo: "acme/gitops", Files: map[string]string{"fleet.yaml": "tenants: []\n"}})
	_, _ = s.Push(ctx, githubsim.PushSpec{Repo: "acme/gitops", Branch: "deploy-api", Author: "alice",
		Files: map[string]string{"deploys/api.yaml": "id: api\n"}})
	pr, _ := s.OpenPullRequest(ctx, githubsim.PullRequestSpec{Repo: "acme/gitops", Head: "deploy-api", Title: "Deploy api", Author: "alice"})

	// The code under test talks to the simulator with go-github.
	token, _ := s.InstallationToken(101)
	gh, _ := github.NewClient(nil).WithEnterpriseURLs(s.URL(), s.URL())
	gh = gh.WithAuthToken(token)
	files, _, _ := gh.PullRequests.ListFiles(ctx, "acme", "gitops", pr.Number, nil)
	fmt.Println(files[0].GetFilename(), files[0].GetStatus())

	sha, _ := s.MergePullRequest(ctx, "acme/gitops", pr.Number, githubsim.MergeOptions{Actor: "alice"})
	merged, _ := s.PullRequest("acme/gitops", pr.Number)
	fmt.Println(merged.Merged, merged.MergeCommitSHA == sha)
	for _, d := range s.Deliveries() {
		fmt.Println(d.Event, d.Action, d.StatusCode)
	}
	// Output:
	// deploys/api.yaml added
	// true true
	// pull_request opened 202
	// pull_request closed 202
}
