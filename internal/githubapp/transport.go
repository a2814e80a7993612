package githubapp

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Clock is the time the transport, the limiter and the caches read. Tests
// pass a fake whose Sleep moves its time forward instead of waiting.
type Clock interface {
	Now() time.Time
	// Sleep waits d, or returns ctx's error when ctx ends first.
	Sleep(ctx context.Context, d time.Duration) error
}

// SystemClock is the real clock.
func SystemClock() Clock { return systemClock{} }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Limiter spaces content-creating requests (POST, PATCH, PUT, DELETE):
// at most PerMinute of them in any sliding minute. GitHub's secondary rate
// limit allows 80 a minute per installation or user; every client made
// from one Limiter shares its budget, so a process that publishes check
// runs, comments and reactions from many activities stays under it.
type Limiter struct {
	perMinute int
	clock     Clock

	mu     sync.Mutex
	grants []time.Time // start times of the last perMinute grants, oldest first
}

// NewLimiter returns a limiter allowing perMinute content-creating
// requests a minute (60 when perMinute ≤ 0) on clock (the system clock
// when nil).
func NewLimiter(perMinute int, clock Clock) *Limiter {
	if perMinute <= 0 {
		perMinute = DefaultContentPerMinute
	}
	if clock == nil {
		clock = SystemClock()
	}
	return &Limiter{perMinute: perMinute, clock: clock}
}

// PerMinute is the limiter's budget.
func (l *Limiter) PerMinute() int { return l.perMinute }

// Wait blocks until one more content-creating request fits in the last
// minute, then counts it. It returns how long it waited.
func (l *Limiter) Wait(ctx context.Context) (time.Duration, error) {
	var waited time.Duration
	for {
		l.mu.Lock()
		now := l.clock.Now()
		for len(l.grants) > 0 && !now.Before(l.grants[0].Add(time.Minute)) {
			l.grants = l.grants[1:]
		}
		if len(l.grants) < l.perMinute {
			l.grants = append(l.grants, now)
			l.mu.Unlock()
			return waited, nil
		}
		d := l.grants[0].Add(time.Minute).Sub(now)
		l.mu.Unlock()
		if err := l.clock.Sleep(ctx, d); err != nil {
			return waited, err
		}
		waited += d
	}
}

var (
	sharedMu       sync.Mutex
	sharedLimiters = map[int]*Limiter{}
)

// sharedLimiter is the process-wide limiter for a budget, on the system
// clock.
func sharedLimiter(perMinute int) *Limiter {
	if perMinute <= 0 {
		perMinute = DefaultContentPerMinute
	}
	sharedMu.Lock()
	defer sharedMu.Unlock()
	l, ok := sharedLimiters[perMinute]
	if !ok {
		l = NewLimiter(perMinute, nil)
		sharedLimiters[perMinute] = l
	}
	return l
}

// Defaults of the transport.
const (
	DefaultMaxAttempts      = 6
	DefaultMaxWait          = 60 * time.Second
	DefaultContentPerMinute = 60
	// firstBackoff doubles on every retry that the server gave no hint for.
	firstBackoff = time.Second
)

// Stats counts what a transport sent.
type Stats struct {
	// Requests is every HTTP request sent, retries included.
	Requests int64
	// ContentRequests is the content-creating ones (POST, PATCH, PUT,
	// DELETE), which the limiter spaces.
	ContentRequests int64
	// Retries is how many requests were sent again after a 5xx, a 429 or
	// a rate-limited 403.
	Retries int64
	// Waited is the time spent in back-off and in the limiter.
	Waited time.Duration
}

// APICall is one HTTP request sent to GitHub and how it was answered.
type APICall struct {
	// Method is the request's HTTP method.
	Method string
	// StatusCode is GitHub's answer; 0 when none came (a network error,
	// a timeout, a cancelled context).
	StatusCode int
	// RateLimitRemaining is the answer's X-RateLimit-Remaining: the
	// requests left in the current rate-limit window of whoever sent it
	// (the App, an installation or a token). -1 when the answer has none.
	RateLimitRemaining int
}

// Transport is an http.RoundTripper for GitHub's REST API: it spaces
// content-creating requests with a Limiter, and sends a request again
// after a server error (5xx), a 429, or a 403 that says a rate limit was
// hit, waiting what GitHub asks (Retry-After seconds, or until
// X-RateLimit-Reset) or backing off exponentially. A wait longer than
// MaxWait is not waited: the response goes back to the caller, whose
// error is retryable (an activity retries later). A request whose body
// cannot be replayed (no GetBody) is sent once.
type Transport struct {
	// Base sends the requests (http.DefaultTransport when nil).
	Base http.RoundTripper
	// Limiter spaces content-creating requests (none when nil).
	Limiter *Limiter
	// Clock is the system clock when nil.
	Clock Clock
	// MaxAttempts bounds the attempts of one request (DefaultMaxAttempts
	// when ≤ 0).
	MaxAttempts int
	// MaxWait bounds one wait between attempts (DefaultMaxWait when ≤ 0).
	MaxWait time.Duration
	// Logger reports retries (slog.Default when nil).
	Logger *slog.Logger
	// Observe, when set, is told about every attempt sent, retries
	// included, as soon as its answer (or error) is back. It must be quick
	// and safe for concurrent use.
	Observe func(APICall)

	requests, content, retries, waited atomic.Int64
}

// Stats returns what the transport sent so far.
func (t *Transport) Stats() Stats {
	return Stats{
		Requests:        t.requests.Load(),
		ContentRequests: t.content.Load(),
		Retries:         t.retries.Load(),
		Waited:          time.Duration(t.waited.Load()),
	}
}

func (t *Transport) base() http.RoundTripper {
	if t.Base != nil {
		return t.Base
	}
	return http.DefaultTransport
}

func (t *Transport) clock() Clock {
	if t.Clock != nil {
		return t.Clock
	}
	return SystemClock()
}

func (t *Transport) logger() *slog.Logger {
	if t.Logger != nil {
		return t.Logger
	}
	return slog.Default()
}

// RoundTrip sends req, again when GitHub asks to wait and try again.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	attempts := t.MaxAttempts
	if attempts <= 0 {
		attempts = DefaultMaxAttempts
	}
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	if !replayable {
		attempts = 1
	}
	content := isContentCreating(req)
	backoff := firstBackoff
	for attempt := 1; ; attempt++ {
		r := req
		if attempt > 1 {
			r = req.Clone(ctx)
			if req.Body != nil && req.Body != http.NoBody {
				body, err := req.GetBody()
				if err != nil {
					return nil, fmt.Errorf("replaying the body of %s %s: %w", req.Method, req.URL.Path, err)
				}
				r.Body = body
			}
		}
		if content && t.Limiter != nil {
			w, err := t.Limiter.Wait(ctx)
			t.waited.Add(int64(w))
			if err != nil {
				if r.Body != nil {
					r.Body.Close()
				}
				return nil, err
			}
		}
		t.requests.Add(1)
		if content {
			t.content.Add(1)
		}
		resp, err := t.base().RoundTrip(r)
		if t.Observe != nil {
			t.Observe(apiCall(req.Method, resp))
		}
		last := attempt >= attempts
		var wait time.Duration
		switch {
		case err != nil:
			// A request that may have reached GitHub is not sent twice
			// unless it is safe to repeat.
			if last || ctx.Err() != nil || !idempotent(req.Method) {
				return nil, err
			}
			wait = backoff
			backoff *= 2
		default:
			d, retry, hinted := t.retryAfter(resp, backoff)
			if !retry || last {
				return resp, nil
			}
			if d > t.maxWait() {
				if hinted {
					// GitHub asks for more than we wait in one request:
					// give its answer back (a retryable error).
					return resp, nil
				}
				d = t.maxWait()
			}
			if !hinted {
				backoff *= 2
			}
			wait = d
			drain(resp)
			t.logger().Info("github: retrying", "method", req.Method, "path", req.URL.Path,
				"status", resp.StatusCode, "attempt", attempt, "wait", wait)
		}
		if wait > t.maxWait() {
			wait = t.maxWait()
		}
		t.retries.Add(1)
		if err := t.clock().Sleep(ctx, wait); err != nil {
			return nil, err
		}
		t.waited.Add(int64(wait))
	}
}

// apiCall describes an answer, or its absence (resp nil).
func apiCall(method string, resp *http.Response) APICall {
	c := APICall{Method: method, RateLimitRemaining: -1}
	if resp == nil {
		return c
	}
	c.StatusCode = resp.StatusCode
	if n, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("X-RateLimit-Remaining"))); err == nil && n >= 0 {
		c.RateLimitRemaining = n
	}
	return c
}

func (t *Transport) maxWait() time.Duration {
	if t.MaxWait > 0 {
		return t.MaxWait
	}
	return DefaultMaxWait
}

// retryAfter tells whether resp is worth sending again, after how long,
// and whether GitHub said how long (hinted).
func (t *Transport) retryAfter(resp *http.Response, backoff time.Duration) (d time.Duration, retry, hinted bool) {
	limited := resp.StatusCode == http.StatusTooManyRequests ||
		(resp.StatusCode == http.StatusForbidden && rateLimited403(resp))
	server := resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented
	if !limited && !server {
		return 0, false, false
	}
	if v := resp.Header.Get("Retry-After"); v != "" {
		if s, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && s >= 0 {
			return time.Duration(s) * time.Second, true, true
		}
		if when, err := http.ParseTime(v); err == nil {
			return max(when.Sub(t.clock().Now()), 0), true, true
		}
	}
	if resp.Header.Get("X-RateLimit-Remaining") == "0" {
		if s, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64); err == nil {
			d := time.Unix(s, 0).Sub(t.clock().Now())
			return max(d, time.Second), true, true
		}
	}
	if limited {
		// A secondary rate limit without a hint: GitHub asks for at
		// least a minute.
		return max(backoff, time.Minute), true, false
	}
	return backoff, true, false
}

// rateLimited403 tells a rate-limited 403 from a forbidden one: GitHub
// sets X-RateLimit-Remaining: 0 or Retry-After, or says "rate limit" in
// the message. The body is read (at most 64 KiB) and put back.
func rateLimited403(resp *http.Response) bool {
	if resp.Header.Get("X-RateLimit-Remaining") == "0" || resp.Header.Get("Retry-After") != "" {
		return true
	}
	if resp.Body == nil {
		return false
	}
	head, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), resp.Body), resp.Body}
	if err != nil {
		return false
	}
	msg := strings.ToLower(string(head))
	return strings.Contains(msg, "rate limit") || strings.Contains(msg, "abuse")
}

func drain(resp *http.Response) {
	if resp.Body != nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
	}
}

func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	return false
}

// isContentCreating tells the requests GitHub's secondary rate limit counts
// as creating content. Minting an installation token is not one.
func isContentCreating(req *http.Request) bool {
	switch req.Method {
	case http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete:
		return !strings.HasSuffix(req.URL.Path, "/access_tokens")
	}
	return false
}
