package githubapp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const permPath = "/repos/acme/deploys/collaborators/alice/permission"

func TestRetriesServerErrorThenSucceeds(t *testing.T) {
	clock := newFakeClock()
	f := newFakeGitHub(t, clock)
	f.perms["alice"] = [2]string{"write", "write"}
	f.fail("GET "+permPath, canned{status: 502, body: `{"message":"Bad Gateway"}`}, canned{status: 503, body: `{}`})
	c := newTokenClient(t, f)

	got, err := c.Permission(context.Background(), "acme/deploys", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if got != "write" {
		t.Errorf("permission = %q, want write", got)
	}
	if n := f.count("GET", permPath); n != 3 {
		t.Errorf("GitHub saw %d requests, want 3", n)
	}
	if s := clock.Slept(); !slices.Equal(s, []time.Duration{time.Second, 2 * time.Second}) {
		t.Errorf("slept %v, want [1s 2s] (exponential back-off)", s)
	}
	if st := c.Stats(); st.Requests != 3 || st.Retries != 2 || st.ContentRequests != 0 || st.Waited != 3*time.Second {
		t.Errorf("stats = %+v", st)
	}
}

func TestSecondaryRateLimitHonoursRetryAfter(t *testing.T) {
	clock := newFakeClock()
	f := newFakeGitHub(t, clock)
	f.perms["alice"] = [2]string{"read", "triage"}
	f.fail("GET "+permPath, canned{status: 403, header: map[string]string{"Retry-After": "3"},
		body: `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}`})
	c := newTokenClient(t, f)
	start := clock.Now()

	got, err := c.Permission(context.Background(), "acme/deploys", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if got != "triage" {
		t.Errorf("permission = %q, want triage", got)
	}
	if d := clock.Now().Sub(start); d != 3*time.Second {
		t.Errorf("waited %v on the clock, want 3s (Retry-After)", d)
	}
	if n := f.count("GET", permPath); n != 2 {
		t.Errorf("GitHub saw %d requests, want 2", n)
	}
}

func TestSecondaryRateLimitWithoutHintWaitsAMinute(t *testing.T) {
	clock := newFakeClock()
	f := newFakeGitHub(t, clock)
	f.perms["alice"] = [2]string{"read", "read"}
	f.fail("GET "+permPath, canned{status: 403, body: `{"message":"You have exceeded a secondary rate limit."}`})
	c := newTokenClient(t, f)

	if _, err := c.Permission(context.Background(), "acme/deploys", "alice"); err != nil {
		t.Fatal(err)
	}
	if s := clock.Slept(); !slices.Equal(s, []time.Duration{time.Minute}) {
		t.Errorf("slept %v, want [1m0s]", s)
	}
}

func TestTooManyRequestsWaitsUntilReset(t *testing.T) {
	clock := newFakeClock()
	f := newFakeGitHub(t, clock)
	f.perms["alice"] = [2]string{"admin", "admin"}
	reset := clock.Now().Add(7 * time.Second)
	f.fail("GET "+permPath, canned{status: 429, header: map[string]string{
		"X-RateLimit-Remaining": "0", "X-RateLimit-Limit": "5000", "X-RateLimit-Reset": strconv.FormatInt(reset.Unix(), 10),
	}, body: `{"message":"API rate limit exceeded"}`})
	c := newTokenClient(t, f)

	got, err := c.Permission(context.Background(), "acme/deploys", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if got != "admin" {
		t.Errorf("permission = %q", got)
	}
	if !clock.Now().Equal(reset) {
		t.Errorf("clock at %v, want the reset time %v", clock.Now(), reset)
	}
	s := f.seen("GET", permPath)
	if len(s) != 2 || s[1].at.Before(reset) {
		t.Errorf("the retry was sent at %v, before the reset %v", s[len(s)-1].at, reset)
	}
}

func TestGivesUpAfterMaxAttempts(t *testing.T) {
	clock := newFakeClock()
	f := newFakeGitHub(t, clock)
	f.perms["alice"] = [2]string{"write", "write"}
	for i := range 10 {
		f.fail("GET "+permPath, canned{status: 502, body: fmt.Sprintf(`{"message":"bad gateway %d"}`, i+1)})
	}
	c := newTokenClient(t, f)

	_, err := c.Permission(context.Background(), "acme/deploys", "alice")
	if err == nil {
		t.Fatal("no error after 6 server errors")
	}
	if n := f.count("GET", permPath); n != DefaultMaxAttempts {
		t.Errorf("GitHub saw %d requests, want %d", n, DefaultMaxAttempts)
	}
	if !strings.Contains(err.Error(), "502") || !strings.Contains(err.Error(), "bad gateway 6") {
		t.Errorf("error %q does not carry the last answer", err)
	}
	if isPermanent(err) {
		t.Errorf("a server error must stay retryable: %v", err)
	}
	if s := clock.Slept(); !slices.Equal(s, []time.Duration{1 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second}) {
		t.Errorf("slept %v", s)
	}
}

func TestDoesNotWaitLongerThanMaxWait(t *testing.T) {
	clock := newFakeClock()
	f := newFakeGitHub(t, clock)
	f.perms["alice"] = [2]string{"write", "write"}
	f.fail("GET "+permPath, canned{status: 403, header: map[string]string{"Retry-After": "3600"},
		body: `{"message":"You have exceeded a secondary rate limit","documentation_url":"https://docs.github.com/rest#secondary-rate-limits"}`})
	c := newTokenClient(t, f)

	_, err := c.Permission(context.Background(), "acme/deploys", "alice")
	if err == nil {
		t.Fatal("want the rate-limit error back")
	}
	if isPermanent(err) {
		t.Errorf("a rate limit must stay retryable: %v", err)
	}
	if len(clock.Slept()) != 0 || f.count("GET", permPath) != 1 {
		t.Errorf("slept %v and sent %d requests; want no wait and one request", clock.Slept(), f.count("GET", permPath))
	}
}

func TestReplaysTheBodyOnRetry(t *testing.T) {
	clock := newFakeClock()
	f := newFakeGitHub(t, clock)
	f.fail("POST /repos/acme/deploys/issues/5/comments", canned{status: 500, body: `{}`})
	c := newTokenClient(t, f)

	if err := c.Reply(context.Background(), "acme/deploys", 5, "hello there"); err != nil {
		t.Fatal(err)
	}
	s := f.seen("POST", "/repos/acme/deploys/issues/5/comments")
	if len(s) != 2 {
		t.Fatalf("sent %d times, want 2", len(s))
	}
	if string(s[0].body) != string(s[1].body) || !strings.Contains(string(s[1].body), "hello there") {
		t.Errorf("bodies differ: %q then %q", s[0].body, s[1].body)
	}
	if cs := f.allComments(); len(cs) != 1 || cs[0].Body != "hello there" {
		t.Errorf("comments = %+v", cs)
	}
}

func TestErrorClassification(t *testing.T) {
	for _, tc := range []struct {
		status    int
		permanent bool
	}{
		{404, true}, {422, true}, {401, true}, {403, true}, {409, false}, {500, false},
	} {
		t.Run(strconv.Itoa(tc.status), func(t *testing.T) {
			clock := newFakeClock()
			f := newFakeGitHub(t, clock)
			for range DefaultMaxAttempts {
				f.fail("POST /repos/acme/deploys/issues/5/comments", canned{status: tc.status, body: `{"message":"GitHub says no"}`})
			}
			c := newTokenClient(t, f)
			err := c.Reply(context.Background(), "acme/deploys", 5, "x")
			if err == nil {
				t.Fatal("no error")
			}
			if isPermanent(err) != tc.permanent {
				t.Errorf("permanent = %v, want %v: %v", isPermanent(err), tc.permanent, err)
			}
			if !strings.Contains(err.Error(), "GitHub says no") {
				t.Errorf("error %q lacks GitHub's message", err)
			}
		})
	}
}

func TestContentLimiterSpacesWrites(t *testing.T) {
	clock := newFakeClock()
	f := newFakeGitHub(t, clock)
	c := newTokenClient(t, f)
	start := clock.Now()
	realStart := time.Now()

	for i := range 70 {
		if err := c.Reply(context.Background(), "acme/deploys", 9, fmt.Sprintf("comment %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if d := clock.Now().Sub(start); d < time.Minute {
		t.Errorf("70 writes at 60/min took %v on the clock, want ≥ 1m", d)
	}
	if d := time.Since(realStart); d > 10*time.Second {
		t.Errorf("took %v of real time: the limiter slept for real", d)
	}
	posts := f.seen("POST", "/repos/acme/deploys/issues/9/comments")
	if len(posts) != 70 {
		t.Fatalf("%d posts", len(posts))
	}
	for i := 60; i < len(posts); i++ {
		if gap := posts[i].at.Sub(posts[i-60].at); gap < time.Minute {
			t.Errorf("posts %d and %d are %v apart: more than 60 in a minute", i-60, i, gap)
		}
	}
	st := c.Stats()
	if st.ContentRequests != 70 || st.Requests != 70 {
		t.Errorf("stats = %+v, want 70 content requests", st)
	}
}

func TestLimiterIsSharedByClients(t *testing.T) {
	clock := newFakeClock()
	f := newFakeGitHub(t, clock)
	shared := NewLimiter(2, clock)
	a := newTokenClient(t, f, func(c *Config) { c.Limiter = shared })
	b := newTokenClient(t, f, func(c *Config) { c.Limiter = shared })
	ctx := context.Background()
	for _, c := range []*Client{a, b, a} {
		if err := c.Reply(ctx, "acme/deploys", 1, "x"); err != nil {
			t.Fatal(err)
		}
	}
	if s := clock.Slept(); !slices.Equal(s, []time.Duration{time.Minute}) {
		t.Errorf("slept %v: the third write of two clients sharing 2/min should wait a minute", s)
	}
	// Reads are not limited.
	f.perms["alice"] = [2]string{"read", "read"}
	for range 5 {
		if _, err := a.Permission(ctx, "acme/deploys", "alice"); err != nil {
			t.Fatal(err)
		}
	}
	if len(clock.Slept()) != 1 {
		t.Errorf("reads waited: %v", clock.Slept())
	}
}

func TestTransportSendsUnreplayableBodyOnce(t *testing.T) {
	clock := newFakeClock()
	f := newFakeGitHub(t, clock)
	f.fail("POST /x", canned{status: 502, body: "{}"})
	tr := &Transport{Clock: clock}
	req, _ := http.NewRequest("POST", f.srv.URL+"/x", strings.NewReader("body"))
	req.GetBody = nil
	req.Body = io.NopCloser(strings.NewReader("body"))
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 502 || f.count("POST", "/x") != 1 {
		t.Errorf("status %d after %d requests; want the 502 after one", resp.StatusCode, f.count("POST", "/x"))
	}
}

// TestObserveEveryAttempt: Observe sees each attempt, the retried one
// included, with its status and the remaining rate limit when GitHub sent
// it, and a network failure as status 0.
func TestObserveEveryAttempt(t *testing.T) {
	clock := newFakeClock()
	f := newFakeGitHub(t, clock)
	f.perms["alice"] = [2]string{"write", "write"}
	f.fail("GET "+permPath,
		canned{status: 502, body: `{"message":"Bad Gateway"}`},
		canned{status: 200, header: map[string]string{"X-RateLimit-Remaining": "4321"}, body: `{"permission":"write","role_name":"write","user":{"login":"alice"}}`})
	var mu sync.Mutex
	var calls []APICall
	c := newTokenClient(t, f, func(cfg *Config) {
		cfg.Observe = func(a APICall) { mu.Lock(); calls = append(calls, a); mu.Unlock() }
	})
	if _, err := c.Permission(context.Background(), "acme/deploys", "alice"); err != nil {
		t.Fatal(err)
	}
	want := []APICall{{Method: "GET", StatusCode: 502, RateLimitRemaining: -1}, {Method: "GET", StatusCode: 200, RateLimitRemaining: 4321}}
	if !slices.Equal(calls, want) {
		t.Errorf("observed %+v, want %+v", calls, want)
	}

	var gone []APICall
	tr := &Transport{Base: failingTransport{}, Clock: clock, MaxAttempts: 1, Observe: func(a APICall) { gone = append(gone, a) }}
	req, _ := http.NewRequest(http.MethodPost, f.URL()+"repos/acme/deploys/issues/1/comments", nil)
	if _, err := tr.RoundTrip(req); err == nil {
		t.Fatal("no error from a transport that cannot connect")
	}
	if want := []APICall{{Method: "POST", StatusCode: 0, RateLimitRemaining: -1}}; !slices.Equal(gone, want) {
		t.Errorf("network failure observed as %+v, want %+v", gone, want)
	}
}

type failingTransport struct{}

func (failingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("connection refused")
}
