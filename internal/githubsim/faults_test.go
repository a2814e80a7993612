package githubsim

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
)

func TestInjectedFaultsReachGoGitHub(t *testing.T) {
	s := prSim(t, Options{})
	fresh := func() *github.Client { return client(t, s, "") } // go-github remembers rate limits per client

	s.InjectFault(Fault{Kind: FaultServerError, Method: "GET", PathPrefix: "/repos/acme/gitops/pulls", Count: 2})
	for i := 0; i < 2; i++ {
		if _, _, err := fresh().PullRequests.Get(bg, "acme", "gitops", 1); !isStatus(err, http.StatusInternalServerError) {
			t.Fatalf("request %d under a 500 fault: %v", i, err)
		}
	}
	res(fresh().PullRequests.Get(bg, "acme", "gitops", 1)).must(t)

	s.InjectFault(Fault{Kind: FaultBadGateway})
	if _, _, err := fresh().Repositories.Get(bg, "acme", "gitops"); !isStatus(err, http.StatusBadGateway) {
		t.Errorf("502 fault: %v", err)
	}

	s.InjectFault(Fault{Kind: FaultSecondaryRateLimit, Method: "POST", RetryAfter: 30 * time.Second})
	res(fresh().PullRequests.Get(bg, "acme", "gitops", 1)).must(t) // a GET does not match
	_, _, err := fresh().Issues.CreateComment(bg, "acme", "gitops", 1, &github.IssueComment{Body: github.String("x")})
	var abuse *github.AbuseRateLimitError
	if !errors.As(err, &abuse) || abuse.GetRetryAfter() != 30*time.Second || abuse.Response.StatusCode != http.StatusForbidden {
		t.Fatalf("secondary rate limit: %v", err)
	}
	if abuse.Message[:48] != "You have exceeded a secondary rate limit. Please" {
		t.Errorf("message %q", abuse.Message)
	}
	if cs := try(s.Comments("acme/gitops", 1)).must(t); len(cs) != 0 {
		t.Error("a rate-limited POST created a comment")
	}

	s.InjectFault(Fault{Kind: FaultTooManyRequests, RetryAfter: 5 * time.Second})
	_, resp, err := fresh().Repositories.Get(bg, "acme", "gitops")
	if !isStatus(err, http.StatusTooManyRequests) || resp.Header.Get("Retry-After") != "5" {
		t.Errorf("429 fault: %v, Retry-After %q", err, resp.Header.Get("Retry-After"))
	}

	s.InjectFault(Fault{Kind: FaultRateLimitExhausted})
	var rl *github.RateLimitError
	if _, _, err := fresh().Repositories.Get(bg, "acme", "gitops"); !errors.As(err, &rl) || rl.Rate.Remaining != 0 {
		t.Errorf("rate limit exhausted: %v", err)
	}

	s.InjectFault(Fault{Kind: FaultLatency, Latency: time.Hour})
	ctx, cancel := context.WithTimeout(bg, 50*time.Millisecond)
	defer cancel()
	if _, _, err := fresh().Repositories.Get(ctx, "acme", "gitops"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("latency fault: %v", err)
	}
	s.InjectFault(Fault{Kind: FaultLatency, Latency: 20 * time.Millisecond})
	start := time.Now()
	res(fresh().Repositories.Get(bg, "acme", "gitops")).must(t)
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Errorf("a 20ms latency fault answered in %v", d)
	}
	if n := s.PendingFaults(); n != 0 {
		t.Errorf("%d faults pending", n)
	}

	s.InjectFault(Fault{Kind: FaultServerError, Count: 5})
	s.ClearFaults()
	res(fresh().Repositories.Get(bg, "acme", "gitops")).must(t)

	faulted := 0
	for _, c := range s.Calls() {
		if c.Fault {
			faulted++
		}
	}
	if faulted != 8 { // 2×500, 502, 403, 429, 403, 2 latency
		t.Errorf("%d calls marked as faulted, want 8", faulted)
	}
}

func TestRateLimitHeadersAndBudget(t *testing.T) {
	s := prSim(t, Options{RateLimit: 3})
	gh := client(t, s, try(s.InstallationToken(101)).must(t))
	_, resp, err := gh.Repositories.Get(bg, "acme", "gitops")
	if err != nil {
		t.Fatal(err)
	}
	if resp.Rate.Limit != 3 || resp.Rate.Remaining != 2 || resp.Rate.Reset.IsZero() || resp.Header.Get("X-RateLimit-Used") != "1" {
		t.Errorf("rate after one call: %+v", resp.Rate)
	}
	_, resp, _ = gh.PullRequests.Get(bg, "acme", "gitops", 42) // a 404 is charged and carries the headers
	if resp.Rate.Remaining != 1 {
		t.Errorf("rate on a 404: %+v", resp.Rate)
	}
	res(gh.Repositories.Get(bg, "acme", "gitops")).must(t)
	_, _, err = gh.Repositories.Get(bg, "acme", "gitops")
	var rl *github.RateLimitError
	if !errors.As(err, &rl) {
		t.Errorf("over budget: %v", err)
	}
	// Budgets are per identity.
	other := client(t, s, try(s.Token("bob")).must(t))
	res(other.Repositories.Get(bg, "acme", "gitops")).must(t)
	if lim := res(other.RateLimit.Get(bg)).must(t); lim.GetCore().Limit != 3 || lim.GetCore().Remaining != 1 {
		t.Errorf("GET /rate_limit: %+v", lim.GetCore())
	}
}

func TestCallLogCountsContentCreatingCalls(t *testing.T) {
	s := prSim(t, Options{})
	gh := client(t, s, try(s.InstallationToken(101)).must(t))
	sha := try(s.BranchSHA("acme/gitops", "f")).must(t)
	cr := res(gh.Checks.CreateCheckRun(bg, "acme", "gitops", github.CreateCheckRunOptions{Name: "plan", HeadSHA: sha})).must(t)
	for i := 0; i < 3; i++ {
		res(gh.Checks.UpdateCheckRun(bg, "acme", "gitops", cr.GetID(), github.UpdateCheckRunOptions{Name: "plan", Status: github.String("in_progress")})).must(t)
	}
	res(gh.PullRequests.Get(bg, "acme", "gitops", 1)).must(t)
	res(gh.Issues.CreateComment(bg, "acme", "gitops", 1, &github.IssueComment{Body: github.String("hi")})).must(t)
	_, _, _ = gh.Issues.CreateComment(bg, "acme", "gitops", 1, &github.IssueComment{Body: github.String("")}) // 422, still counted

	if n := s.MutatingCalls(); n != 6 {
		t.Errorf("MutatingCalls = %d, want 6", n)
	}
	if n := s.CallCount("PATCH", "/repos/acme/gitops/check-runs/"); n != 3 {
		t.Errorf("PATCH check-runs = %d, want 3", n)
	}
	if n := s.CallCount("GET", ""); n != 1 {
		t.Errorf("GETs = %d, want 1", n)
	}
	calls := s.Calls()
	last := calls[len(calls)-1]
	if last.Status != http.StatusUnprocessableEntity || last.Method != "POST" || last.Path != "/repos/acme/gitops/issues/1/comments" ||
		last.Actor != "prdeploy[bot]" || !last.Mutating {
		t.Errorf("last call %+v", last)
	}
	s.ResetCalls()
	if len(s.Calls()) != 0 {
		t.Error("ResetCalls left calls")
	}
}
