package githubsim

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// fakeClock is a settable clock; it starts at a fixed instant so payloads
// are the same on every run.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newSim starts a simulator on httptest and closes it with the test.
func newSim(t *testing.T, opts Options) *Server {
	t.Helper()
	if opts.Clock == nil {
		opts.Clock = newFakeClock().Now
	}
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	s := New(opts)
	s.Start()
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("closing the simulator: %v", err)
		}
	})
	return s
}

// client is a go-github v60 client pointed at the simulator, authenticated
// with token (none when empty).
func client(t *testing.T, s *Server, token string) *github.Client {
	t.Helper()
	c, err := github.NewClient(nil).WithEnterpriseURLs(s.URL(), s.URL())
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		c = c.WithAuthToken(token)
	}
	return c
}

// value holds a (value, error) pair: try(f()).must(t).
type value[T any] struct {
	v   T
	err error
}

func try[T any](v T, err error) value[T] { return value[T]{v, err} }

// must fails the test on the error and returns the value.
func (x value[T]) must(t *testing.T) T {
	t.Helper()
	if x.err != nil {
		t.Fatal(x.err)
	}
	return x.v
}

// result holds what a go-github call returned.
type result[T any] struct {
	v    T
	resp *github.Response
	err  error
}

// res wraps a go-github call: res(c.X.Get(…)).must(t).
func res[T any](v T, resp *github.Response, err error) result[T] { return result[T]{v, resp, err} }

func (r result[T]) must(t *testing.T) T {
	t.Helper()
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.v
}

// received is one webhook request as the receiver saw it.
type received struct {
	Header http.Header
	Body   []byte
}

// receiver is a webhook endpoint that records requests and checks their
// signatures independently of the simulator's code.
type receiver struct {
	t      *testing.T
	secret string
	status int

	mu   sync.Mutex
	reqs []received
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		rc.t.Errorf("reading a delivery: %v", err)
	}
	if rc.secret != "" {
		m := hmac.New(sha256.New, []byte(rc.secret))
		m.Write(body)
		if want := "sha256=" + hex.EncodeToString(m.Sum(nil)); !hmac.Equal([]byte(want), []byte(r.Header.Get("X-Hub-Signature-256"))) {
			rc.t.Errorf("%s delivery: X-Hub-Signature-256 = %q, want %q", r.Header.Get("X-GitHub-Event"), r.Header.Get("X-Hub-Signature-256"), want)
		}
		m1 := hmac.New(sha1.New, []byte(rc.secret))
		m1.Write(body)
		if want := "sha1=" + hex.EncodeToString(m1.Sum(nil)); r.Header.Get("X-Hub-Signature") != want {
			rc.t.Errorf("%s delivery: X-Hub-Signature = %q, want %q", r.Header.Get("X-GitHub-Event"), r.Header.Get("X-Hub-Signature"), want)
		}
	}
	rc.mu.Lock()
	rc.reqs = append(rc.reqs, received{Header: r.Header.Clone(), Body: body})
	status := rc.status
	rc.mu.Unlock()
	if status == 0 {
		status = http.StatusAccepted
	}
	w.WriteHeader(status)
}

func (rc *receiver) all() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.reqs...)
}

// schemaDir holds octokit/webhooks' schemas for the events the simulator emits.
const schemaDir = "testdata/webhook-schemas"

// schemas compiles webhook payload schemas. The schemas' $ids are relative
// ("pull_request$opened", "common/user.schema.json"), so each is given an
// absolute $id under one base, where their relative $refs resolve.
type schemas struct {
	c     *jsonschema.Compiler
	cache map[string]*jsonschema.Schema
}

const schemaBase = "https://schemas.githubsim.test/"

func loadSchemas(t *testing.T) *schemas {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	// jsonschema/v6's own uri-template check splits the URL on "/" before
	// matching braces, so it rejects GitHub's "{/owner}" expressions (and
	// GitHub's own example payloads); check RFC 6570 templates here.
	c.RegisterFormat(&jsonschema.Format{Name: "uri-template", Validate: validURITemplate})
	err := filepath.WalkDir(schemaDir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".schema.json") {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		doc, err := jsonschema.UnmarshalJSON(f)
		if err != nil {
			return err
		}
		// "common/user.schema.json", or "pull_request$opened" for events.
		id := doc.(map[string]any)["$id"].(string)
		doc.(map[string]any)["$id"] = schemaBase + id
		return c.AddResource(schemaBase+id, doc)
	})
	if err != nil {
		t.Fatalf("loading webhook schemas: %v", err)
	}
	return &schemas{c: c, cache: map[string]*jsonschema.Schema{}}
}

func validURITemplate(v any) error {
	s, ok := v.(string)
	if !ok {
		return nil
	}
	var b strings.Builder
	open := false
	for _, ch := range s {
		switch {
		case ch == '{' && !open:
			open = true
			b.WriteString("x")
		case ch == '}' && open:
			open = false
		case ch == '{' || ch == '}':
			return fmt.Errorf("unbalanced braces in %q", s)
		case !open:
			b.WriteRune(ch)
		}
	}
	if open {
		return fmt.Errorf("unclosed brace in %q", s)
	}
	u, err := url.Parse(b.String())
	if err != nil || !u.IsAbs() {
		return fmt.Errorf("%q is not an absolute URI template", s)
	}
	return nil
}

// validate checks a payload against <event>/<action>.schema.json (ping/event for pings).
func (sc *schemas) validate(event, action string, payload []byte) error {
	name := event + "$" + action
	if event == "ping" {
		name = "ping$event"
	}
	sch, ok := sc.cache[name]
	if !ok {
		var err error
		if sch, err = sc.c.Compile(schemaBase + name); err != nil {
			return err
		}
		sc.cache[name] = sch
	}
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(string(payload)))
	if err != nil {
		return err
	}
	return sch.Validate(v)
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
	return m
}

var bg = context.Background()
