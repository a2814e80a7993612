package githubapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prdeploy/prdeploy/internal/prepare"
	"github.com/prdeploy/prdeploy/workflows"
)

var _ prepare.Checkouts = (*Client)(nil)

// fakeClock moves forward only when slept on.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	slept []time.Duration
}

func newFakeClock() *fakeClock {
	// Whole seconds, near the real time: go-github compares rate-limit
	// resets with time.Now.
	return &fakeClock{now: time.Now().Truncate(time.Second)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.slept = append(c.slept, d)
	return nil
}

func (c *fakeClock) Advance(d time.Duration) { _ = c.Sleep(context.Background(), d) }

func (c *fakeClock) Slept() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.slept)
}

// canned is a response served instead of the real one.
type canned struct {
	status int
	header map[string]string
	body   string
}

type seen struct {
	method, path, query, auth string
	body                      []byte
	at                        time.Time
}

type fakeRun struct {
	ID          int64
	Name        string
	HeadSHA     string
	ExternalID  string
	Status      string
	Conclusion  string
	Title       string
	Summary     string
	Annotations int
	Actions     []checkRunAction
	AppID       int64
}

type fakeComment struct {
	ID   int64
	PR   int
	User string
	Body string
}

// fakeGitHub is a small stateful GitHub: the endpoints the client calls.
type fakeGitHub struct {
	t     *testing.T
	clock *fakeClock
	srv   *httptest.Server
	mux   *http.ServeMux

	mu        sync.Mutex
	requests  []seen
	canned    map[string][]canned // "METHOD /path" → served first, in order
	nextID    int64
	runs      []*fakeRun
	comments  []*fakeComment
	reactions map[int64][]string
	// user is who a plain token belongs to; bot who an installation
	// token writes as.
	user, bot string
	// perms: login → [permission, role_name].
	perms map[string][2]string
	teams []string
	// members: slug → login → state.
	members     map[string]map[string]string
	cloneURL    string
	installID   int64
	instToken   string
	onAppRoute  func(r *http.Request) // sees GET /repos/../installation and token minting
	extraRoutes func(mux *http.ServeMux)
}

func newFakeGitHub(t *testing.T, clock *fakeClock) *fakeGitHub {
	f := &fakeGitHub{
		t: t, clock: clock, canned: map[string][]canned{}, nextID: 100,
		reactions: map[int64][]string{}, user: "deploy-bot", bot: "prdeploy[bot]",
		perms: map[string][2]string{}, members: map[string]map[string]string{},
		installID: 7, instToken: "ghs_installation",
	}
	f.mux = http.NewServeMux()
	f.routes()
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeGitHub) URL() string { return f.srv.URL + "/" }

// fail queues responses for "METHOD /path".
func (f *fakeGitHub) fail(route string, c ...canned) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.canned[route] = append(f.canned[route], c...)
}

func (f *fakeGitHub) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(strings.NewReader(string(body)))
	route := r.Method + " " + r.URL.Path
	f.mu.Lock()
	f.requests = append(f.requests, seen{method: r.Method, path: r.URL.Path, query: r.URL.RawQuery,
		auth: r.Header.Get("Authorization"), body: body, at: f.clock.Now()})
	var c *canned
	if q := f.canned[route]; len(q) > 0 {
		c, f.canned[route] = &q[0], q[1:]
	}
	f.mu.Unlock()
	if c != nil {
		for k, v := range c.header {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(c.status)
		io.WriteString(w, c.body)
		return
	}
	f.mux.ServeHTTP(w, r)
}

// count is how many requests matched method and path (a prefix when it
// ends in "*").
func (f *fakeGitHub) count(method, path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, s := range f.requests {
		if s.method == method && (s.path == path || strings.HasSuffix(path, "*") && strings.HasPrefix(s.path, strings.TrimSuffix(path, "*"))) {
			n++
		}
	}
	return n
}

func (f *fakeGitHub) seen(method, path string) []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []seen
	for _, s := range f.requests {
		if (method == "" || s.method == method) && (path == "" || s.path == path || strings.HasSuffix(path, "*") && strings.HasPrefix(s.path, strings.TrimSuffix(path, "*"))) {
			out = append(out, s)
		}
	}
	return out
}

func (f *fakeGitHub) total() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func notFound(w http.ResponseWriter) {
	writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})
}

// page serves items page by page with a Link header, as GitHub does.
func page[T any](w http.ResponseWriter, r *http.Request, items []T) {
	per, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
	if per <= 0 {
		per = 30
	}
	p, _ := strconv.Atoi(r.URL.Query().Get("page"))
	if p <= 0 {
		p = 1
	}
	lo, hi := min((p-1)*per, len(items)), min(p*per, len(items))
	if hi < len(items) {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(p+1))
		w.Header().Set("Link", fmt.Sprintf(`<http://%s%s?%s>; rel="next"`, r.Host, r.URL.Path, q.Encode()))
	}
	writeJSON(w, http.StatusOK, items[lo:hi])
}

// writer is who a request writes as.
func (f *fakeGitHub) writer(r *http.Request) string {
	if r.Header.Get("Authorization") == "token "+f.instToken {
		return f.bot
	}
	return f.user
}

func (f *fakeGitHub) runJSON(run *fakeRun) map[string]any {
	return map[string]any{"id": run.ID, "name": run.Name, "head_sha": run.HeadSHA, "external_id": run.ExternalID,
		"status": run.Status, "conclusion": run.Conclusion, "app": map[string]any{"id": run.AppID}}
}

func (f *fakeGitHub) routes() {
	m := f.mux
	m.HandleFunc("GET /user", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"login": f.user, "id": 1})
	})
	m.HandleFunc("GET /app", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"id": 42, "slug": strings.TrimSuffix(f.bot, "[bot]")})
	})
	m.HandleFunc("GET /repos/{owner}/{repo}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"full_name": r.PathValue("owner") + "/" + r.PathValue("repo"),
			"clone_url": f.cloneURL, "default_branch": "main"})
	})
	m.HandleFunc("GET /repos/{owner}/{repo}/installation", func(w http.ResponseWriter, r *http.Request) {
		if f.onAppRoute != nil {
			f.onAppRoute(r)
		}
		writeJSON(w, 200, map[string]any{"id": f.installID})
	})
	m.HandleFunc("GET /app/installations", func(w http.ResponseWriter, r *http.Request) {
		if f.onAppRoute != nil {
			f.onAppRoute(r)
		}
		writeJSON(w, 200, []any{
			map[string]any{"id": 3, "account": map[string]any{"login": "other"}},
			map[string]any{"id": f.installID, "account": map[string]any{"login": "acme"}},
		})
	})
	m.HandleFunc("POST /app/installations/{id}/access_tokens", func(w http.ResponseWriter, r *http.Request) {
		if f.onAppRoute != nil {
			f.onAppRoute(r)
		}
		if r.PathValue("id") != strconv.FormatInt(f.installID, 10) {
			notFound(w)
			return
		}
		writeJSON(w, 201, map[string]any{"token": f.instToken, "expires_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
	})

	m.HandleFunc("GET /repos/{owner}/{repo}/commits/{sha}/check-runs", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		var out []map[string]any
		for _, run := range f.runs {
			if run.HeadSHA == r.PathValue("sha") && (r.URL.Query().Get("check_name") == "" || run.Name == r.URL.Query().Get("check_name")) {
				out = append(out, f.runJSON(run))
			}
		}
		f.mu.Unlock()
		writeJSON(w, 200, map[string]any{"total_count": len(out), "check_runs": out})
	})
	m.HandleFunc("POST /repos/{owner}/{repo}/check-runs", func(w http.ResponseWriter, r *http.Request) {
		var req checkRunRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Name == "" || req.HeadSHA == "" {
			writeJSON(w, 422, map[string]string{"message": "Invalid request"})
			return
		}
		f.mu.Lock()
		f.nextID++
		run := &fakeRun{ID: f.nextID, Name: req.Name, HeadSHA: req.HeadSHA, ExternalID: req.ExternalID, AppID: 42}
		f.apply(run, req)
		f.runs = append(f.runs, run)
		out := f.runJSON(run)
		f.mu.Unlock()
		writeJSON(w, 201, out)
	})
	m.HandleFunc("PATCH /repos/{owner}/{repo}/check-runs/{id}", func(w http.ResponseWriter, r *http.Request) {
		var req checkRunRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			writeJSON(w, 422, map[string]string{"message": "Invalid request"})
			return
		}
		id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, run := range f.runs {
			if run.ID == id {
				f.apply(run, req)
				writeJSON(w, 200, f.runJSON(run))
				return
			}
		}
		notFound(w)
	})

	m.HandleFunc("GET /repos/{owner}/{repo}/issues/{pr}/comments", func(w http.ResponseWriter, r *http.Request) {
		pr, _ := strconv.Atoi(r.PathValue("pr"))
		f.mu.Lock()
		var out []map[string]any
		for _, c := range f.comments {
			if c.PR == pr {
				out = append(out, map[string]any{"id": c.ID, "body": c.Body, "user": map[string]any{"login": c.User}})
			}
		}
		f.mu.Unlock()
		page(w, r, out)
	})
	m.HandleFunc("POST /repos/{owner}/{repo}/issues/{pr}/comments", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Body string }
		_ = json.NewDecoder(r.Body).Decode(&req)
		pr, _ := strconv.Atoi(r.PathValue("pr"))
		c := f.addComment(pr, f.writer(r), req.Body)
		writeJSON(w, 201, map[string]any{"id": c.ID, "body": c.Body})
	})
	m.HandleFunc("PATCH /repos/{owner}/{repo}/issues/comments/{id}", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Body string }
		_ = json.NewDecoder(r.Body).Decode(&req)
		id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, c := range f.comments {
			if c.ID == id {
				if c.User != f.writer(r) {
					writeJSON(w, 403, map[string]string{"message": "Resource not accessible by integration"})
					return
				}
				c.Body = req.Body
				writeJSON(w, 200, map[string]any{"id": c.ID, "body": c.Body})
				return
			}
		}
		notFound(w)
	})
	m.HandleFunc("POST /repos/{owner}/{repo}/issues/comments/{id}/reactions", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Content string }
		_ = json.NewDecoder(r.Body).Decode(&req)
		id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
		f.mu.Lock()
		f.reactions[id] = append(f.reactions[id], req.Content)
		f.mu.Unlock()
		writeJSON(w, 201, map[string]any{"id": 1, "content": req.Content})
	})

	m.HandleFunc("GET /repos/{owner}/{repo}/collaborators/{user}/permission", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		p, ok := f.perms[r.PathValue("user")]
		f.mu.Unlock()
		if !ok {
			notFound(w)
			return
		}
		writeJSON(w, 200, map[string]any{"permission": p[0], "role_name": p[1], "user": map[string]any{"login": r.PathValue("user")}})
	})
	m.HandleFunc("GET /orgs/{org}/teams", func(w http.ResponseWriter, r *http.Request) {
		var out []map[string]any
		for i, s := range f.teams {
			out = append(out, map[string]any{"id": i + 1, "slug": s, "name": s})
		}
		page(w, r, out)
	})
	m.HandleFunc("GET /orgs/{org}/teams/{slug}/memberships/{user}", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		state, ok := f.members[r.PathValue("slug")][r.PathValue("user")]
		f.mu.Unlock()
		if !ok {
			notFound(w)
			return
		}
		writeJSON(w, 200, map[string]any{"state": state, "role": "member"})
	})
	if f.extraRoutes != nil {
		f.extraRoutes(m)
	}
}

// apply updates a run as GitHub does (with f.mu held).
func (f *fakeGitHub) apply(run *fakeRun, req checkRunRequest) {
	if req.Name != "" {
		run.Name = req.Name
	}
	if req.ExternalID != "" {
		run.ExternalID = req.ExternalID
	}
	if req.Status != "" {
		run.Status = req.Status
		if req.Status != "completed" {
			run.Conclusion = ""
		}
	}
	if req.Conclusion != "" {
		run.Status, run.Conclusion = "completed", req.Conclusion
	}
	if req.Output != nil {
		run.Title, run.Summary = req.Output.Title, req.Output.Summary
		run.Annotations += len(req.Output.Annotations)
	}
	if req.Actions != nil {
		run.Actions = *req.Actions
	}
}

func (f *fakeGitHub) addComment(pr int, user, body string) *fakeComment {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	c := &fakeComment{ID: f.nextID, PR: pr, User: user, Body: body}
	f.comments = append(f.comments, c)
	return c
}

func (f *fakeGitHub) run(id int64) fakeRun {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.runs {
		if r.ID == id {
			return *r
		}
	}
	f.t.Fatalf("no check run %d", id)
	return fakeRun{}
}

// newTokenClient is a client with a plain token against f.
func newTokenClient(t *testing.T, f *fakeGitHub, mutate ...func(*Config)) *Client {
	t.Helper()
	cfg := Config{
		BaseURL: f.URL(), Token: "t0ken-plain", Org: "acme",
		Limiter: NewLimiter(60, f.clock), Clock: f.clock,
		CacheDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	for _, m := range mutate {
		m(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func isPermanent(err error) bool {
	var p workflows.PermanentError
	return errors.As(err, &p)
}
