package githubapp

import (
	"context"
	"io"
	"io/fs"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

const gitHTTPBackend = "/usr/lib/git-core/git-http-backend"

// gitServer serves bare repositories under root with git http-backend,
// for the token "t0ken-plain" only, counting requests.
type gitServer struct {
	root     string
	requests atomic.Int64
}

func (g *gitServer) handler(t *testing.T) http.Handler {
	backend := &cgi.Handler{
		Path: gitHTTPBackend,
		Root: "/git",
		Env:  []string{"GIT_PROJECT_ROOT=" + g.root, "GIT_HTTP_EXPORT_ALL=1", "HOME=" + t.TempDir(), "GIT_CONFIG_NOSYSTEM=1"},
		// "not our ref" for an unknown commit is expected.
		Stderr: io.Discard,
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.requests.Add(1)
		user, pass, ok := r.BasicAuth()
		if !ok || user != "x-access-token" || pass != "t0ken-plain" {
			w.Header().Set("WWW-Authenticate", `Basic realm="GitHub"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		backend.ServeHTTP(w, r)
	})
}

// runGit runs git in dir, with no user or system configuration.
func runGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// makeRepo makes root/acme/deploys.git with three commits on main (plan
// v1, v2, v3) and one on refs/pull/1/head only, and returns their SHAs.
func makeRepo(t *testing.T, root string, bySHA bool) (main []string, pr string) {
	t.Helper()
	if _, err := os.Stat(gitHTTPBackend); err != nil {
		if os.Getenv("PRDEPLOY_REAL") == "required" { // make test installs git (hack/deps.sh)
			t.Fatalf("git http-backend is not installed at %s", gitHTTPBackend)
		}
		t.Skip("git http-backend is not installed (make deps installs git)")
	}
	work := t.TempDir()
	runGit(t, work, "init", "-q", "-b", "main")
	for _, v := range []string{"v1", "v2", "v3"} {
		os.MkdirAll(filepath.Join(work, "deploys"), 0o755)
		os.WriteFile(filepath.Join(work, "deploys", "api.yaml"), []byte("version: "+v+"\n"), 0o644)
		os.WriteFile(filepath.Join(work, "fleet.yaml"), []byte("clusters: []\n"), 0o644)
		runGit(t, work, "add", "-A")
		runGit(t, work, "commit", "-q", "-m", v)
		main = append(main, runGit(t, work, "rev-parse", "HEAD"))
	}
	runGit(t, work, "checkout", "-q", "-b", "feature")
	os.WriteFile(filepath.Join(work, "deploys", "api.yaml"), []byte("version: pr\n"), 0o644)
	runGit(t, work, "commit", "-q", "-am", "pr")
	pr = runGit(t, work, "rev-parse", "HEAD")

	bare := filepath.Join(root, "acme", "deploys.git")
	os.MkdirAll(filepath.Dir(bare), 0o755)
	runGit(t, root, "clone", "-q", "--bare", work, bare)
	runGit(t, bare, "update-ref", "refs/pull/1/head", pr)
	runGit(t, bare, "branch", "-D", "feature")
	if bySHA {
		runGit(t, bare, "config", "uploadpack.allowReachableSHA1InWant", "true")
		runGit(t, bare, "config", "uploadpack.allowAnySHA1InWant", "true")
	}
	return main, pr
}

func newGitFixture(t *testing.T, bySHA bool) (*Client, *fakeGitHub, *gitServer, []string, string) {
	clock := newFakeClock()
	g := &gitServer{root: t.TempDir()}
	main, pr := makeRepo(t, g.root, bySHA)
	f := newFakeGitHub(t, clock)
	f.mux.Handle("/git/", g.handler(t))
	f.cloneURL = f.srv.URL + "/git/acme/deploys.git"
	c := newTokenClient(t, f)
	return c, f, g, main, pr
}

func readFile(t *testing.T, fsys fs.FS, name string) string {
	t.Helper()
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCheckoutFetchesACommitBySHA(t *testing.T) {
	c, _, g, main, _ := newGitFixture(t, true)
	ctx := context.Background()

	// An older commit than the branch's tip: fetched by its SHA.
	fsys, err := c.Checkout(ctx, "acme/deploys", main[0])
	if err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, fsys, "deploys/api.yaml"); got != "version: v1\n" {
		t.Errorf("api.yaml = %q, want v1", got)
	}
	if readFile(t, fsys, "fleet.yaml") == "" {
		t.Error("fleet.yaml is empty")
	}
	first := g.requests.Load()
	if first == 0 {
		t.Fatal("nothing was fetched")
	}

	// The same commit again comes from the cache.
	fsys, err = c.Checkout(ctx, "acme/deploys", main[0])
	if err != nil {
		t.Fatal(err)
	}
	if readFile(t, fsys, "deploys/api.yaml") != "version: v1\n" {
		t.Error("cached checkout differs")
	}
	if n := g.requests.Load(); n != first {
		t.Errorf("the second checkout sent %d git requests, want 0", n-first)
	}

	// Another commit is fetched into the same cache.
	fsys, err = c.Checkout(ctx, "acme/deploys", main[2])
	if err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, fsys, "deploys/api.yaml"); got != "version: v3\n" {
		t.Errorf("api.yaml = %q, want v3", got)
	}
	dirs, _ := filepath.Glob(filepath.Join(c.cacheDir, "*", "acme", "deploys.git"))
	if len(dirs) != 1 {
		t.Errorf("cache repositories = %v, want one", dirs)
	}
	shallow, _ := os.ReadFile(filepath.Join(dirs[0], "shallow"))
	if !strings.Contains(string(shallow), main[0]) {
		t.Errorf("the fetch was not shallow (shallow file %q)", shallow)
	}

	// A commit GitHub does not have is a permanent error.
	_, err = c.Checkout(ctx, "acme/deploys", strings.Repeat("ab", 20))
	if !isPermanent(err) {
		t.Errorf("unknown commit: err = %v, want permanent", err)
	}
	if _, err := c.Checkout(ctx, "acme/deploys", "main"); !isPermanent(err) {
		t.Errorf("a branch name: err = %v, want permanent", err)
	}
}

func TestCheckoutFallsBackWhenTheServerRefusesSHAs(t *testing.T) {
	c, _, _, main, pr := newGitFixture(t, false)
	ctx := context.Background()

	fsys, err := c.Checkout(ctx, "acme/deploys", main[1])
	if err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, fsys, "deploys/api.yaml"); got != "version: v2\n" {
		t.Errorf("api.yaml = %q, want v2", got)
	}
	fsys, err = c.Checkout(ctx, "acme/deploys", pr)
	if err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, fsys, "deploys/api.yaml"); got != "version: pr\n" {
		t.Errorf("api.yaml = %q, want the PR's", got)
	}
	if _, err := c.Checkout(ctx, "acme/deploys", strings.Repeat("cd", 20)); !isPermanent(err) {
		t.Errorf("unknown commit: err = %v, want permanent", err)
	}
}

func TestCheckoutWithARefusedToken(t *testing.T) {
	clock := newFakeClock()
	g := &gitServer{root: t.TempDir()}
	main, _ := makeRepo(t, g.root, true)
	f := newFakeGitHub(t, clock)
	f.mux.Handle("/git/", g.handler(t))
	f.cloneURL = f.srv.URL + "/git/acme/deploys.git"
	c := newTokenClient(t, f, func(c *Config) { c.Token = "wrong" })

	_, err := c.Checkout(context.Background(), "acme/deploys", main[0])
	if !isPermanent(err) {
		t.Errorf("err = %v, want permanent", err)
	}
	if err != nil && strings.Contains(err.Error(), "wrong") {
		t.Errorf("error %q shows the token", err)
	}
}
