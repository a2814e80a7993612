package githubsim

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configure a Server. The zero value is usable.
type Options struct {
	// BaseURL is where the simulator is reachable, without a trailing slash
	// ("http://127.0.0.1:8080"). Start sets it; set it yourself when you serve
	// the Server on your own listener. URLs inside API answers and webhook
	// payloads are built from it: the REST API lives under BaseURL+"/api/v3"
	// (GitHub Enterprise Server layout), web pages and git under BaseURL.
	BaseURL string
	// Dir holds one bare repository per simulated repository
	// (Dir/<owner>/<name>.git). Empty means a temporary directory that Close
	// removes.
	Dir string
	// Clock is the simulator's time (timestamps, token expiry, rate-limit
	// windows, commit dates). Defaults to time.Now.
	Clock func() time.Time
	// App is the GitHub App that the simulator hosts.
	App AppOptions
	// Hooks receive webhook deliveries; more can be added with AddHook.
	Hooks []Hook
	// RequireAuth makes API requests without credentials fail with 401.
	// Otherwise they act as the App's bot user, which is convenient in tests.
	RequireAuth bool
	// RateLimit is the hourly request budget of each identity
	// (X-RateLimit-Limit). 0 means 5000; a negative value disables the limit
	// (headers are still sent).
	RateLimit int
	// Git is the git binary (default: "git" on PATH, else /usr/bin/git).
	Git string
	// HTTPBackend is git-http-backend (default /usr/lib/git-core/git-http-backend).
	HTTPBackend string
	// DeliveryTimeout bounds one webhook delivery over HTTP (default 10s, as GitHub).
	DeliveryTimeout time.Duration
}

// AppOptions describe the simulated GitHub App.
type AppOptions struct {
	// ID is the App ID (default 1).
	ID int64
	// Slug names the App and its bot user "<slug>[bot]" (default "prdeploy").
	Slug string
	// Name is the display name (default: the slug).
	Name string
	// Owner is the login of the organization that owns the App (default: the
	// slug). It is created as an organization if it does not exist.
	Owner string
	// PublicKey, when set, is used to verify the RS256 JWTs that authenticate
	// as the App (/app endpoints). When nil, any well-formed JWT is accepted.
	PublicKey *rsa.PublicKey
	// Permissions granted to installations (default: checks, contents,
	// issues, pull_requests, members, metadata).
	Permissions map[string]string
	// Events the App subscribes to (default: check_run, issue_comment,
	// pull_request, pull_request_review).
	Events []string
	// NoAutoInstall stops CreateRepo from installing the App on the
	// repository owner's account; use Install then.
	NoAutoInstall bool
}

// Server is a simulated GitHub: REST API v3 subset, git smart HTTP and
// webhook deliveries. It is an http.Handler; all methods are safe for
// concurrent use.
type Server struct {
	opts    Options
	clock   func() time.Time
	gitBin  string
	backend string

	mu       sync.Mutex
	base     string
	dir      string
	ownDir   bool
	listener *httptest.Server
	seq      map[idKind]int64

	users     map[string]*user // lower-case login →
	repos     map[string]*repo // lower-case owner/name →
	teams     map[string]*team // lower-case org/slug →
	orgMember map[string]bool  // lower-case org/login →
	installs  []*installation
	tokens    map[string]*token
	comments  map[int64]*comment
	checkRuns map[int64]*checkRun
	suites    map[string]int64 // repo id/sha → check suite id
	app       appInfo

	hooks      []*hook
	deliveries []Delivery

	calls  []Call
	faults []*faultState
	rate   map[string]*rateBucket
	oauth  oauthState

	api *http.ServeMux
}

type appInfo struct {
	id          int64
	slug, name  string
	owner       *user
	bot         *user
	created     time.Time
	permissions map[string]string
	events      []string
}

// New returns a simulator. Nothing is written to disk until the first
// repository is created.
func New(opts Options) *Server {
	s := &Server{
		opts:      opts,
		clock:     opts.Clock,
		base:      strings.TrimRight(opts.BaseURL, "/"),
		seq:       map[idKind]int64{},
		users:     map[string]*user{},
		repos:     map[string]*repo{},
		teams:     map[string]*team{},
		orgMember: map[string]bool{},
		tokens:    map[string]*token{},
		comments:  map[int64]*comment{},
		checkRuns: map[int64]*checkRun{},
		suites:    map[string]int64{},
		rate:      map[string]*rateBucket{},
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	s.gitBin = opts.Git
	if s.gitBin == "" {
		if p, err := exec.LookPath("git"); err == nil {
			s.gitBin = p
		} else {
			s.gitBin = "/usr/bin/git"
		}
	}
	s.backend = opts.HTTPBackend
	if s.backend == "" {
		s.backend = "/usr/lib/git-core/git-http-backend"
	}
	s.setupApp()
	for _, h := range opts.Hooks {
		s.addHookLocked(h)
	}
	s.api = s.routes()
	return s
}

func (s *Server) setupApp() {
	o := s.opts.App
	a := appInfo{id: o.ID, slug: o.Slug, name: o.Name, created: s.now()}
	if a.id == 0 {
		a.id = 1
	}
	if a.slug == "" {
		a.slug = "prdeploy"
	}
	if a.name == "" {
		a.name = a.slug
	}
	ownerLogin := o.Owner
	if ownerLogin == "" {
		ownerLogin = a.slug
	}
	a.owner = s.newUser(ownerLogin, "Organization", UserOptions{})
	a.bot = s.newUser(a.slug+"[bot]", "Bot", UserOptions{})
	a.bot.appSlug = a.slug
	a.permissions = o.Permissions
	if a.permissions == nil {
		a.permissions = map[string]string{
			"checks": "write", "contents": "read", "issues": "write",
			"pull_requests": "write", "members": "read", "metadata": "read",
		}
	}
	a.events = o.Events
	if a.events == nil {
		a.events = []string{"check_run", "issue_comment", "pull_request", "pull_request_review"}
	}
	s.app = a
}

// Start serves the simulator on a local httptest listener, sets BaseURL and
// returns it. Calling it again returns the same URL.
func (s *Server) Start() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listener == nil {
		s.listener = httptest.NewServer(s)
		s.base = s.listener.URL
	}
	return s.base
}

// SetBaseURL sets the externally visible address (see Options.BaseURL).
func (s *Server) SetBaseURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.base = strings.TrimRight(u, "/")
}

// URL returns the base URL (web pages and git live under it).
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.base
}

// APIURL returns the REST API base URL, with a trailing slash, as go-github's
// Client.BaseURL expects.
func (s *Server) APIURL() string { return s.URL() + "/api/v3/" }

// Close stops the listener started by Start and removes the temporary data
// directory, if the simulator created one.
func (s *Server) Close() error {
	s.mu.Lock()
	l, dir, own := s.listener, s.dir, s.ownDir
	s.listener = nil
	s.mu.Unlock()
	if l != nil {
		l.Close()
	}
	if own && dir != "" {
		return os.RemoveAll(dir)
	}
	return nil
}

func (s *Server) now() time.Time { return s.clock().UTC().Truncate(time.Second) }

// dataDir returns the repository root, creating it on first use. Call with s.mu held.
func (s *Server) dataDir() (string, error) {
	if s.dir != "" {
		return s.dir, nil
	}
	if s.opts.Dir != "" {
		if err := os.MkdirAll(s.opts.Dir, 0o755); err != nil {
			return "", fmt.Errorf("creating the simulator's data directory %s: %w", s.opts.Dir, err)
		}
		s.dir = s.opts.Dir
		return s.dir, nil
	}
	d, err := os.MkdirTemp("", "githubsim-")
	if err != nil {
		return "", fmt.Errorf("creating a temporary directory for the simulator: %w", err)
	}
	s.dir, s.ownDir = d, true
	return d, nil
}

// idKind names an ID sequence. IDs are deterministic: each kind counts up
// from its own base, so IDs of different kinds are easy to tell apart.
type idKind int

const (
	idUser idKind = iota
	idRepo
	idPull
	idIssue
	idComment
	idReview
	idCheckRun
	idCheckSuite
	idReaction
	idTeam
	idHook
	idInstallation
	idDelivery
	idToken
	idLabel
)

var idBase = map[idKind]int64{
	idUser: 1000, idRepo: 5000, idPull: 10000, idIssue: 20000, idComment: 30000,
	idReview: 40000, idCheckRun: 50000, idCheckSuite: 60000, idReaction: 70000,
	idTeam: 80000, idHook: 90000, idInstallation: 100, idDelivery: 0, idToken: 0,
	idLabel: 110000,
}

// nextID returns the next ID of a kind. Call with s.mu held.
func (s *Server) nextID(k idKind) int64 {
	s.seq[k]++
	return idBase[k] + s.seq[k]
}

// nodeID builds a GraphQL node ID in GitHub's legacy format:
// base64("0" + len(type) + ":" + type + id).
func nodeID(typ string, id int64) string {
	return base64.StdEncoding.EncodeToString([]byte("0" + strconv.Itoa(len(typ)) + ":" + typ + strconv.FormatInt(id, 10)))
}

// ServeHTTP routes git smart HTTP (/<owner>/<repo>.git/...), raw file
// downloads (/<owner>/<repo>/raw/<ref>/<path>) and the REST API (under
// /api/v3, or at the root for clients whose BaseURL is the server root).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sw := &statusWriter{ResponseWriter: w}
	path := r.URL.Path
	kind := kindAPI
	apiPath := path
	if p, ok := strings.CutPrefix(path, "/api/v3"); ok && (p == "" || p[0] == '/') {
		apiPath = p
		if apiPath == "" {
			apiPath = "/"
		}
	} else if isGitPath(path) {
		kind = kindGit
	} else if isRawPath(path) {
		kind = kindRaw
	}
	logPath := apiPath
	if kind != kindAPI {
		logPath = path
	}
	call := Call{Method: r.Method, Path: logPath, Query: r.URL.RawQuery, Mutating: kind == kindAPI && isMutating(r.Method), Git: kind == kindGit}

	defer func() {
		if call.Status == 0 {
			call.Status = sw.status()
		}
		s.logCall(call)
	}()
	if strings.HasPrefix(path, "/login/oauth/") { // github.com's login pages (oauth.go)
		s.serveOAuth(sw, r)
		return
	}

	s.mu.Lock()
	sw.Header().Set("X-GitHub-Request-Id", fmt.Sprintf("SIM0:%04X:%06X", s.app.id, len(s.calls)+1))
	s.mu.Unlock()
	f, err := s.takeFault(r.Method, logPath)
	if err != nil {
		call.Status = http.StatusInternalServerError
		writeError(sw, http.StatusInternalServerError, err.Error(), docREST)
		return
	}
	if f != nil && f.Latency > 0 {
		t := time.NewTimer(f.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			call.Fault = true
			call.Status = 499 // client went away, as nginx logs it
			return
		}
	}

	id, authErr := s.authenticate(r)
	if authErr != nil {
		s.rateHeaders(sw, "anonymous", false)
		call.Status = http.StatusUnauthorized
		if kind == kindGit {
			sw.Header().Set("WWW-Authenticate", `Basic realm="GitHub"`)
		}
		writeError(sw, http.StatusUnauthorized, authErr.Error(), docREST)
		return
	}
	if id.user != nil {
		call.Actor = id.user.login
	} else if id.app {
		call.Actor = "app:" + s.app.slug
	}

	limited := s.rateHeaders(sw, id.key, kind == kindAPI)
	if f != nil {
		call.Fault = true
		if f.Kind != FaultLatency {
			f.write(sw, s)
			return
		}
	}
	if limited {
		writeJSON(sw, http.StatusForbidden, apiError{
			Message:          fmt.Sprintf("API rate limit exceeded for %s.", id.describe()),
			DocumentationURL: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-rate-limits",
			Status:           "403",
		})
		return
	}

	switch kind {
	case kindGit:
		s.serveGit(sw, r, id)
	case kindRaw:
		s.serveRaw(sw, r, id)
	default:
		r2 := r.Clone(context.WithValue(r.Context(), identityKey{}, id))
		r2.URL.Path = apiPath
		if r.URL.RawPath != "" {
			r2.URL.RawPath = strings.TrimPrefix(r.URL.RawPath, "/api/v3")
		}
		s.api.ServeHTTP(sw, r2)
	}
}

type requestKind int

const (
	kindAPI requestKind = iota
	kindGit
	kindRaw
)

func isGitPath(p string) bool {
	parts := strings.SplitN(strings.TrimPrefix(p, "/"), "/", 3)
	return len(parts) >= 2 && strings.HasSuffix(parts[1], ".git") && len(parts[1]) > 4
}

func isRawPath(p string) bool {
	parts := strings.SplitN(strings.TrimPrefix(p, "/"), "/", 4)
	return len(parts) == 4 && parts[2] == "raw"
}

func isMutating(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// statusWriter remembers the status code it wrote.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}

var errNotFound = errors.New("not found")
