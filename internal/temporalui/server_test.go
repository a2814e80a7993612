package temporalui_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/prdeploy/prdeploy/internal/devserver"
	"github.com/prdeploy/prdeploy/internal/temporalui"
)

// appShell is in the UI's index page: the element the application mounts on.
const appShell = `<div id="svelte">`

// startScript finds the application's entry script in the index page.
var startScript = regexp.MustCompile(`"(/[^"]*_app/immutable/entry/start\.[^"]+\.js)"`)

// TestUIServesEmbeddedServer runs the UI against the embedded Temporal
// server and follows what a browser does with a link to a deployment: the
// page, its script, the settings, the workflow list, the cold link itself
// and the API calls its page makes.
func TestUIServesEmbeddedServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()

	began := time.Now()
	temporal, err := devserver.Start(ctx, devserver.Options{})
	if err != nil {
		t.Fatalf("starting the embedded Temporal server: %v", err)
	}
	t.Cleanup(temporal.Stop)
	serverTook := time.Since(began)

	began = time.Now()
	ui, err := temporalui.Start(ctx, temporalui.Options{FrontendAddress: temporal.FrontendAddress(), Namespace: temporal.Namespace()})
	if err != nil {
		t.Fatalf("starting the UI: %v", err)
	}
	t.Cleanup(ui.Stop)
	uiTook := time.Since(began)
	t.Logf("Temporal server ready in %v; the UI on %s (%s) ready %v later", serverTook.Round(time.Millisecond), ui.Addr(), ui.URL(), uiTook.Round(time.Millisecond))
	if want := "http://127.0.0.1:"; !strings.HasPrefix(ui.URL(), want) || strings.HasSuffix(ui.URL(), ":0") {
		t.Errorf("URL() = %q, want %s<chosen port>", ui.URL(), want)
	}

	// A deployment nobody works on: listed as running, with no worker.
	c, err := temporal.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const id = "deploy:prod-eu/web-7"
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: "temporalui-test"}, "deploy", "web")
	if err != nil {
		t.Fatalf("starting workflow %s: %v", id, err)
	}

	t.Run("index page", func(t *testing.T) {
		page := get(t, ctx, ui.URL()+"/", "text/html")
		if !strings.Contains(page, appShell) {
			t.Fatalf("GET / is not the UI's index page:\n%.600s", page)
		}
		script := startScript.FindStringSubmatch(page)
		if script == nil {
			t.Fatalf("no entry script in the index page:\n%.1500s", page)
		}
		if js := get(t, ctx, ui.URL()+script[1], "javascript"); len(js) == 0 {
			t.Errorf("GET %s: empty script", script[1])
		}
	})

	t.Run("settings name the namespace", func(t *testing.T) {
		var settings struct{ DefaultNamespace string }
		decode(t, get(t, ctx, ui.URL()+"/api/v1/settings", "application/json"), &settings)
		if settings.DefaultNamespace != temporal.Namespace() {
			t.Errorf("settings DefaultNamespace = %q, want %q", settings.DefaultNamespace, temporal.Namespace())
		}
	})

	list := ui.URL() + "/api/v1/namespaces/" + temporal.Namespace() + "/workflows"
	t.Run("workflow list", func(t *testing.T) {
		// Visibility is written after the start returns: poll briefly.
		var listed []execution
		deadline := time.Now().Add(10 * time.Second)
		for {
			listed = executions(t, get(t, ctx, list, "application/json"))
			if len(listed) > 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if len(listed) != 1 {
			t.Fatalf("GET %s listed %d workflows, want 1: %+v", list, len(listed), listed)
		}
		got := listed[0]
		if got.Execution.WorkflowID != id || got.Execution.RunID != run.GetRunID() || got.Type.Name != "deploy" || !strings.Contains(strings.ToUpper(got.Status), "RUNNING") {
			t.Errorf("listed %+v, want workflow %s run %s of type deploy, running", got, id, run.GetRunID())
		}
	})

	link := temporalui.WorkflowURL(ui.URL(), temporal.Namespace(), id)
	t.Run("cold link to the workflow", func(t *testing.T) {
		if page := get(t, ctx, link, "text/html"); !strings.Contains(page, appShell) {
			t.Fatalf("GET %s is not the UI's index page:\n%.600s", link, page)
		}
		// The page then looks the latest run up by ID ...
		query := list + "?" + url.Values{"query": {`WorkflowId="` + id + `"`}, "pageSize": {"1"}}.Encode()
		found := executions(t, get(t, ctx, query, "application/json"))
		if len(found) != 1 || found[0].Execution.RunID != run.GetRunID() {
			t.Fatalf("GET %s = %+v, want run %s", query, found, run.GetRunID())
		}
		// ... and describes it, the ID escaped as in the link.
		describe := ui.URL() + "/api/v1/" + strings.TrimPrefix(link, ui.URL()+"/") + "?execution.runId=" + run.GetRunID()
		var described struct {
			WorkflowExecutionInfo execution `json:"workflowExecutionInfo"`
		}
		decode(t, get(t, ctx, describe, "application/json"), &described)
		if got := described.WorkflowExecutionInfo.Execution; got.WorkflowID != id || got.RunID != run.GetRunID() {
			t.Errorf("GET %s described %+v, want workflow %s run %s", describe, got, id, run.GetRunID())
		}
	})

	began = time.Now()
	ui.Stop()
	t.Logf("UI stopped in %v", time.Since(began).Round(time.Millisecond))
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	if _, err := fresh.Get(ui.URL() + "/"); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("GET / after Stop: %v, want connection refused", err)
	}
	ui.Stop() // idempotent
}

// TestPublicURLWithPath serves the UI under the public URL's path, as a
// reverse proxy that forwards /temporal/... unchanged expects.
func TestPublicURLWithPath(t *testing.T) {
	listen := net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t)))
	ui, err := temporalui.Start(t.Context(), temporalui.Options{
		Listen:          listen,
		FrontendAddress: "127.0.0.1:1", // pages do not need it; only API calls do
		PublicURL:       "https://prdeploy.example.test/temporal/",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ui.Stop()
	if got, want := ui.URL(), "https://prdeploy.example.test/temporal"; got != want {
		t.Errorf("URL() = %q, want %q", got, want)
	}
	if ui.Addr() != listen {
		t.Errorf("Addr() = %q, want %q", ui.Addr(), listen)
	}

	link := temporalui.WorkflowURL(ui.URL(), "default", "deploy:prod-eu/web-7")
	proxied := "http://" + listen + strings.TrimPrefix(link, "https://prdeploy.example.test")
	resp, page := do(t, t.Context(), proxied)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, appShell) {
		t.Fatalf("GET %s: %s\n%.600s", proxied, resp.Status, page)
	}
	script := startScript.FindStringSubmatch(page)
	if script == nil || !strings.HasPrefix(script[1], "/temporal/_app/") {
		t.Fatalf("entry script %q is not under /temporal/_app/", script)
	}
	get(t, t.Context(), "http://"+listen+script[1], "javascript")
	var secure bool
	for _, c := range resp.Cookies() {
		secure = secure || c.Name == "_csrf" && c.Secure
	}
	if !secure {
		t.Errorf("no Secure _csrf cookie for an https public URL: %v", resp.Header.Values("Set-Cookie"))
	}
}

// TestNothingOnStdout: with its logs hidden, the UI server writes nothing
// to standard output while it starts, serves pages, fails API calls to an
// unreachable frontend, serves 404s and stops. (It captures os.Stdout, so it
// must not run in parallel.)
func TestNothingOnStdout(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	restored := false
	restore := func() {
		if !restored {
			os.Stdout, restored = stdout, true
			w.Close()
		}
	}
	defer restore()
	written := make(chan []byte)
	go func() { b, _ := io.ReadAll(r); written <- b }()

	ui, err := temporalui.Start(t.Context(), temporalui.Options{FrontendAddress: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/", "/namespaces/default/workflows", "/api/v1/namespaces/default/workflows", "/_app/missing.js", "/favicon.ico"} {
		resp, _ := do(t, t.Context(), ui.URL()+path)
		t.Logf("GET %s: %s", path, resp.Status)
	}
	ui.Stop()
	restore()
	if b := <-written; len(b) > 0 {
		t.Errorf("the UI server wrote to stdout:\n%s", b)
	}
}

// TestStartRejectsBusyPort returns an error for a port in use (the UI
// server itself would exit the process).
func TestStartRejectsBusyPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ui, err := temporalui.Start(t.Context(), temporalui.Options{Listen: l.Addr().String(), FrontendAddress: "127.0.0.1:1"})
	if err == nil {
		ui.Stop()
		t.Fatalf("Start on busy %s succeeded", l.Addr())
	}
	if !strings.Contains(err.Error(), "is not free") {
		t.Errorf("Start on busy %s: %v, want an error saying it is not free", l.Addr(), err)
	}
}

func TestStartRejectsBadOptions(t *testing.T) {
	const frontend = "127.0.0.1:7233"
	tests := []struct {
		name string
		opts temporalui.Options
		want string
	}{
		{"no frontend", temporalui.Options{}, "frontend address is required"},
		{"listen without port", temporalui.Options{FrontendAddress: frontend, Listen: "127.0.0.1"}, `"127.0.0.1" is not host:port`},
		{"listen port out of range", temporalui.Options{FrontendAddress: frontend, Listen: "127.0.0.1:70000"}, "is not host:port"},
		{"relative public URL", temporalui.Options{FrontendAddress: frontend, PublicURL: "/temporal"}, "not an absolute http(s) URL"},
		{"public URL with a query", temporalui.Options{FrontendAddress: frontend, PublicURL: "https://x.example/?a=b"}, "not an absolute http(s) URL"},
		{"public URL not http", temporalui.Options{FrontendAddress: frontend, PublicURL: "ftp://x.example/"}, "not an absolute http(s) URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ui, err := temporalui.Start(t.Context(), tt.opts)
			if err == nil {
				ui.Stop()
				t.Fatalf("Start(%+v) succeeded, want an error containing %q", tt.opts, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Start(%+v) = %v, want an error containing %q", tt.opts, err, tt.want)
			}
		})
	}
}

// execution is the part of the API's workflow JSON the tests read.
type execution struct {
	Execution struct {
		WorkflowID string `json:"workflowId"`
		RunID      string `json:"runId"`
	} `json:"execution"`
	Type struct {
		Name string `json:"name"`
	} `json:"type"`
	Status string `json:"status"`
}

func executions(t *testing.T, body string) []execution {
	t.Helper()
	var list struct {
		Executions []execution `json:"executions"`
	}
	decode(t, body, &list)
	return list.Executions
}

func decode(t *testing.T, body string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("decoding %T from %.600s: %v", v, body, err)
	}
}

// get fetches a URL that must answer 200 with the given content type.
func get(t *testing.T, ctx context.Context, u, contentType string) string {
	t.Helper()
	resp, body := do(t, ctx, u)
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Type"), contentType) {
		t.Fatalf("GET %s: %s, %s, want 200 and %s:\n%.600s", u, resp.Status, resp.Header.Get("Content-Type"), contentType, body)
	}
	return body
}

func do(t *testing.T, ctx context.Context, u string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading the body: %v", u, err)
	}
	return resp, string(body)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
