package githubsim

import (
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-github/v60/github"
)

func TestConcurrentUseIsSafe(t *testing.T) {
	rc := &receiver{t: t, secret: "s"}
	s := prSim(t, Options{Hooks: []Hook{{Handler: rc, Secret: "s"}}})
	gh := client(t, s, try(s.InstallationToken(101)).must(t))
	sha := try(s.BranchSHA("acme/gitops", "f")).must(t)
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, 4*n)
	for i := 0; i < n; i++ {
		wg.Add(3)
		go func() {
			defer wg.Done()
			_, _, err := gh.Issues.CreateComment(bg, "acme", "gitops", 1, &github.IssueComment{Body: github.String(fmt.Sprint("api ", i))})
			errs <- err
		}()
		go func() {
			defer wg.Done()
			_, err := s.AddComment(bg, "acme/gitops", 1, "bob", fmt.Sprint("helper ", i))
			errs <- err
		}()
		go func() {
			defer wg.Done()
			cr, _, err := gh.Checks.CreateCheckRun(bg, "acme", "gitops", github.CreateCheckRunOptions{Name: fmt.Sprint("c", i), HeadSHA: sha})
			if err == nil {
				_, _, err = gh.Checks.UpdateCheckRun(bg, "acme", "gitops", cr.GetID(), github.UpdateCheckRunOptions{Name: fmt.Sprint("c", i),
					Output: &github.CheckRunOutput{Title: github.String("t"), Summary: github.String("s"), Annotations: annotations(3)}})
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if cs := try(s.Comments("acme/gitops", 1)).must(t); len(cs) != 2*n {
		t.Errorf("%d comments, want %d", len(cs), 2*n)
	}
	runs := try(s.CheckRuns("acme/gitops", sha)).must(t)
	if len(runs) != n {
		t.Errorf("%d check runs, want %d", len(runs), n)
	}
	for _, r := range runs {
		if len(r.Annotations) != 3 {
			t.Errorf("check run %s has %d annotations", r.Name, len(r.Annotations))
		}
	}
	if got := len(rc.all()); got != 2*n+1 { // the comments and prSim's pull_request opened
		t.Errorf("receiver got %d deliveries, want %d", got, 2*n+1)
	}
}
