package serve_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"gocloud.dev/secrets/localsecrets"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/prdeploy/prdeploy/internal/config"
	"github.com/prdeploy/prdeploy/internal/demo"
	"github.com/prdeploy/prdeploy/internal/githubsim"
	"github.com/prdeploy/prdeploy/internal/kube/kubetest"
	"github.com/prdeploy/prdeploy/internal/prepare"
	"github.com/prdeploy/prdeploy/internal/statuspage"
	"github.com/prdeploy/prdeploy/webhook"
	"github.com/prdeploy/prdeploy/workflows"
)

// crashPlan rolls web out to three prod-eu tenants one at a time: the
// canary globex, the after-canary gate (the example policies want two SRE
// approvals for production), then initech and umbrella. podsAvailable
// watches each tenant for 3 s after its rollout.
const crashPlan = `apiVersion: prdeploy.dev/v1
kind: DeployPlan
metadata:
  name: web-crash
  description: web 7.1.0 to three prod-eu tenants, one at a time
spec:
  clusters: [prod-eu]
  services: [{name: web, tag: "7.1.0"}]
  tenants: {names: [globex, initech, umbrella]}
  rollout:
    canary: {tenants: [globex]}
    approval: after-canary
    maxParallel: 1
  checks: {interval: 1s, settle: 3s, noCriticalAlerts: {enabled: false}}
  onFailure: {action: stop}
`

// noFreezes replaces the example repository's freeze windows (a holiday
// freeze, no Friday afternoons in Berlin), so that the test passes on
// every day of the year.
const noFreezes = `apiVersion: prdeploy.dev/v1
kind: DeployPolicy
metadata:
  name: production-freezes
  description: No freeze windows in this test
rules:
  - name: never
    when: 'false'
    deny: "never denies"
`

// TestKillMidDeploymentAndRestart is issue 8: `prdeploy serve`, in a
// process of its own, deploys a merged plan to the local control plane
// through a proxy that counts server-side applies. It is SIGKILLed while
// the second tenant rolls out, and a new process on the same dataDir and
// configuration finishes the deployment: what had finished is not applied
// again, no Deployment rolls out twice, each milestone comment is posted
// once, and the check run links to the status page. On the way it measures
// the time from the merge to the first apply (target ≤ 2 s).
func TestKillMidDeploymentAndRestart(t *testing.T) {
	cp := kubetest.StartT(t)
	ctx := context.Background()
	const (
		repo       = "acme/deploys"
		deployment = "web-crash"
		image      = "registry.example.com/acme/web:7.1.0"
	)
	tenants := []string{"globex", "initech", "umbrella"}
	namespace := func(tenant string) string { return "tenant-" + tenant } // fleet.yaml

	// The cluster: tenant namespaces exist (prdeploy applies into them,
	// it does not create them), and serve reaches the apiserver only
	// through the counting proxy, as the kubeconfig context prod-eu.
	kcfg, err := cp.Config()
	if err != nil {
		t.Fatal(err)
	}
	kc, err := kubernetes.NewForConfig(kcfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, tn := range tenants {
		if _, err := kc.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace(tn)}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	proxy := startKubeProxy(t, kcfg)
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, fmt.Appendf(nil, `apiVersion: v1
kind: Config
clusters: [{name: proxy, cluster: {server: %q}}]
users: [{name: anonymous, user: {}}]
contexts: [{name: prod-eu, context: {cluster: proxy, user: anonymous}}]
current-context: prod-eu
`, proxy.URL), 0o600); err != nil {
		t.Fatal(err)
	}

	// GitHub: the demo's people and repository; webhooks go to whichever
	// serve process runs, as GitHub's go to a load balancer.
	gh := githubsim.New(githubsim.Options{})
	gh.Start()
	defer gh.Close()
	if err := demo.SetupGitHub(ctx, gh, "../../examples/gitops-repo", map[string]string{"policies/freezes.yaml": noFreezes}); err != nil {
		t.Fatal(err)
	}
	token, err := gh.Token(gh.BotLogin())
	if err != nil {
		t.Fatal(err)
	}
	key, err := localsecrets.NewRandomKey()
	if err != nil {
		t.Fatal(err)
	}
	const hookSecret = "crash-test-webhook-secret"
	secrets := map[string]string{
		"CRASH_GITHUB_TOKEN":   token,
		"CRASH_WEBHOOK_SECRET": hookSecret,
		"CRASH_PAYLOAD_KEY":    "base64key://" + base64.URLEncoding.EncodeToString(key[:]),
	}
	var env []string
	for k, v := range secrets {
		t.Setenv(k, v) // for config.Load below; the children get env
		env = append(env, k+"="+v)
	}
	cfgFile := filepath.Join(dir, "prdeploy.yaml")
	if err := os.WriteFile(cfgFile, fmt.Appendf(nil, `listen: "127.0.0.1:0"
dataDir: %s
temporal: {listen: "127.0.0.1:0", uiListen: "off"}
metrics: {listen: "127.0.0.1:0"}
github:
  apiURL: %s
  token: env:CRASH_GITHUB_TOKEN
  webhookSecrets: env:CRASH_WEBHOOK_SECRET
  repo: acme/deploys
  org: acme
clusters: {kubeconfig: %s}
payloads:
  keys: {k1: env:CRASH_PAYLOAD_KEY}
`, filepath.Join(dir, "data"), gh.APIURL(), kubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := config.Load(cfgFile); err != nil {
		t.Fatal(err)
	}

	first := startServeProcess(t, "first", cfgFile, env)
	hook := &forwardingHook{}
	hook.base.Store(&first.base)
	gh.AddHook(githubsim.Hook{URL: first.base + webhook.Path, Handler: hook, Secret: hookSecret, Repo: repo})

	// cy opens the PR; its plan check passes.
	if _, err := gh.Push(ctx, githubsim.PushSpec{Repo: repo, Branch: deployment, Files: map[string]string{"deploys/" + deployment + ".yaml": crashPlan}, Message: "web 7.1.0", Author: "cy"}); err != nil {
		t.Fatal(err)
	}
	pr, err := gh.OpenPullRequest(ctx, githubsim.PullRequestSpec{Repo: repo, Head: deployment, Base: "main", Title: "web 7.1.0 to globex, initech, umbrella", Author: "cy"})
	if err != nil {
		t.Fatal(err)
	}
	planRun := waitCheckRun(t, gh, repo, pr.HeadSHA, prepare.PlanCheckName, time.Minute)
	if planRun.Conclusion != "success" {
		t.Fatalf("plan check: %s %s\n%s", planRun.Conclusion, planRun.Title, planRun.Summary)
	}

	// dan merges (the merger may not approve): the time to the first server-side apply.
	mergeAt := time.Now()
	mergeSHA, err := gh.MergePullRequest(ctx, repo, pr.Number, githubsim.MergeOptions{Actor: "dan"})
	if err != nil {
		t.Fatal(err)
	}
	mergeCall := time.Since(mergeAt)
	var firstApply kubeRequest
	eventually(t, time.Minute, "a server-side apply after the merge", func() (bool, string) {
		applies := proxy.applies()
		if len(applies) == 0 {
			return false, "no apply"
		}
		firstApply = applies[0]
		return true, ""
	})
	latency := firstApply.At.Sub(mergeAt)
	t.Logf("merge → first apply: %v (target ≤ 2 s; %s; the merge call, with its synchronous webhook delivery, took %v)",
		latency.Round(time.Millisecond), firstApply.Path, mergeCall.Round(time.Millisecond))
	if latency > 5*time.Second {
		t.Errorf("merge → first apply took %v; want at most 5 s (target 2 s)", latency.Round(time.Millisecond))
	}

	// The canary finishes and the gate waits; two SREs approve.
	eventually(t, 2*time.Minute, "globex succeeded and gate after-canary waiting", func() (bool, string) {
		v, err := first.view(deployment)
		if err != nil {
			return false, err.Error()
		}
		return tenantPhase(v, "globex") == workflows.TenantSucceeded && gateState(v, "after-canary") == "waiting", describeView(v)
	})
	// The reporter posts the gate's milestone; approve after it, as people
	// would (a gate opened between two of the reporter's polls is never
	// commented on).
	name := fmt.Sprintf("`%s` in `prod-eu`", deployment)
	milestones := map[string]string{
		"started":           name + " started",
		"gate:after-canary": "waiting at gate `after-canary`",
		"done":              name + " completed",
	}
	eventually(t, time.Minute, "the gate's comment", func() (bool, string) {
		return countComments(t, gh, repo, pr.Number, milestones["gate:after-canary"]) > 0, ""
	})
	for _, who := range []string{"ana", "bo"} {
		if _, err := gh.AddComment(ctx, repo, pr.Number, who, "/approve"); err != nil {
			t.Fatal(err)
		}
	}

	// initech's Deployment is applied and its rollout is being waited for
	// (a read of it after its apply is WaitRollout's: the Apply activity
	// has completed): kill -9. WaitRollout heartbeats every 2 s with a 10 s
	// timeout, so the new process takes over within seconds. (A kill
	// inside Apply, which does not heartbeat, is retried only after its
	// 5-minute StartToCloseTimeout: too long for this test.)
	initechDeploy := "/apis/apps/v1/namespaces/" + namespace("initech") + "/deployments/web"
	eventually(t, 2*time.Minute, "initech's Deployment applied and its rollout watched", func() (bool, string) {
		var applied bool
		for _, r := range proxy.requests() {
			switch {
			case r.Path == initechDeploy && r.isApply():
				applied = true
			case applied && r.Path == initechDeploy && r.Method == http.MethodGet:
				return true, ""
			}
		}
		return false, fmt.Sprintf("applied: %v", applied)
	})
	before, err := first.view(deployment)
	if err != nil {
		t.Fatal(err)
	}
	inFlight := proxy.inFlight()
	killAt := time.Now()
	first.kill()
	t.Logf("SIGKILL %.1fs after the merge; deployment %s; in flight at the apiserver: %s",
		killAt.Sub(mergeAt).Seconds(), describeView(before), describeRequests(inFlight))

	// A new process on the same dataDir and configuration.
	second := startServeProcess(t, "second", cfgFile, env)
	hook.base.Store(&second.base)
	eventually(t, 5*time.Minute, "the deployment succeeded", func() (bool, string) {
		v, err := second.view(deployment)
		if err != nil {
			return false, err.Error()
		}
		return v.Phase == workflows.PhaseSucceeded, describeView(v)
	})
	t.Logf("deployment succeeded %v after the restart; last apply %v after the restart",
		time.Since(killAt).Round(100*time.Millisecond), lastAfter(proxy.applies(), killAt))
	run := waitCheckRun(t, gh, repo, mergeSHA, workflows.DeployCheckName, 5*time.Minute)
	t.Logf("check run %s completed %v after the restart (%v after the merge): %s — %s", workflows.DeployCheckName,
		time.Since(killAt).Round(100*time.Millisecond), time.Since(mergeAt).Round(100*time.Millisecond), run.Conclusion, run.Title)
	if run.Conclusion != "success" {
		t.Fatalf("deploy check: %s %s\n%s", run.Conclusion, run.Title, run.Summary)
	}
	// The last milestone follows the check run it was published with.
	eventually(t, time.Minute, "the completed comment", func() (bool, string) {
		return countComments(t, gh, repo, pr.Number, milestones["done"]) > 0, ""
	})

	// (4) The check run links to the status page, which shows the end.
	port := second.base[strings.LastIndex(second.base, ":")+1:]
	if want := "http://localhost:" + port + statuspage.Path + "/prod-eu/" + deployment; run.DetailsURL != want {
		t.Errorf("details_url = %q; want the status page %s", run.DetailsURL, want)
	}
	if v, err := second.view(deployment); err != nil || v.Phase != workflows.PhaseSucceeded || v.Done != len(tenants) {
		t.Errorf("status page after the restart: %s (err %v)", describeView(v), err)
	}
	runs, _ := gh.CheckRuns(repo, mergeSHA)
	if n := len(slices.DeleteFunc(runs, func(r githubsim.CheckRun) bool { return r.Name != workflows.DeployCheckName })); n != 1 {
		t.Errorf("%d check runs %s on the merge commit; want 1", n, workflows.DeployCheckName)
	}
	second.stop(t)

	// (1) Every tenant runs the new image, rolled out once.
	for _, tn := range tenants {
		d, err := kc.AppsV1().Deployments(namespace(tn)).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Errorf("%s: %v", tn, err)
			continue
		}
		if got := d.Spec.Template.Spec.Containers[0].Image; got != image || d.Generation != 1 {
			t.Errorf("%s: Deployment web runs %s at generation %d; want %s at generation 1", tn, got, d.Generation, image)
		}
	}
	// (2) Server-side applies per object: once for what finished before
	// the kill, at most twice for what was in flight. (A retried Apply
	// finds an object already applied unchanged by a dry run, which is
	// not counted.)
	byObject := map[string][]kubeRequest{}
	for _, r := range proxy.applies() {
		byObject[r.Path] = append(byObject[r.Path], r)
	}
	for _, tn := range tenants {
		ns := namespace(tn)
		for _, obj := range []string{"/api/v1/namespaces/" + ns + "/configmaps/web-config", "/api/v1/namespaces/" + ns + "/services/web", "/apis/apps/v1/namespaces/" + ns + "/deployments/web"} {
			n := len(byObject[obj])
			switch {
			case n == 0:
				t.Errorf("%s: never applied", obj)
			case tn == "globex" && n != 1:
				t.Errorf("%s: applied %d times; globex finished before the kill, want once", obj, n)
			case n > 2:
				t.Errorf("%s: applied %d times; want at most twice", obj, n)
			case n == 2:
				t.Logf("%s: applied twice (in flight at the kill): %s", obj, describeRequests(byObject[obj]))
			}
			delete(byObject, obj)
		}
	}
	for obj, rs := range byObject {
		t.Errorf("unexpected apply of %s (%d times)", obj, len(rs))
	}
	// (3) Each milestone comment once.
	for id, text := range milestones {
		if n := countComments(t, gh, repo, pr.Number, text); n != 1 {
			t.Errorf("milestone %s (%q) commented %d times; want once", id, text, n)
		}
	}
	// (5) No secret in the logs.
	for _, p := range []*serveProcess{first, second} {
		logs := p.logs.String()
		for name, secret := range map[string]string{"the GitHub token": token, "the webhook secret": hookSecret, "the payload key": base64.URLEncoding.EncodeToString(key[:])} {
			if strings.Contains(logs, secret) {
				t.Errorf("the %s serve process logged %s", p.name, name)
			}
		}
	}
}

// kubeProxy stands between serve and the kube-apiserver: plain HTTP
// without authentication in front, the control plane's credentials
// behind. It records every request, so that tests count server-side
// applies per object.
type kubeProxy struct {
	URL  string
	mu   sync.Mutex
	reqs []*kubeRequest
}

// kubeRequest is one request through the proxy.
type kubeRequest struct {
	Method, Path, Query, ContentType string
	At                               time.Time
	// Done is when the response ended; zero while in flight.
	Done   time.Time
	Status int
}

// isApply: a server-side apply that is not a dry run.
func (r kubeRequest) isApply() bool {
	q, _ := url.ParseQuery(r.Query)
	return r.Method == http.MethodPatch && strings.HasPrefix(r.ContentType, "application/apply-patch") && !q.Has("dryRun")
}

type kubeRequestKey struct{}

func startKubeProxy(t *testing.T, cfg *rest.Config) *kubeProxy {
	t.Helper()
	target, err := url.Parse(cfg.Host)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := rest.TransportFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := &kubeProxy{}
	rp := &httputil.ReverseProxy{
		Rewrite:       func(pr *httputil.ProxyRequest) { pr.SetURL(target) },
		Transport:     rt,
		FlushInterval: -1, // watches stream
		ModifyResponse: func(resp *http.Response) error {
			if r, ok := resp.Request.Context().Value(kubeRequestKey{}).(*kubeRequest); ok {
				p.mu.Lock()
				r.Status = resp.StatusCode
				p.mu.Unlock()
			}
			return nil
		},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &kubeRequest{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, ContentType: r.Header.Get("Content-Type"), At: time.Now()}
		p.mu.Lock()
		p.reqs = append(p.reqs, rec)
		p.mu.Unlock()
		defer func() { // also when the proxy aborts a stream the client left (a panic)
			p.mu.Lock()
			rec.Done = time.Now()
			p.mu.Unlock()
		}()
		rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), kubeRequestKey{}, rec)))
	}))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// requests are the requests so far, in the order they arrived.
func (p *kubeProxy) requests() []kubeRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]kubeRequest, len(p.reqs))
	for i, r := range p.reqs {
		out[i] = *r
	}
	return out
}

func (p *kubeProxy) applies() []kubeRequest {
	return slices.DeleteFunc(p.requests(), func(r kubeRequest) bool { return !r.isApply() })
}

func (p *kubeProxy) inFlight() []kubeRequest {
	return slices.DeleteFunc(p.requests(), func(r kubeRequest) bool { return !r.Done.IsZero() })
}

func describeRequests(rs []kubeRequest) string {
	if len(rs) == 0 {
		return "nothing"
	}
	var parts []string
	for _, r := range rs {
		s := r.Method + " " + r.Path
		if r.Query != "" {
			s += "?" + r.Query
		}
		if r.Status != 0 {
			s += fmt.Sprintf(" → %d", r.Status)
		}
		parts = append(parts, s+" at "+r.At.Format("15:04:05.000"))
	}
	return strings.Join(parts, "; ")
}

// lastAfter is how long after t the last of rs arrived ("none" when none
// did).
func lastAfter(rs []kubeRequest, t time.Time) string {
	if len(rs) == 0 || rs[len(rs)-1].At.Before(t) {
		return "none"
	}
	return rs[len(rs)-1].At.Sub(t).Round(time.Millisecond).String()
}

// forwardingHook delivers webhooks to the serve process that runs now.
type forwardingHook struct{ base atomic.Pointer[string] }

func (h *forwardingHook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target, err := url.Parse(*h.base.Load())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	httputil.NewSingleHostReverseProxy(target).ServeHTTP(w, r)
}

// serveProcess is `prdeploy serve` in a process of its own: this test
// binary again, which TestMain turns into serve (main_test.go).
type serveProcess struct {
	name   string
	cmd    *exec.Cmd
	base   string // http://host:port
	logs   *syncBuffer
	exited chan struct{}
	err    error
}

func startServeProcess(t *testing.T, name, cfgFile string, env []string) *serveProcess {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(append(os.Environ(), serveChildEnv+"="+cfgFile), env...)
	ready := &readyWriter{addr: make(chan string, 1)}
	p := &serveProcess{name: name, cmd: cmd, logs: &syncBuffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = ready, p.logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the test
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			p.saveLogs(t)
		}
	})
	select {
	case addr := <-ready.addr:
		p.base = "http://" + addr
	case <-p.exited:
		t.Fatalf("the %s serve process exited before it was ready: %v\n%s", name, p.err, lastLines(p.logs.String(), 30))
	case <-time.After(2 * time.Minute):
		t.Fatalf("the %s serve process was not ready in 2 minutes", name)
	}
	t.Logf("%s serve process (pid %d) ready at %s in %v", name, cmd.Process.Pid, p.base, time.Since(start).Round(time.Millisecond))
	return p
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *serveProcess) kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// stop sends SIGTERM and waits for a clean exit.
func (p *serveProcess) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		if p.err != nil {
			t.Errorf("the %s serve process stopped with %v", p.name, p.err)
		}
	case <-time.After(time.Minute):
		t.Errorf("the %s serve process did not stop within a minute of SIGTERM", p.name)
	}
}

// view reads the deployment's status page as JSON.
func (p *serveProcess) view(deployment string) (statuspage.View, error) {
	var v statuspage.View
	resp, err := http.Get(p.base + statuspage.Path + "/prod-eu/" + deployment + "?format=json")
	if err != nil {
		return v, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return v, fmt.Errorf("status page: %s", resp.Status)
	}
	return v, json.NewDecoder(resp.Body).Decode(&v)
}

// saveLogs keeps a failed test's serve logs beyond its temporary folder.
func (p *serveProcess) saveLogs(t *testing.T) {
	f, err := os.CreateTemp("", "prdeploy-crash-"+p.name+"-*.log")
	if err != nil {
		return
	}
	defer f.Close()
	_, _ = f.WriteString(p.logs.String())
	t.Logf("the %s serve process's logs: %s", p.name, f.Name())
}

// readyWriter is a serve child's stdout: it passes on the address of
// the ready line.
type readyWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	addr chan string
	sent bool
}

func (w *readyWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(b)
	for !w.sent {
		line, err := w.buf.ReadString('\n')
		if err != nil {
			w.buf.WriteString(line) // incomplete: wait for the rest
			break
		}
		if addr, ok := strings.CutPrefix(strings.TrimSpace(line), serveReadyPrefix); ok {
			if _, _, err := net.SplitHostPort(addr); err == nil {
				w.addr <- addr
				w.sent = true
			}
		}
	}
	return len(b), nil
}

// eventually polls cond until it holds; after timeout it fails t with
// what and cond's last detail.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, detail := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v (last: %s)", what, timeout, detail)
		}
		time.Sleep(50 * time.Millisecond) // polling observable state
	}
}

func waitCheckRun(t *testing.T, gh *githubsim.Server, repo, sha, name string, timeout time.Duration) githubsim.CheckRun {
	t.Helper()
	var run githubsim.CheckRun
	eventually(t, timeout, "check run "+name+" completed", func() (bool, string) {
		runs, err := gh.CheckRuns(repo, sha)
		if err != nil {
			return false, err.Error()
		}
		var seen []string
		for _, r := range runs {
			if r.Name == name && r.Status == "completed" {
				run = r
				return true, ""
			}
			seen = append(seen, r.Name+" "+r.Status+": "+r.Title)
		}
		return false, strings.Join(seen, "; ")
	})
	return run
}

func countComments(t *testing.T, gh *githubsim.Server, repo string, pr int, text string) int {
	t.Helper()
	comments, err := gh.Comments(repo, pr)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range comments {
		if strings.Contains(c.Body, text) {
			n++
		}
	}
	return n
}

func tenantPhase(v statuspage.View, tenant string) string {
	for _, w := range v.Waves {
		for _, r := range w.Rows {
			if r.Tenant == tenant {
				return r.Phase
			}
		}
	}
	return ""
}

func gateState(v statuspage.View, id string) string {
	for _, g := range v.Gates {
		if g.ID == id {
			return g.State
		}
	}
	return ""
}

// describeView is a deployment's phase with its tenants' and services'.
func describeView(v statuspage.View) string {
	var rows []string
	for _, w := range v.Waves {
		for _, r := range w.Rows {
			var cells []string
			for _, c := range r.Cells {
				cells = append(cells, c.Service+" "+c.Phase)
			}
			rows = append(rows, fmt.Sprintf("%s %s (%s)", r.Tenant, r.Phase, strings.Join(cells, ", ")))
		}
	}
	return fmt.Sprintf("%s, %d/%d done: %s", v.Phase, v.Done, v.Total, strings.Join(rows, "; "))
}

// lastLines is the end of a log, for failure messages.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// syncBuffer collects a process's output, written by exec's copying
// goroutine and read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
