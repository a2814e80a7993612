package webhook

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// shortBody is a body that announces much more than it sends: n bytes,
// then the end.
type shortBody struct {
	left  int
	reads atomic.Int64
}

func (b *shortBody) Read(p []byte) (int, error) {
	b.reads.Add(1)
	if b.left == 0 {
		return 0, io.EOF
	}
	n := min(len(p), b.left)
	for i := range n {
		p[i] = 'a'
	}
	b.left -= n
	return n, nil
}

// TestNothingAllocatedFromContentLength is issue 14 item 3: a request
// that announces the largest body accepted and sends 10 bytes costs
// kilobytes, not its Content-Length, before its (bogus) signature is
// checked — on the GitHub and the Slack endpoint.
func TestNothingAllocatedFromContentLength(t *testing.T) {
	const requests = 20
	gh := newHandler(t, &recorder{})
	slack := newSlackHandler(t, &recorder{})
	ts := strconv.FormatInt(slackNow.Unix(), 10)
	for _, c := range []struct {
		name     string
		h        http.Handler
		path     string
		announce int64
		headers  map[string]string
	}{
		{"github", gh, Path, MaxBodyBytes, map[string]string{EventHeader: "pull_request", SignatureHeader: "sha256=" + strings.Repeat("0", 64)}},
		{"slack", slack, SlackPath, SlackMaxBodyBytes, map[string]string{SlackTimestampHeader: ts, SlackSignatureHeader: "v0=" + strings.Repeat("0", 64),
			"Content-Type": "application/x-www-form-urlencoded"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			for range requests {
				req := httptest.NewRequest(http.MethodPost, c.path, &shortBody{left: 10})
				req.ContentLength = c.announce
				for k, v := range c.headers {
					req.Header.Set(k, v)
				}
				w := httptest.NewRecorder()
				c.h.ServeHTTP(w, req)
				if w.Code != http.StatusUnauthorized {
					t.Fatalf("answer %d %q, want 401", w.Code, w.Body)
				}
			}
			runtime.ReadMemStats(&after)
			perRequest := (after.TotalAlloc - before.TotalAlloc) / requests
			t.Logf("%s: %d bytes allocated per request announcing %d bytes and sending 10", c.name, perRequest, c.announce)
			if perRequest > 64<<10 {
				t.Errorf("%d bytes allocated per request announcing %d bytes and sending 10; want under 64 KB", perRequest, c.announce)
			}
		})
	}
}

// TestMalformedSignatureRefusedBeforeTheBody: a signature that cannot be
// one is refused without reading a byte of the body.
func TestMalformedSignatureRefusedBeforeTheBody(t *testing.T) {
	for _, sig := range []string{"sha1=abc", "sha256=" + strings.Repeat("z", 64), "sha256=00"} {
		body := &shortBody{left: 1 << 20}
		req := httptest.NewRequest(http.MethodPost, Path, body)
		req.Header.Set(EventHeader, "pull_request")
		req.Header.Set(SignatureHeader, sig)
		w := httptest.NewRecorder()
		newHandler(t, &recorder{}).ServeHTTP(w, req)
		if w.Code != http.StatusUnauthorized || body.reads.Load() != 0 {
			t.Errorf("%q: answer %d after %d reads of the body, want 401 after none", sig, w.Code, body.reads.Load())
		}
	}
}

// stalledBody sends its first bytes, then waits until released (a
// slowloris client), then ends.
type stalledBody struct {
	first   []byte
	release chan struct{}
}

func (b *stalledBody) Read(p []byte) (int, error) {
	if len(b.first) > 0 {
		n := copy(p, b.first)
		b.first = b.first[n:]
		return n, nil
	}
	<-b.release
	return 0, io.EOF
}

// waitUntil polls cond (state of the handler under test, not time) until
// it holds, for at most 10 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		runtime.Gosched()
	}
}

// TestGateRefusesExcessQuickly is issue 14 item 3: while the gate's places
// are held by slow unverified requests (GitHub and Slack share them), one
// more is answered 503 at once, with nothing read or dispatched; once they
// end, a signed delivery is accepted.
func TestGateRefusesExcessQuickly(t *testing.T) {
	gate := NewGate(2, 0)
	rec := &recorder{}
	var o observed
	gh, err := NewHandler(Config{Secrets: []Secret{testSecret}, Dispatcher: rec, Logger: quietLogger(), Gate: gate, Scope: testScope})
	if err != nil {
		t.Fatal(err)
	}
	slack, err := NewSlackHandler(SlackConfig{TeamID: slackTeam, SigningSecrets: []Secret{slackSecret}, Dispatcher: rec, Logger: quietLogger(), Now: slackClock, Gate: gate, Observe: o.observe})
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	done := make(chan int, 2)
	for range 2 {
		go func() {
			req := httptest.NewRequest(http.MethodPost, Path, &stalledBody{first: []byte(`{"action":`), release: release})
			req.ContentLength = 1 << 20
			req.Header.Set(EventHeader, "pull_request")
			req.Header.Set(SignatureHeader, "sha256="+strings.Repeat("0", 64))
			w := httptest.NewRecorder()
			gh.ServeHTTP(w, req)
			done <- w.Code
		}()
	}
	waitUntil(t, "two slow requests to hold the gate", func() bool { return len(gate.slots) == 2 })

	start := time.Now()
	w := deliveryReq{event: "pull_request", body: readPayload(t, "pull_request/opened.payload.json")}.send(gh)
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		t.Errorf("GitHub delivery while the gate is full: %d %q (Retry-After %q), want 503 with Retry-After", w.Code, w.Body, w.Header().Get("Retry-After"))
	}
	sw := slackReq{body: slackBody(readSlackPayload(t, "block_actions.json"))}.send(slack)
	if sw.Code != http.StatusServiceUnavailable {
		t.Errorf("Slack interaction while the gate is full: %d, want 503", sw.Code)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("refusing took %s", took)
	}
	if n := len(rec.got()); n != 0 {
		t.Errorf("%d events dispatched while the gate was full", n)
	}
	if want := []outcome{{SourceSlack, UnknownEvent, ResultOverloaded}}; !slices.Equal(o.got, want) {
		t.Errorf("observed %v, want %v", o.got, want)
	}

	close(release)
	for range 2 {
		if code := <-done; code != http.StatusUnauthorized {
			t.Errorf("slow forged request: %d, want 401", code)
		}
	}
	if len(gate.slots) != 0 || gate.Held() != 0 {
		t.Errorf("gate still holds %d requests, %d bytes", len(gate.slots), gate.Held())
	}
	if w := (deliveryReq{event: "pull_request", body: readPayload(t, "pull_request/opened.payload.json")}).send(gh); w.Code != http.StatusAccepted {
		t.Errorf("signed delivery after the slow ones ended: %d, want 202", w.Code)
	}
}

// TestGateBoundsBufferedBytes: the bytes all unverified requests buffer
// together are bounded; the request that would pass the bound is refused
// (503) instead.
func TestGateBoundsBufferedBytes(t *testing.T) {
	gate := NewGate(10, 64<<10)
	h, err := NewHandler(Config{Secrets: []Secret{testSecret}, Dispatcher: &recorder{}, Logger: quietLogger(), Gate: gate, Scope: testScope})
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	done := make(chan int, 1)
	go func() {
		req := httptest.NewRequest(http.MethodPost, Path, &stalledBody{first: make([]byte, 40<<10), release: release})
		req.Header.Set(EventHeader, "pull_request")
		req.Header.Set(SignatureHeader, "sha256="+strings.Repeat("0", 64))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		done <- w.Code
	}()
	waitUntil(t, "40 KB to be buffered", func() bool { return gate.Held() == 64<<10 })
	w := deliveryReq{event: "ping", body: readPayload(t, "ping/payload.json")}.send(h)
	if w.Code != http.StatusServiceUnavailable {
		t.Errorf("delivery past the byte budget: %d, want 503", w.Code)
	}
	close(release)
	if code := <-done; code != http.StatusUnauthorized {
		t.Errorf("slow forged request: %d, want 401", code)
	}
	if gate.Held() != 0 {
		t.Errorf("%d bytes still held", gate.Held())
	}
	if w := (deliveryReq{event: "ping", body: readPayload(t, "ping/payload.json")}).send(h); w.Code != http.StatusOK {
		t.Errorf("delivery after the slow one ended: %d, want 200", w.Code)
	}
}

// TestSlackOtherWorkspaceRefused is issue 13 item 8: an interaction
// correctly signed by Slack (the app is installed in another workspace
// too, and signs with the same secret) from a workspace other than the
// configured one is refused with 403, counted, and starts nothing.
func TestSlackOtherWorkspaceRefused(t *testing.T) {
	set := func(p map[string]any, team, userTeam string) {
		if team == "" {
			delete(p, "team")
		} else {
			p["team"].(map[string]any)["id"] = team
		}
		p["user"].(map[string]any)["team_id"] = userTeam
	}
	for name, c := range map[string]struct {
		team, userTeam string
		code           int
		result         string
	}{
		"configured workspace":        {slackTeam, slackTeam, http.StatusOK, ResultAccepted},
		"another workspace":           {"T0ELSEWHERE", "T0ELSEWHERE", http.StatusForbidden, ResultForbidden},
		"another team, our user":      {"T0ELSEWHERE", slackTeam, http.StatusForbidden, ResultForbidden},
		"no team, user of another":    {"", "T0ELSEWHERE", http.StatusForbidden, ResultForbidden},
		"no team, user of ours":       {"", slackTeam, http.StatusOK, ResultAccepted},
		"no team at all":              {"", "", http.StatusForbidden, ResultForbidden},
		"case differs (not the same)": {strings.ToLower(slackTeam), strings.ToLower(slackTeam), http.StatusForbidden, ResultForbidden},
	} {
		t.Run(name, func(t *testing.T) {
			var p map[string]any
			if err := json.Unmarshal(readSlackPayload(t, "block_actions.json"), &p); err != nil {
				t.Fatal(err)
			}
			set(p, c.team, c.userTeam)
			payload, _ := json.Marshal(p)
			rec := &recorder{}
			var o observed
			h, err := NewSlackHandler(SlackConfig{TeamID: slackTeam, SigningSecrets: []Secret{slackSecret}, Dispatcher: rec, Logger: quietLogger(), Now: slackClock, Observe: o.observe})
			if err != nil {
				t.Fatal(err)
			}
			w := slackReq{body: slackBody(payload)}.send(h)
			if w.Code != c.code {
				t.Errorf("answer %d %q, want %d", w.Code, w.Body, c.code)
			}
			if want := map[bool]int{true: 1, false: 0}[c.code == http.StatusOK]; len(rec.got()) != want {
				t.Errorf("%d dispatched, want %d", len(rec.got()), want)
			}
			if len(o.got) != 1 || o.got[0].result != c.result {
				t.Errorf("observed %v, want result %s", o.got, c.result)
			}
		})
	}
}
