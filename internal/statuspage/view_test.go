package statuspage

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prdeploy/prdeploy/policies"
	"github.com/prdeploy/prdeploy/workflows"
)

var t0 = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

// gateStatus is a deployment of web and api to five tenants: the canary
// done, the gate waiting for a second SRE, two tenants of wave 1 started
// (one waiting for a lock, one failed and paused), one not started.
func gateStatus() workflows.Status {
	return workflows.Status{
		OrchestrationState: workflows.OrchestrationState{
			Request:  workflows.DeployRequest{Repo: "acme/deploys", SHA: "0123456789abcdef0123", Cluster: "prod-eu", DeploymentID: "web-7", PR: 42},
			Prepared: &workflows.PreparedDeployment{Services: []string{"web", "api"}},
			Phase:    workflows.PhasePaused, PauseReason: "umbrella failed: web rollout failed",
			Tenants: []workflows.TenantRecord{
				{Tenant: "umbrella", Wave: 1, Index: 1, Phase: workflows.TenantPaused, Failure: "web: rollout failed\n  ImagePullBackOff",
					Services: []workflows.ServiceStatus{{Service: "web", Phase: workflows.ServiceFailed, Error: "ImagePullBackOff"}}},
				{Tenant: "globex", Wave: 0, Phase: workflows.TenantSucceeded},
				{Tenant: "initech", Wave: 1, Index: 0, Phase: workflows.TenantLocking,
					LockWait: &workflows.LockWait{Lock: "prod-eu/initech/web", Holder: "deploy:prod-eu/db-3", Since: t0.Add(-90 * time.Second)}},
			},
			Gates: []workflows.GateState{{ID: "after-canary", Wave: 1, Open: true, WaitingSince: t0.Add(-time.Hour), OpenedAt: t0.Add(-50 * time.Minute),
				Approvals: []policies.Approval{{Login: "ana", Source: "comment"}, {Login: "bo", Source: "slack"}}}},
			StartedAt: t0.Add(-2 * time.Hour),
		},
		Waves:     []workflows.WaveSummary{{Name: "canary", Canary: true, Tenants: 1}, {Name: "wave-1", Gate: "after-canary", Tenants: 3}},
		Total:     4,
		Untouched: 1,
		Counts:    map[string]int{workflows.TenantSucceeded: 1, workflows.TenantLocking: 1, workflows.TenantPaused: 1},
	}
}

func TestBuildLaysOutWavesTenantsAndServices(t *testing.T) {
	v := Build(gateStatus(), Links{GitHubWeb: "https://github.example.com/", History: func(id string) string { return "http://ui/" + url.PathEscape(id) }}, t0)
	if v.Live != true || v.Phase != workflows.PhasePaused || v.Done != 1 || v.Total != 4 || v.Ratio != 25 {
		t.Errorf("header: live %v phase %s %d/%d %d%%", v.Live, v.Phase, v.Done, v.Total, v.Ratio)
	}
	if v.PRURL != "https://github.example.com/acme/deploys/pull/42" || v.ChecksURL != "https://github.example.com/acme/deploys/commit/0123456789abcdef0123/checks" ||
		v.HistoryURL != "http://ui/deploy:prod-eu%2Fweb-7" {
		t.Errorf("links: %q %q %q", v.PRURL, v.ChecksURL, v.HistoryURL)
	}
	if v.Elapsed != "2h00m" || v.Finished != "" {
		t.Errorf("elapsed %q finished %q", v.Elapsed, v.Finished)
	}
	var got []string
	for _, w := range v.Waves {
		got = append(got, fmt.Sprintf("%s(+%d)", w.Name, w.NotStarted))
		for _, r := range w.Rows {
			cells := []string{}
			for _, c := range r.Cells {
				cells = append(cells, c.Service+"="+c.Phase)
			}
			got = append(got, fmt.Sprintf("  %s %s [%s] %s", r.Tenant, r.Phase, strings.Join(cells, " "), r.Note))
		}
	}
	want := []string{
		"canary(+0)",
		"  globex succeeded [web=healthy api=healthy] ",
		"wave-1(+1)",
		"  initech waiting-for-lock [web=not-started api=not-started] waiting for lock prod-eu/initech/web, held by deploy:prod-eu/db-3 for 1m30s",
		"  umbrella paused [web=failed api=not-started] web: rollout failed ImagePullBackOff",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("grid:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(v.Failures) != 1 || v.Failures[0].Tenant != "umbrella" {
		t.Errorf("failures %+v", v.Failures)
	}
	if g := v.Gates; len(g) != 1 || g[0].State != "open" || g[0].Wave != "wave-1" || strings.Join(g[0].Approvals, ",") != "@ana (comment),@bo (slack)" {
		t.Errorf("gates %+v", g)
	}
}

func TestBuildWaitingGateSaysSinceWhenAndWhatItNeeds(t *testing.T) {
	st := gateStatus()
	st.Phase = workflows.PhaseWaitingApproval
	st.Gates = []workflows.GateState{{ID: "after-canary", Wave: 1, WaitingSince: t0.Add(-3*time.Minute - 12*time.Second),
		Approvals: []policies.Approval{{Login: "ana", Source: "comment"}},
		Status:    &policies.GateStatus{Needs: []policies.RequirementStatus{{Have: 1, Need: 2, Summary: "1 of 2 from @acme/sre"}}}}}
	g := Build(st, Links{}, t0).Gates[0]
	if g.State != "waiting" || g.Waiting != "3m12s" || strings.Join(g.Needs, ";") != "1 of 2 from @acme/sre" {
		t.Errorf("gate %+v", g)
	}
	st.Phase, st.FinishedAt = workflows.PhaseSucceeded, t0.Add(-time.Hour)
	if v := Build(st, Links{}, t0); v.Live || v.Elapsed != "1h00m" || v.PRURL != "https://github.com/acme/deploys/pull/42" || v.HistoryURL != "" {
		t.Errorf("finished: live %v elapsed %q pr %q history %q", v.Live, v.Elapsed, v.PRURL, v.HistoryURL)
	}
}

func TestDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{-time.Second: "0s", 45 * time.Second: "45s", 192 * time.Second: "3m12s", 2*time.Hour + 5*time.Minute + 40*time.Second: "2h05m"} {
		if got := Duration(d); got != want {
			t.Errorf("Duration(%v) = %q, want %q", d, got, want)
		}
	}
}

// source is a stateful fake Source.
type source struct {
	byRef map[workflows.DeploymentRef]workflows.Status
	order []workflows.DeploymentRef
	err   error
}

var _ Source = (*source)(nil)

func (s *source) add(st workflows.Status) {
	ref := workflows.DeploymentRef{Cluster: st.Request.Cluster, Deployment: st.Request.DeploymentID}
	if s.byRef == nil {
		s.byRef = map[workflows.DeploymentRef]workflows.Status{}
	}
	s.byRef[ref] = st
	s.order = append(s.order, ref)
}

func (s *source) Recent(_ context.Context, limit int) ([]Entry, error) {
	var out []Entry
	for _, ref := range s.order {
		st := s.byRef[ref]
		out = append(out, Entry{Ref: ref, Running: !Finished(st.Phase), Status: &st})
	}
	return out[:min(limit, len(out))], s.err
}

func (s *source) Status(_ context.Context, ref workflows.DeploymentRef) (workflows.Status, error) {
	st, ok := s.byRef[ref]
	if !ok {
		return st, fmt.Errorf("querying: %w", ErrNotFound)
	}
	return st, s.err
}

func (s *source) Find(_ context.Context, dep string) ([]workflows.DeploymentRef, error) {
	var out []workflows.DeploymentRef
	for _, ref := range s.order {
		if ref.Deployment == dep {
			out = append(out, ref)
		}
	}
	return out, s.err
}

func TestPagesOverHTTP(t *testing.T) {
	src := &source{}
	src.add(gateStatus())
	done := gateStatus()
	done.Request.Cluster, done.Phase, done.FinishedAt = "prod-us", workflows.PhaseSucceeded, t0
	done.Request.Repo = "acme/<script>"
	src.add(done)
	mux := http.NewServeMux()
	h := New(Options{Source: src, Now: func() time.Time { return t0 }, Refresh: 7 * time.Second})
	mux.Handle(Path, h)
	mux.Handle(Path+"/", h)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string, accept string) (int, http.Header, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, resp.Header, string(b)
	}

	code, hdr, body := get("/deployments", "")
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") {
		t.Fatalf("list: %d %s", code, hdr.Get("Content-Type"))
	}
	for _, want := range []string{`href="/deployments/prod-eu/web-7"`, `href="/deployments/prod-us/web-7"`, `<span class="phase paused">paused</span>`,
		`content="7"`, `acme/&lt;script&gt;#42`} {
		if !strings.Contains(body, want) {
			t.Errorf("list lacks %s", want)
		}
	}
	if strings.Contains(body, "<script>") {
		t.Error("list does not escape the repository name")
	}

	code, _, body = get("/deployments/prod-eu/web-7", "")
	if code != 200 {
		t.Fatalf("page: %d", code)
	}
	for _, want := range []string{`<tr data-tenant="umbrella" data-phase="paused">`, `data-service="web" data-phase="failed" title="ImagePullBackOff"`,
		`data-gate="after-canary" data-state="open"`, `@ana (comment), @bo (slack)`, `1 of 4</strong>`, `href="https://github.com/acme/deploys/pull/42"`,
		`1 of 3 tenants not started yet`, `http-equiv="refresh" content="7"`, `<strong>Paused:</strong> umbrella failed`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	// A finished deployment's page does not refresh.
	if _, _, body = get("/deployments/prod-us/web-7", ""); strings.Contains(body, "http-equiv") {
		t.Error("a finished deployment's page refreshes")
	}
	code, _, body = get("/deployments/prod-eu/web-7", "application/json")
	var v View
	if code != 200 || json.Unmarshal([]byte(body), &v) != nil || v.Deployment != "web-7" || len(v.Waves) != 2 {
		t.Errorf("json: %d %s", code, body)
	}
	if code, _, _ = get("/deployments/prod-eu/nope", ""); code != http.StatusNotFound {
		t.Errorf("unknown deployment: %d", code)
	}
	// One deployment ID in two clusters: a list; in one: a redirect.
	if code, _, body = get("/deployments/web-7", ""); code != 200 || !strings.Contains(body, "ran in 2 clusters") {
		t.Errorf("find: %d", code)
	}
	only := gateStatus()
	only.Request.DeploymentID = "api-3"
	src.add(only)
	if code, hdr, _ = get("/deployments/api-3", ""); code != http.StatusFound || hdr.Get("Location") != "/deployments/prod-eu/api-3" {
		t.Errorf("find one: %d %s", code, hdr.Get("Location"))
	}
	if code, _, _ = get("/deployments/none", ""); code != http.StatusNotFound {
		t.Errorf("find none: %d", code)
	}
	src.err = fmt.Errorf("temporal is down")
	if code, _, body = get("/deployments", ""); code != 200 || !strings.Contains(body, "Could not list deployments: temporal is down") {
		t.Errorf("list while down: %d", code)
	}
	if code, _, _ = get("/deployments/prod-eu/web-7", ""); code != http.StatusBadGateway {
		t.Errorf("page while down: %d", code)
	}
}

// supersededStatus is web-7 finished: globex deployed, initech's web left
// to web-8 (merged after web-7), umbrella's web and api both left to it.
func supersededStatus() workflows.Status {
	by := &workflows.Stamp{Deployment: "web-8", Merge: "89abcdef0123", Generation: 9}
	st := gateStatus()
	st.Phase, st.PauseReason, st.Gates, st.Untouched = workflows.PhaseSucceeded, "", nil, 0
	st.FinishedAt = t0
	st.Tenants = []workflows.TenantRecord{
		{Tenant: "globex", Wave: 0, Phase: workflows.TenantSucceeded},
		{Tenant: "initech", Wave: 1, Index: 0, Phase: workflows.TenantSucceeded,
			Services: []workflows.ServiceStatus{{Service: "web", Phase: workflows.ServiceSuperseded, SupersededBy: by}}},
		{Tenant: "umbrella", Wave: 1, Index: 1, Phase: workflows.TenantSuperseded, Services: []workflows.ServiceStatus{
			{Service: "web", Phase: workflows.ServiceSuperseded, SupersededBy: by}, {Service: "api", Phase: workflows.ServiceSuperseded, SupersededBy: by}}},
	}
	st.Total, st.Superseded = 3, 3
	st.Counts = map[string]int{workflows.TenantSucceeded: 2, workflows.TenantSuperseded: 1}
	return st
}

func TestBuildShowsSupersededSteps(t *testing.T) {
	v := Build(supersededStatus(), Links{}, t0)
	if v.Done != 3 || v.Total != 3 || len(v.Superseded) != 3 {
		t.Fatalf("done %d of %d, superseded %+v", v.Done, v.Total, v.Superseded)
	}
	if s := v.Superseded[0]; s.Tenant != "initech" || s.Service != "web" || s.By != "web-8" || s.Merge != "89abcdef0123" {
		t.Errorf("first superseded step %+v", s)
	}
	row := v.Waves[1].Rows[0]
	if row.Tenant != "initech" || row.Cells[0].Phase != workflows.ServiceSuperseded || row.Cells[0].Title != "superseded by web-8 (merged after this one)" ||
		row.Cells[1].Phase != workflows.ServiceHealthy {
		t.Errorf("initech row %+v", row)
	}
	var b strings.Builder
	if err := WriteText(&b, v); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"tenants: succeeded 2 · superseded 1", "Superseded:\n  initech   web  superseded by web-8 (merged after this one)\n", "umbrella  ↷ superseded  ↷ superseded  ↷ superseded"} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
	// Each step once: in the list, not again in the grid's notes.
	if n := strings.Count(out, "superseded by web-8"); n != 3 {
		t.Errorf("the text says \"superseded by web-8\" %d times, want once per step (3):\n%s", n, out)
	}
}
