package statuspage

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prdeploy/prdeploy/planner"
)

type previews map[string]planner.PreviewReport // by repo#pr

func (p previews) Preview(_ context.Context, repo string, pr int) (planner.PreviewReport, bool, error) {
	r, ok := p[repo+"#"+strconv.Itoa(pr)]
	return r, ok, nil
}

func webPreview() planner.PreviewReport {
	bump := planner.ObjectPreview{Service: "web", Kind: "Deployment", Name: "web", Action: planner.PreviewConfigured,
		Fields: []planner.FieldChange{{Path: ".spec.template.spec.containers[name=web].image", Op: planner.FieldChanged, Old: "web:1", New: "web:<b>2</b>"}}}
	ok := func(tenant string, objs ...planner.ObjectPreview) planner.TenantPreview {
		return planner.TenantPreview{Tenant: tenant, Namespace: "tenant-" + tenant, Cluster: "prod-eu", Status: planner.PreviewOK, Objects: objs}
	}
	return planner.PreviewReport{Repo: "acme/deploys", PR: 40, HeadSHA: "0123456789abcdef", At: t0, Plans: []planner.PreviewSection{{
		File: "deploys/web-7.yaml", Deployment: "web-7", Tenants: []planner.TenantPreview{
			ok("globex", bump), ok("initech", bump),
			ok("hooli", planner.ObjectPreview{Service: "web", Kind: "Deployment", Name: "web", Action: planner.PreviewConfigured,
				Conflicts: []planner.FieldConflict{{Field: ".spec.replicas", Manager: "horizontal-pod-autoscaler"}}}),
			ok("stark", planner.ObjectPreview{Service: "web", Kind: "Secret", Name: "web-db", Action: planner.PreviewConfigured,
				Fields: []planner.FieldChange{{Path: ".data.password", Op: planner.FieldChanged, Redacted: true}}}),
			{Tenant: "tyrell", Cluster: "prod-us", Status: planner.PreviewUnreachable, Message: "cluster prod-us unreachable: i/o timeout"},
			ok("umbrella"),
		}}}}
}

// TestPreviewPage: a pull request head's complete preview, every group
// with its tenants and diff (values escaped), the groups that would fail
// first; an older head says where the latest is; JSON on request.
func TestPreviewPage(t *testing.T) {
	h := New(Options{Source: &source{}, Previews: previews{"acme/deploys#40": webPreview()}, Access: Anyone(),
		Links: Links{GitHubWeb: "https://github.com"}, Now: func() time.Time { return t0 }})
	get := func(path, accept string) (int, string) {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Accept", accept)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code, w.Body.String()
	}
	code, body := get(PreviewPath+"/acme/deploys/40/0123456789abcdef", "")
	if code != http.StatusOK {
		t.Fatalf("%d %s", code, body)
	}
	for _, want := range []string{
		`<h2>deploys/web-7.yaml (deployment web-7)</h2>`,
		`data-kind="failing" data-tenants="hooli"`,
		`data-kind="change" data-tenants="globex initech"`,
		`the same change in each; shown for globex`,
		`web:1 → web:&lt;b&gt;2&lt;/b&gt;`,
		`<span class="fail">!   .spec.replicas is owned by &#34;horizontal-pod-autoscaler&#34;`,
		`.data.password changed`,
		`data-kind="unreachable" data-tenants="tyrell"`, `cluster prod-us unreachable: i/o timeout`,
		`data-kind="unchanged" data-tenants="umbrella"`,
		`4 of 6 tenants would change, 1 not previewed`,
		`href="https://github.com/acme/deploys/pull/40"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	if strings.Index(body, `data-kind="failing"`) > strings.Index(body, `data-kind="change"`) {
		t.Error("the group that would fail is not first")
	}
	code, body = get(PreviewPath+"/acme/deploys/40/fedcba9876543210", "")
	if code != http.StatusNotFound || !strings.Contains(body, `href="/deployments/previews/acme/deploys/40/0123456789abcdef"`) {
		t.Errorf("an older head: %d %s", code, body)
	}
	for _, path := range []string{PreviewPath + "/acme/deploys/41/0123456789abcdef", PreviewPath + "/acme/deploys/x/0123456789abcdef"} {
		if code, _ := get(path, ""); code != http.StatusNotFound {
			t.Errorf("%s: %d", path, code)
		}
	}
	code, body = get(PreviewPath+"/acme/deploys/40/0123456789abcdef", "application/json")
	var r planner.PreviewReport
	if code != http.StatusOK || json.Unmarshal([]byte(body), &r) != nil || len(r.Plans[0].Tenants) != 6 {
		t.Errorf("json: %d %s", code, body)
	}
	if got := PreviewURL("https://prdeploy.example.com/", "acme/deploys", 40, "0123"); got != "https://prdeploy.example.com/deployments/previews/acme/deploys/40/0123" {
		t.Errorf("PreviewURL = %s", got)
	}
}

// TestPreviewPageBehindTheLogin: with the GitHub login, a visitor without a
// session is sent to the login, and a signed-in one sees the preview.
func TestPreviewPageBehindTheLogin(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef-test")
	login, err := NewGitHubLogin(GitHubLoginOptions{ClientID: "id", ClientSecret: "secret", WebURL: "https://github.example.com", APIURL: "https://api.github.example.com",
		PublicURL: "https://prdeploy.example.com", Repo: "acme/deploys", SessionKey: key})
	if err != nil {
		t.Fatal(err)
	}
	h := New(Options{Source: &source{}, Previews: previews{"acme/deploys#40": webPreview()}, Access: login, Now: time.Now})
	path := PreviewPath + "/acme/deploys/40/0123456789abcdef"
	req := httptest.NewRequest(http.MethodGet, path, nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusFound || !strings.HasPrefix(w.Header().Get("Location"), AuthPath+"/login") || strings.Contains(w.Body.String(), "hooli") {
		t.Fatalf("anonymous: %d %s", w.Code, w.Header().Get("Location"))
	}
	req = httptest.NewRequest(http.MethodGet, path, nil)
	req.AddCookie(&http.Cookie{Name: SessionCookie, Value: SealSession(key, "ana", time.Now().Add(time.Hour))})
	w = httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `data-tenants="hooli"`) || !strings.Contains(w.Body.String(), "signed in as @ana") {
		t.Fatalf("signed in: %d %s", w.Code, w.Body.String())
	}
}
