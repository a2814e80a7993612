package statuspage_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/prdeploy/prdeploy/internal/githubsim"
	"github.com/prdeploy/prdeploy/internal/statuspage"
	"github.com/prdeploy/prdeploy/workflows"
)

// oneDeployment is a Source with one deployment at its gate.
type oneDeployment struct{ st workflows.Status }

func (s oneDeployment) ref() workflows.DeploymentRef {
	return workflows.DeploymentRef{Cluster: s.st.Request.Cluster, Deployment: s.st.Request.DeploymentID}
}

func (s oneDeployment) Recent(context.Context, int) ([]statuspage.Entry, error) {
	return []statuspage.Entry{{Ref: s.ref(), Running: true, Status: &s.st}}, nil
}

func (s oneDeployment) Status(_ context.Context, ref workflows.DeploymentRef) (workflows.Status, error) {
	if ref != s.ref() {
		return workflows.Status{}, statuspage.ErrNotFound
	}
	return s.st, nil
}

func (s oneDeployment) Find(_ context.Context, dep string) ([]workflows.DeploymentRef, error) {
	if dep != s.st.Request.DeploymentID {
		return nil, nil
	}
	return []workflows.DeploymentRef{s.ref()}, nil
}

// TestLoginInChromium is issue 14 item 4 in a real browser: the status
// page behind the GitHub login of the simulator. An anonymous visitor
// ends on GitHub's sign-in page; a reader of the deploy repository signs
// in (Chromium keeps the Secure session cookie) and sees the grid; a
// non-member is refused; a forged session cookie is refused and sends the
// visitor to the login again.
func TestLoginInChromium(t *testing.T) {
	chromium := needChromium(t)
	gh := githubsim.New(githubsim.Options{Dir: t.TempDir(), RequireAuth: true})
	gh.Start()
	defer gh.Close()
	for _, u := range []string{"ana", "mallory"} {
		if _, err := gh.AddUser(u, githubsim.UserOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := gh.CreateRepo(context.Background(), githubsim.RepoSpec{Repo: "acme/deploys", Private: true, Files: map[string]string{"fleet.yaml": "{}\n"}}); err != nil {
		t.Fatal(err)
	}
	if err := gh.SetPermission("acme/deploys", "ana", "read"); err != nil {
		t.Fatal(err)
	}

	src := oneDeployment{st: workflows.Status{OrchestrationState: workflows.OrchestrationState{
		Request:  workflows.DeployRequest{Repo: "acme/deploys", Cluster: "prod-eu", DeploymentID: "web-7", PR: 7},
		Prepared: &workflows.PreparedDeployment{Services: []string{"web"}},
		Phase:    workflows.PhaseRunning,
		Tenants:  []workflows.TenantRecord{{Tenant: "globex", Phase: workflows.TenantSucceeded, Services: []workflows.ServiceStatus{{Service: "web", Phase: workflows.ServiceHealthy}}}},
	}, Waves: []workflows.WaveSummary{{Name: "canary", Canary: true, Tenants: 1}}, Total: 1}}
	var mu sync.Mutex
	observed := map[string]int{}
	mux := http.NewServeMux()
	srv := httptest.NewUnstartedServer(mux)
	id, secret := gh.OAuthClient()
	login, err := statuspage.NewGitHubLogin(statuspage.GitHubLoginOptions{ClientID: id, ClientSecret: secret, WebURL: gh.URL(), APIURL: gh.APIURL(),
		PublicURL: "http://" + srv.Listener.Addr().String(), Repo: "acme/deploys", SessionKey: statuspage.SessionKey(secret)})
	if err != nil {
		t.Fatal(err)
	}
	page := statuspage.New(statuspage.Options{Source: src, Access: login, Logger: slog.New(slog.DiscardHandler), Now: time.Now,
		Observe: func(event, result string) { mu.Lock(); observed[event+"/"+result]++; mu.Unlock() }})
	mux.Handle(statuspage.Path, page)
	mux.Handle(statuspage.Path+"/", page)
	mux.Handle(statuspage.AuthPath+"/", page)
	// The forger: a session for ana signed with a key that is not the
	// server's, set as the server's cookie (the test's own route).
	mux.HandleFunc("GET /test/forge", func(w http.ResponseWriter, r *http.Request) {
		value := statuspage.SealSession([]byte("a key the server never had, 32 bytes+"), "ana", time.Now().Add(time.Hour))
		http.SetCookie(w, &http.Cookie{Name: statuspage.SessionCookie, Value: value, Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
		http.Redirect(w, r, statuspage.Path+"/prod-eu/web-7", http.StatusFound)
	})
	srv.Start()
	defer srv.Close()
	url := statuspage.URL(srv.URL, workflows.DeploymentRef{Cluster: "prod-eu", Deployment: "web-7"})
	grid := func(dom *html.Node) bool {
		return find(dom, func(n *html.Node) bool { return n.Data == "tr" && attr(n, "data-tenant") == "globex" }) != nil
	}
	githubPage := func(dom *html.Node) string {
		b := find(dom, func(n *html.Node) bool { return n.Data == "body" })
		if b == nil {
			return ""
		}
		return attr(b, "data-githubsim")
	}

	// Anonymous: sent to the login, which is GitHub's sign-in page.
	dom := browse(t, chromium, url, "login-anonymous.png")
	if grid(dom) || githubPage(dom) != "login" {
		t.Errorf("anonymous visitor: not on GitHub's sign-in page:\n%s", text(dom))
	}
	authorized := 0
	for _, c := range gh.Calls() {
		if c.Path == "/login/oauth/authorize" && strings.Contains(c.Query, "client_id="+id) && strings.Contains(c.Query, "state=") {
			authorized++
		}
	}
	if authorized == 0 {
		t.Errorf("the browser never reached GitHub's authorize page")
	}

	// A reader of acme/deploys.
	if err := gh.SignIn("ana"); err != nil {
		t.Fatal(err)
	}
	dom = browse(t, chromium, url, "login-reader.png")
	if !grid(dom) || !strings.Contains(text(dom), "signed in as @ana") {
		t.Errorf("ana, who can read acme/deploys, does not see the deployment:\n%s", text(dom))
	}

	// Someone who cannot read it.
	if err := gh.SignIn("mallory"); err != nil {
		t.Fatal(err)
	}
	dom = browse(t, chromium, url, "login-refused.png")
	if grid(dom) || !strings.Contains(text(dom), "@mallory may not see prdeploy's deployments") {
		t.Errorf("mallory is not refused:\n%s", text(dom))
	}

	// A forged cookie, nobody signed in to GitHub.
	if err := gh.SignIn(""); err != nil {
		t.Fatal(err)
	}
	dom = browse(t, chromium, srv.URL+"/test/forge", "login-forged.png")
	if grid(dom) || githubPage(dom) != "login" {
		t.Errorf("a forged cookie was not sent to the login:\n%s", text(dom))
	}
	mu.Lock()
	defer mu.Unlock()
	if observed["session/invalid"] == 0 || observed["login/granted"] == 0 || observed["login/refused"] == 0 {
		t.Errorf("observed %v", observed)
	}
}
