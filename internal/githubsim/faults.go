package githubsim

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// FaultKind is a way for GitHub to misbehave.
type FaultKind int

const (
	// FaultServerError answers 500 with GitHub's JSON error body.
	FaultServerError FaultKind = iota + 1
	// FaultBadGateway answers 502 with an HTML body, as GitHub's edge does.
	FaultBadGateway
	// FaultSecondaryRateLimit answers 403 with Retry-After and GitHub's
	// "You have exceeded a secondary rate limit" body (go-github returns an
	// *AbuseRateLimitError).
	FaultSecondaryRateLimit
	// FaultTooManyRequests answers 429 with Retry-After.
	FaultTooManyRequests
	// FaultRateLimitExhausted answers 403 with X-RateLimit-Remaining: 0
	// (go-github returns a *RateLimitError).
	FaultRateLimitExhausted
	// FaultLatency delays the request by Latency, then serves it normally.
	// The delay ends early when the client gives up.
	FaultLatency
)

// Fault makes the next Count matching requests fail (or slow down).
type Fault struct {
	Kind FaultKind
	// Method matches the HTTP method; empty matches any.
	Method string
	// PathPrefix matches the path, without the /api/v3 prefix for API
	// requests ("/repos/acme/gitops/check-runs"); empty matches any.
	PathPrefix string
	// Count is how many requests are affected (default 1).
	Count int
	// RetryAfter is sent with rate-limit faults (default 60s).
	RetryAfter time.Duration
	// Latency is the delay of FaultLatency.
	Latency time.Duration
}

type faultState struct {
	Fault
	left int
}

// InjectFault queues a fault. Faults are matched in the order they were
// injected; each affected request uses up one of a fault's Count.
func (s *Server) InjectFault(f Fault) {
	if f.Count <= 0 {
		f.Count = 1
	}
	if f.RetryAfter == 0 {
		f.RetryAfter = time.Minute
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &faultState{Fault: f, left: f.Count})
}

// ClearFaults drops every pending fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// PendingFaults reports how many requests pending faults will still affect.
func (s *Server) PendingFaults() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, f := range s.faults {
		n += f.left
	}
	return n
}

// takeFault returns the fault for a request, if any, and uses it up.
func (s *Server) takeFault(method, path string) (*Fault, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.Method != "" && !strings.EqualFold(f.Method, method) {
			continue
		}
		if f.PathPrefix != "" && !strings.HasPrefix(path, f.PathPrefix) {
			continue
		}
		f.left--
		if f.left <= 0 {
			s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
		}
		if f.Kind < FaultServerError || f.Kind > FaultLatency {
			return nil, fmt.Errorf("githubsim: unknown fault kind %d", f.Kind)
		}
		out := f.Fault
		return &out, nil
	}
	return nil, nil
}

const docSecondary = "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"

// write answers a request with the fault.
func (f *Fault) write(w http.ResponseWriter, s *Server) {
	secs := strconv.Itoa(int(f.RetryAfter.Round(time.Second) / time.Second))
	reqID := w.Header().Get("X-GitHub-Request-Id")
	reset := s.now().Add(f.RetryAfter).Unix()
	secondary := "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. " +
		"If you reach out to GitHub Support for help, please include the request ID " + reqID + "."
	switch f.Kind {
	case FaultServerError:
		writeError(w, http.StatusInternalServerError, "Server Error", docREST)
	case FaultBadGateway:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("<html><body><h1>502 Bad Gateway</h1>\nThe server returned an invalid or incomplete response.\n</body></html>\n"))
	case FaultSecondaryRateLimit:
		w.Header().Set("Retry-After", secs)
		writeJSON(w, http.StatusForbidden, apiError{Message: secondary, DocumentationURL: docSecondary})
	case FaultTooManyRequests:
		w.Header().Set("Retry-After", secs)
		writeJSON(w, http.StatusTooManyRequests, apiError{Message: secondary, DocumentationURL: docSecondary})
	case FaultRateLimitExhausted:
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(reset, 10))
		writeJSON(w, http.StatusForbidden, apiError{Message: "API rate limit exceeded for installation.",
			DocumentationURL: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-rate-limits"})
	}
}

// Call records one request the simulator answered.
type Call struct {
	Seq    int
	Method string
	// Path is the API path without /api/v3, or the git/raw path.
	Path  string
	Query string
	// Status is the answer's status code.
	Status int
	// Mutating marks content-creating API calls (POST, PATCH, PUT, DELETE;
	// git traffic is never mutating here).
	Mutating bool
	// Actor is the login the request acted as ("app:<slug>" for App JWTs).
	Actor string
	// Fault marks requests answered (or delayed) by an injected fault.
	Fault bool
	// Git marks git smart HTTP requests.
	Git bool
}

func (s *Server) logCall(c Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.Seq = len(s.calls) + 1
	s.calls = append(s.calls, c)
}

// Calls returns every request so far, in the order they finished.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// CallCount counts requests by method (empty: any) and path prefix (empty: any).
func (s *Server) CallCount(method, pathPrefix string) int {
	n := 0
	for _, c := range s.Calls() {
		if (method == "" || strings.EqualFold(method, c.Method)) && strings.HasPrefix(c.Path, pathPrefix) {
			n++
		}
	}
	return n
}

// MutatingCalls counts content-creating API calls (including failed ones).
func (s *Server) MutatingCalls() int {
	n := 0
	for _, c := range s.Calls() {
		if c.Mutating {
			n++
		}
	}
	return n
}

// ResetCalls empties the call log.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
}
