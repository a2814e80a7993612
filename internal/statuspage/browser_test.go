package statuspage_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/prdeploy/prdeploy/internal/sim/simtest"
	"github.com/prdeploy/prdeploy/internal/statuspage"
	"github.com/prdeploy/prdeploy/internal/temporalx"
	"github.com/prdeploy/prdeploy/workflows"
)

const browserPlan = `apiVersion: prdeploy.dev/v1
kind: DeployPlan
metadata: {name: web-7}
spec:
  clusters: [prod-eu]
  services: [{name: web, tag: "7.0.0"}, {name: query, tag: "3.1.0"}]
  tenants: {names: [globex, initech, umbrella]}
  rollout:
    canary: {tenants: [globex]}
    approval: after-canary
    maxParallel: 2
  checks: {noCriticalAlerts: {enabled: false}, podsAvailable: {enabled: false}}
`

// TestStatusPageInChromium runs a deployment on the embedded Temporal
// server (the real workflows, Prepare from a real git repository, a
// simulated cluster), serves the status page from Temporal, and loads it
// in headless Chromium twice: at the canary gate, and after two SREs
// approved and a tenant's rollout failed. It asserts the grid the browser
// built, and keeps screenshots in $PRDEPLOY_ARTIFACTS (default
// _artifacts/ at the repository's root).
func TestStatusPageInChromium(t *testing.T) {
	chromium := needChromium(t)
	f := simtest.Start(t, "../../examples/gitops-repo")
	f.Cluster.FailRollouts("umbrella", "web", "Back-off pulling image registry.example.com/acme/web:7.0.0 (ImagePullBackOff)")
	f.Deploy("web-7", browserPlan, 7)
	id := workflows.DeployWorkflowID("prod-eu", "web-7")
	mux := http.NewServeMux()
	page := statuspage.New(statuspage.Options{Source: temporalx.Deployments{Client: f.Client},
		Links: statuspage.Links{History: func(id string) string { return "http://temporal-ui.invalid/" + id }}})
	mux.Handle(statuspage.Path, page)
	mux.Handle(statuspage.Path+"/", page)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	url := statuspage.URL(srv.URL, workflows.DeploymentRef{Cluster: "prod-eu", Deployment: "web-7"})

	f.WaitFor("web-7", "the canary gate to wait", func(st workflows.Status) bool { return st.Phase == workflows.PhaseWaitingApproval })
	dom := browse(t, chromium, url, "statuspage-at-gate.png")
	want := grid{
		"globex": {"succeeded", map[string]string{"web": "healthy", "query": "healthy"}},
	}
	want.check(t, dom)
	if got := gates(dom); got["after-canary"] != "waiting" {
		t.Errorf("gates at the gate: %v", got)
	}
	if g := find(dom, func(n *html.Node) bool { return attr(n, "data-gate") == "after-canary" }); g == nil || !strings.Contains(text(g), "0 of 2 from @acme/sre") {
		t.Errorf("the waiting gate does not say what it needs")
	}
	if !strings.Contains(text(dom), "2 of 2 tenants not started yet") || !strings.Contains(text(dom), "waiting-for-approval") {
		t.Errorf("the page at the gate does not show the waiting wave:\n%s", text(dom))
	}

	f.Approve("web-7", "ana", "1")
	f.Approve("web-7", "bo", "2")
	f.WaitFor("web-7", "umbrella to pause on its failure and initech to finish", func(st workflows.Status) bool {
		return st.Counts[workflows.TenantPaused] == 1 && st.Counts[workflows.TenantSucceeded] == 2
	})
	dom = browse(t, chromium, url, "statuspage-paused.png")
	want = grid{
		"globex":   {"succeeded", map[string]string{"web": "healthy", "query": "healthy"}},
		"initech":  {"succeeded", map[string]string{"web": "healthy", "query": "healthy"}},
		"umbrella": {"paused", map[string]string{"web": "failed"}},
	}
	want.check(t, dom)
	if got := gates(dom); got["after-canary"] != "open" {
		t.Errorf("gates after approval: %v", got)
	}
	for _, s := range []string{"@ana (comment), @bo (comment)", "2 of 3", "acme/deploys#7",
		"umbrella paused: rollout of web in umbrella: rollout of umbrella/web failed: Back-off pulling image registry.example.com/acme/web:7.0.0 (ImagePullBackOff)"} {
		if !strings.Contains(text(dom), s) {
			t.Errorf("the paused page lacks %q:\n%s", s, text(dom))
		}
	}
	if a := find(dom, func(n *html.Node) bool { return attr(n, "id") == "history" }); a == nil || attr(a, "href") != "http://temporal-ui.invalid/"+id {
		t.Error("no link to the workflow's history")
	}

	list := browse(t, chromium, srv.URL+statuspage.Path, "statuspage-list.png")
	row := find(list, func(n *html.Node) bool {
		return attr(n, "data-deployment") == "web-7" && attr(n, "data-cluster") == "prod-eu"
	})
	if row == nil || !strings.Contains(text(row), "paused") || !strings.Contains(text(row), "2/3") {
		t.Errorf("the list does not show web-7 paused at 2/3")
	}
}

// needChromium finds Debian's chromium; without it the test is skipped,
// or fails under PRDEPLOY_REAL=required (make test, CI).
func needChromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	why := "no chromium: install Debian's chromium package (make deps)"
	if os.Getenv("PRDEPLOY_REAL") == "required" {
		t.Fatal(why)
	}
	t.Skip(why)
	return ""
}

// browse loads url in headless Chromium, saves a screenshot as an
// artifact and returns the DOM the browser built.
func browse(t *testing.T, chromium, url, shot string) *html.Node {
	t.Helper()
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage",
		"--user-data-dir=" + t.TempDir(), "--window-size=1280,900"}
	var out, errb bytes.Buffer
	cmd := exec.Command(chromium, append(args, "--dump-dom", url)...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium --dump-dom %s: %v\n%s", url, err, errb.String())
	}
	dom, err := html.Parse(&out)
	if err != nil {
		t.Fatal(err)
	}
	dir := artifacts(t)
	path := filepath.Join(dir, shot)
	cmd = exec.Command(chromium, append(args, "--screenshot="+path, url)...)
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium --screenshot: %v\n%s", err, b)
	}
	png, err := os.ReadFile(path)
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) || len(png) < 10_000 {
		t.Fatalf("screenshot %s: %d bytes, %v", path, len(png), err)
	}
	t.Logf("screenshot: %s (%d KB)", path, len(png)>>10)
	return dom
}

func artifacts(t *testing.T) string {
	dir := os.Getenv("PRDEPLOY_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "..", "_artifacts")
	}
	dir, err := filepath.Abs(dir)
	if err == nil {
		err = os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// grid is the expected rows: tenant → phase and service phases.
type grid map[string]struct {
	phase    string
	services map[string]string
}

func (g grid) check(t *testing.T, dom *html.Node) {
	t.Helper()
	for tenant, want := range g {
		row := find(dom, func(n *html.Node) bool { return n.Data == "tr" && attr(n, "data-tenant") == tenant })
		if row == nil {
			t.Errorf("no row for tenant %s", tenant)
			continue
		}
		if got := attr(row, "data-phase"); got != want.phase {
			t.Errorf("%s: phase %s, want %s", tenant, got, want.phase)
		}
		for svc, phase := range want.services {
			cell := find(row, func(n *html.Node) bool { return n.Data == "td" && attr(n, "data-service") == svc })
			if cell == nil || attr(cell, "data-phase") != phase || strings.TrimSpace(text(cell)) != phase || !strings.Contains(attr(cell, "class"), phase) {
				t.Errorf("%s/%s: cell %v, want %s", tenant, svc, cell != nil && true, phase)
			}
		}
	}
}

func gates(dom *html.Node) map[string]string {
	out := map[string]string{}
	walk(dom, func(n *html.Node) {
		if id := attr(n, "data-gate"); id != "" {
			out[id] = attr(n, "data-state")
		}
	})
	return out
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func walk(n *html.Node, f func(*html.Node)) {
	f(n)
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, f)
	}
}

func find(n *html.Node, ok func(*html.Node) bool) *html.Node {
	var found *html.Node
	walk(n, func(m *html.Node) {
		if found == nil && m.Type == html.ElementNode && ok(m) {
			found = m
		}
	})
	return found
}

func text(n *html.Node) string {
	var b strings.Builder
	walk(n, func(m *html.Node) {
		if m.Type == html.TextNode {
			b.WriteString(m.Data)
		}
	})
	return strings.Join(strings.Fields(b.String()), " ")
}
