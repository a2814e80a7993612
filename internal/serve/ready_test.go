package serve

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gocloud.dev/secrets/localsecrets"

	"github.com/prdeploy/prdeploy/internal/config"
	"github.com/prdeploy/prdeploy/internal/githubsim"
)

// readyConfig is a serve configuration on the embedded Temporal server
// against gh, with extra YAML appended.
func readyConfig(t *testing.T, gh *githubsim.Server, github, extra string) *config.Config {
	t.Helper()
	key, _ := localsecrets.NewRandomKey()
	t.Setenv("TEST_WEBHOOK_SECRETS", "s")
	t.Setenv("TEST_PAYLOAD_KEY", "base64key://"+base64.URLEncoding.EncodeToString(key[:]))
	cfg, err := config.Parse("prdeploy.yaml", fmt.Appendf(nil, `listen: "127.0.0.1:0"
dataDir: %s
temporal: {listen: "127.0.0.1:0", uiListen: "off"}
github:
  apiURL: %s
  webhookSecrets: env:TEST_WEBHOOK_SECRETS
  repo: acme/deploys
%s
payloads:
  keys: {k1: env:TEST_PAYLOAD_KEY}
%s`, t.TempDir(), gh.APIURL(), github, extra))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestServeRefusesWhatCannotWork: serve fails at start, with the reason,
// when the kubeconfig it is given does not exist and when GitHub refuses
// the App's JWT (GET /app) — instead of reporting ready and failing every
// deployment later.
func TestServeRefusesWhatCannotWork(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	appKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	gh := githubsim.New(githubsim.Options{App: githubsim.AppOptions{PublicKey: &appKey.PublicKey}})
	gh.Start()
	defer gh.Close()
	t.Setenv("TEST_GITHUB_TOKEN", "unused")
	log := slog.New(slog.DiscardHandler)

	missing := filepath.Join(t.TempDir(), "kubeconfig")
	cfg := readyConfig(t, gh, "  token: env:TEST_GITHUB_TOKEN", "clusters: {kubeconfig: "+missing+"}\n")
	err := Serve(ctx, cfg, Options{Logger: log, Ready: func(Endpoints) { t.Error("ready with a missing kubeconfig") }})
	if err == nil || !strings.Contains(err.Error(), "clusters.kubeconfig: stat "+missing+": no such file or directory") {
		t.Errorf("missing kubeconfig: %v", err)
	}

	// The App's key is not the one GitHub knows.
	wrongKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	keyFile := filepath.Join(t.TempDir(), "app.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(wrongKey)}), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg = readyConfig(t, gh, fmt.Sprintf("  appID: %d\n  privateKey: file:%s", gh.AppID(), keyFile), "")
	err = Serve(ctx, cfg, Options{Logger: log, Ready: func(Endpoints) { t.Error("ready with a refused App") }})
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("github: GitHub refused the credentials: authenticating as GitHub App %d (GET /app with its JWT)", gh.AppID())) ||
		!strings.Contains(err.Error(), "check github.appID and github.privateKey") {
		t.Errorf("refused App: %v", err)
	}
}

// TestReadyzReportsEachDependency: /readyz answers 503 while a cluster of
// the kubeconfig does not answer, with a JSON reason per dependency, and
// within its bound.
func TestReadyzReportsEachDependency(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	gh := githubsim.New(githubsim.Options{})
	gh.Start()
	defer gh.Close()
	token, _ := gh.Token(gh.BotLogin())
	t.Setenv("TEST_GITHUB_TOKEN", token)
	down := freeAddr(t)
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, fmt.Appendf(nil, `apiVersion: v1
kind: Config
clusters: [{name: prod-eu, cluster: {server: "https://%s", insecure-skip-tls-verify: true}}]
users: [{name: ops, user: {token: t}}]
contexts: [{name: prod-eu, context: {cluster: prod-eu, user: ops}}]
current-context: prod-eu
`, down), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := readyConfig(t, gh, "  token: env:TEST_GITHUB_TOKEN", "clusters: {kubeconfig: "+kubeconfig+"}\n")
	rctx, stop := context.WithCancel(ctx)
	addrs, done := make(chan string, 1), make(chan error, 1)
	go func() {
		done <- Serve(rctx, cfg, Options{Logger: slog.New(slog.DiscardHandler), Ready: func(e Endpoints) { addrs <- e.Addr }})
	}()
	var addr string
	select {
	case addr = <-addrs:
	case err := <-done:
		t.Fatalf("serve: %v", err)
	case <-ctx.Done():
		t.Fatal("serve did not start")
	}
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	start := time.Now()
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rep ReadyReport
	if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > probeTimeout+time.Second {
		t.Errorf("/readyz took %v", d)
	}
	if resp.StatusCode != http.StatusServiceUnavailable || rep.Ready {
		t.Errorf("/readyz %d ready=%v, want 503", resp.StatusCode, rep.Ready)
	}
	got := map[string]DependencyStatus{}
	for _, d := range rep.Dependencies {
		got[d.Name] = d
	}
	for _, name := range []string{"temporal", "github", "payloads"} {
		if !got[name].Ready {
			t.Errorf("%s not ready: %+v", name, got[name])
		}
	}
	if k := got["kubernetes/prod-eu"]; k.Ready || !strings.Contains(k.Reason, "API server of context prod-eu") || !strings.Contains(k.Reason, "connection refused") {
		t.Errorf("kubernetes/prod-eu: %+v", k)
	}
}

// TestReadinessBoundsEachProbe: a dependency that never answers is
// reported after the probe's bound, and the others still are.
func TestReadinessBoundsEachProbe(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	r := &readiness{timeout: 50 * time.Millisecond, ttl: time.Minute, deps: []dependency{
		{"hangs", func(context.Context) error { <-block; return nil }}, // ignores its context
		{"fine", func(context.Context) error { return nil }},
	}}
	start := time.Now()
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if d := time.Since(start); d > time.Second {
		t.Errorf("/readyz took %v", d)
	}
	want := `"name": "hangs",
      "ready": false,
      "reason": "no answer within 50ms",`
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), want) || !strings.Contains(rec.Body.String(), `"name": "fine",
      "ready": true,`) {
		t.Errorf("%d %s", rec.Code, rec.Body.String())
	}
}
