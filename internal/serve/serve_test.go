package serve

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"gocloud.dev/secrets/localsecrets"

	"github.com/prdeploy/prdeploy/internal/config"
	"github.com/prdeploy/prdeploy/internal/devserver"
	"github.com/prdeploy/prdeploy/internal/githubsim"
	"github.com/prdeploy/prdeploy/webhook"
)

// TestServeStartsChecksPlansAndStops runs `prdeploy serve` on its
// embedded Temporal server against the GitHub simulator: health and
// readiness answer, a forged delivery is refused, a PR with a plan gets
// its plan check through the served webhook, and it stops cleanly on
// cancel and starts again on the same data directory.
func TestServeStartsChecksPlansAndStops(t *testing.T) {
	ctx := context.Background()
	gh := githubsim.New(githubsim.Options{})
	gh.Start()
	defer gh.Close()
	if _, err := gh.CreateRepo(ctx, githubsim.RepoSpec{Repo: "acme/deploys", Dir: "../../examples/gitops-repo"}); err != nil {
		t.Fatal(err)
	}
	token, err := gh.Token(gh.BotLogin())
	if err != nil {
		t.Fatal(err)
	}
	key, _ := localsecrets.NewRandomKey()
	t.Setenv("TEST_GITHUB_TOKEN", token)
	t.Setenv("TEST_WEBHOOK_SECRETS", "old-secret, new-secret")
	t.Setenv("TEST_PAYLOAD_KEY", "base64key://"+base64.URLEncoding.EncodeToString(key[:]))
	dataDir := t.TempDir()
	cfg, err := config.Parse("prdeploy.yaml", fmt.Appendf(nil, `listen: "127.0.0.1:0"
dataDir: %s
temporal: {listen: "127.0.0.1:0", uiListen: "127.0.0.1:0"}
metrics: {listen: "127.0.0.1:0"}
github:
  apiURL: %s
  token: env:TEST_GITHUB_TOKEN
  webhookSecrets: env:TEST_WEBHOOK_SECRETS
  repo: acme/deploys
  org: acme
payloads:
  keys: {k1: env:TEST_PAYLOAD_KEY}
`, dataDir, gh.APIURL()))
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))

	var metricsAddr string
	run := func() (string, context.CancelFunc, chan error) {
		rctx, cancel := context.WithCancel(ctx)
		addrs, done := make(chan Endpoints, 1), make(chan error, 1)
		start := time.Now()
		go func() { done <- Serve(rctx, cfg, Options{Logger: log, Ready: func(e Endpoints) { addrs <- e }}) }()
		select {
		case e := <-addrs:
			t.Logf("serve ready in %v", time.Since(start).Round(time.Millisecond))
			metricsAddr = e.Metrics
			return "http://" + e.Addr, cancel, done
		case err := <-done:
			t.Fatalf("serve: %v", err)
		case <-time.After(time.Minute):
			t.Fatal("serve did not start in a minute")
		}
		return "", nil, nil
	}
	get := func(url string) (int, string) {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	base, cancel, done := run()
	if code, _ := get(base + "/healthz"); code != http.StatusOK {
		t.Fatalf("healthz %d", code)
	}
	if code, body := get(base + "/readyz"); code != http.StatusOK {
		t.Fatalf("readyz %d %s", code, body)
	}
	// The status page, also at the root, and the Temporal Web UI.
	if code, body := get(base + "/"); code != http.StatusOK || !strings.Contains(body, "No deployments yet") {
		t.Fatalf("status page: %d %s", code, body)
	}
	ui := regexp.MustCompile(`"msg":"Temporal Web UI","url":"([^"]+)"`).FindStringSubmatch(logs.String())
	if ui == nil {
		t.Fatalf("no Web UI logged:\n%s", logs.String())
	}
	if code, body := get(ui[1] + "/namespaces/default/workflows"); code != http.StatusOK || !strings.Contains(body, "<html") {
		t.Fatalf("Web UI at %s: %d", ui[1], code)
	}
	ping := []byte(`{"zen":"Keep it logically awesome.","hook_id":1}`)
	post := func(secret webhook.Secret) int {
		r, _ := http.NewRequest(http.MethodPost, base+webhook.Path, bytes.NewReader(ping))
		r.Header.Set("X-GitHub-Event", "ping")
		r.Header.Set("X-GitHub-Delivery", "d-1")
		r.Header.Set("X-Hub-Signature-256", webhook.Sign(secret, ping))
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if post("forged") != http.StatusUnauthorized || post("old-secret") != http.StatusOK || post("new-secret") != http.StatusOK {
		t.Fatal("signatures: forged must be 401, both rotated secrets 200")
	}

	// A PR with a plan, delivered to the served webhook.
	gh.AddHook(githubsim.Hook{URL: base + webhook.Path, Secret: "new-secret", Repo: "acme/deploys"})
	plan := "apiVersion: prdeploy.dev/v1\nkind: DeployPlan\nmetadata: {name: web-8}\nspec:\n  clusters: [prod-eu]\n  services: [{name: web, tag: \"8.0.0\"}]\n  tenants: {names: [globex]}\n"
	if _, err := gh.Push(ctx, githubsim.PushSpec{Repo: "acme/deploys", Branch: "web-8", Files: map[string]string{"deploys/web-8.yaml": plan}}); err != nil {
		t.Fatal(err)
	}
	pr, err := gh.OpenPullRequest(ctx, githubsim.PullRequestSpec{Repo: "acme/deploys", Head: "web-8", Base: "main", Title: "web 8", Author: gh.BotLogin()})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		runs, _ := gh.CheckRuns("acme/deploys", pr.HeadSHA)
		if len(runs) == 1 && runs[0].Status == "completed" {
			if !strings.Contains(runs[0].Summary, "web-8") {
				t.Fatalf("plan check: %s", runs[0].Summary)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no plan check: %+v", runs)
		}
		time.Sleep(50 * time.Millisecond) // polling the simulator for the check run
	}

	// Prometheus metrics: the deliveries above, GitHub calls, deployments;
	// on their own listener, on loopback, and not on the public one.
	if code, _ := get(base + "/metrics"); code != http.StatusNotFound {
		t.Errorf("/metrics on the webhook listener: %d, want 404", code)
	}
	if host, _, _ := net.SplitHostPort(metricsAddr); host != "127.0.0.1" {
		t.Errorf("metrics listen on %q, want loopback", metricsAddr)
	}
	_, body := get("http://" + metricsAddr + "/metrics")
	for _, want := range []string{`prdeploy_webhooks_total{event="ping",result="bad_signature",source="github"} 1`,
		`prdeploy_webhooks_total{event="ping",result="ignored",source="github"} 2`,
		`prdeploy_webhooks_total{event="pull_request",result="accepted",source="github"}`,
		`prdeploy_github_requests_total{code="200",method="GET"}`, `prdeploy_deployments{state="running"} 0`} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	stopAt := time.Now()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("stop: %v", err)
	}
	t.Logf("stopped in %v", time.Since(stopAt).Round(time.Millisecond))
	for _, secret := range []string{token, "old-secret", "new-secret", base64.URLEncoding.EncodeToString(key[:])} {
		if strings.Contains(logs.String(), secret) {
			t.Fatalf("a secret is in the logs")
		}
	}
	if _, err := filepath.Glob(filepath.Join(dataDir, "temporal", "*")); err != nil {
		t.Fatal(err)
	}
	// Again on the same data directory: the embedded server's data is there.
	base, cancel, done = run()
	if code, _ := get(base + "/readyz"); code != http.StatusOK {
		t.Fatalf("readyz after restart %d", code)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestSplitRoles: a webhook server and a worker, in two Runs, share an
// external Temporal server (another in-process server standing in for the
// cluster): a PR delivered to the webhook role is checked by the worker
// role. A split role without temporal.address is refused.
func TestSplitRoles(t *testing.T) {
	ctx := context.Background()
	ts, err := devserver.Start(ctx, devserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Stop()
	gh := githubsim.New(githubsim.Options{})
	gh.Start()
	defer gh.Close()
	if _, err := gh.CreateRepo(ctx, githubsim.RepoSpec{Repo: "acme/deploys", Dir: "../../examples/gitops-repo"}); err != nil {
		t.Fatal(err)
	}
	token, _ := gh.Token(gh.BotLogin())
	key, _ := localsecrets.NewRandomKey()
	t.Setenv("TEST_GITHUB_TOKEN", token)
	t.Setenv("TEST_WEBHOOK_SECRETS", "s")
	t.Setenv("TEST_PAYLOAD_KEY", "base64key://"+base64.URLEncoding.EncodeToString(key[:]))
	clientID, clientSecret := gh.OAuthClient()
	t.Setenv("TEST_OAUTH_SECRET", clientSecret)
	cfg, err := config.Parse("prdeploy.yaml", fmt.Appendf(nil, `listen: "127.0.0.1:0"
publicURL: http://127.0.0.1:8099
temporal: {address: %q, namespace: %q}
metrics: {listen: "127.0.0.1:0"}
github: {apiURL: %q, token: env:TEST_GITHUB_TOKEN, webhookSecrets: env:TEST_WEBHOOK_SECRETS, repo: acme/deploys}
auth: {mode: github, github: {clientID: %s, clientSecret: env:TEST_OAUTH_SECRET}}
payloads:
  bucket: mem://
  keys: {k1: env:TEST_PAYLOAD_KEY}
`, ts.FrontendAddress(), ts.Namespace(), gh.APIURL(), clientID))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	addrs := make(chan string, 2)
	done := make(chan error, 2)
	for _, role := range []string{RoleWorker, RoleWebhook} {
		go func() { done <- RunRole(rctx, cfg, role, log, func(a string) { addrs <- a }) }()
	}
	got := map[string]bool{}
	var hookBase string
	for len(got) < 2 {
		select {
		case a := <-addrs:
			got[a] = true
			// The webhook role answers the webhook path; the worker's is 404.
			resp, err := http.Post("http://"+a+webhook.Path, "application/json", strings.NewReader("{}"))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound {
				hookBase = "http://" + a
			}
			checkLoginRequired(t, "http://"+a, gh.URL(), clientID)
		case err := <-done:
			t.Fatalf("a role stopped: %v", err)
		case <-time.After(time.Minute):
			t.Fatal("roles did not start")
		}
	}
	if hookBase == "" {
		t.Fatal("no role serves the webhook")
	}
	gh.AddHook(githubsim.Hook{URL: hookBase + webhook.Path, Secret: "s", Repo: "acme/deploys"})
	plan := "apiVersion: prdeploy.dev/v1\nkind: DeployPlan\nmetadata: {name: web-9}\nspec:\n  clusters: [prod-eu]\n  services: [{name: web, tag: \"9.0.0\"}]\n  tenants: {names: [globex]}\n"
	if _, err := gh.Push(ctx, githubsim.PushSpec{Repo: "acme/deploys", Branch: "web-9", Files: map[string]string{"deploys/web-9.yaml": plan}}); err != nil {
		t.Fatal(err)
	}
	pr, err := gh.OpenPullRequest(ctx, githubsim.PullRequestSpec{Repo: "acme/deploys", Head: "web-9", Base: "main", Title: "web 9", Author: gh.BotLogin()})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); ; {
		runs, _ := gh.CheckRuns("acme/deploys", pr.HeadSHA)
		if len(runs) == 1 && runs[0].Status == "completed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the worker role did not check the plan: %+v", runs)
		}
		time.Sleep(50 * time.Millisecond) // polling the simulator for the check run
	}
	cancel()
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if err := RunRole(ctx, &config.Config{}, RoleWorker, log, nil); err == nil || !strings.Contains(err.Error(), "needs temporal.address") {
		t.Fatalf("worker without temporal.address: %v", err)
	}
}

// lockedBuffer collects logs written from several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// checkLoginRequired: with auth.mode github, the status page sends an
// anonymous visitor to the login, which sends them to GitHub with the
// App's client and the callback under publicURL; its JSON answers 401.
func checkLoginRequired(t *testing.T, base, github, clientID string) {
	t.Helper()
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(u string) *http.Response {
		resp, err := noFollow.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := get(base + "/deployments?format=json"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous JSON: %d, want 401", resp.StatusCode)
	}
	resp := get(base + "/deployments/prod-eu/web-9")
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || loc != "/auth/login?next=%2Fdeployments%2Fprod-eu%2Fweb-9" {
		t.Fatalf("anonymous page: %d → %q, want the login", resp.StatusCode, loc)
	}
	resp = get(base + "/auth/login?next=%2Fdeployments%2Fprod-eu%2Fweb-9")
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, github+"/login/oauth/authorize?") ||
		!strings.Contains(loc, "client_id="+clientID) || !strings.Contains(loc, "redirect_uri=http%3A%2F%2F127.0.0.1%3A8099%2Fauth%2Fcallback") ||
		!strings.Contains(loc, "state=") {
		t.Errorf("login: %d → %q", resp.StatusCode, loc)
	}
}
