package statuspage

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prdeploy/prdeploy/workflows"
)

// Path is where the pages are served.
const Path = "/deployments"

// ErrNotFound is returned by a Source for a deployment that does not exist.
var ErrNotFound = errors.New("no such deployment")

// Entry is a deployment in the list.
type Entry struct {
	Ref workflows.DeploymentRef
	// Running: the Orchestration has not closed.
	Running   bool
	StartedAt time.Time
	ClosedAt  time.Time
	// Status is the Orchestration's answer to the status query; nil when
	// it could not be asked (Err says why).
	Status *workflows.Status
	Err    string
}

// Source reads deployments (internal/temporalx implements it).
type Source interface {
	// Recent lists running deployments, then the most recently closed,
	// at most limit.
	Recent(ctx context.Context, limit int) ([]Entry, error)
	// Status is one deployment's live status (ErrNotFound if none).
	Status(ctx context.Context, ref workflows.DeploymentRef) (workflows.Status, error)
	// Find lists the clusters a deployment ID ran in.
	Find(ctx context.Context, deployment string) ([]workflows.DeploymentRef, error)
}

// Options configure the pages.
type Options struct {
	Source Source
	// Previews, when set, serves pull requests' previews (PreviewPath).
	Previews PreviewSource
	Links    Links
	// Refresh is how often a live page reloads itself (default 5 s).
	Refresh time.Duration
	// Limit is how many deployments the list shows (default 50).
	Limit  int
	Now    func() time.Time
	Logger *slog.Logger
	// Access says who may see the pages (default LocalOnly: loopback
	// clients only).
	Access Access
	// Observe, when set, is told the outcome of access checks: event
	// "session" (every request) or "login" (a GitHub login's callback),
	// and one of the Access… results.
	Observe func(event, result string)
}

func (o *Options) observe(event, result string) {
	if o.Observe != nil {
		o.Observe(event, result)
	}
}

// URL is the page of one deployment under base (the public address of
// prdeploy, e.g. https://prdeploy.example.com); empty when base is.
func URL(base string, ref workflows.DeploymentRef) string {
	if base == "" {
		return ""
	}
	return strings.TrimRight(base, "/") + pagePath(ref)
}

// pagePath is the path of a deployment's page.
func pagePath(ref workflows.DeploymentRef) string {
	return Path + "/" + url.PathEscape(ref.Cluster) + "/" + url.PathEscape(ref.Deployment)
}

//go:embed templates/*.html
var files embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"pageOf": func(cluster, deployment string) string {
		return pagePath(workflows.DeploymentRef{Cluster: cluster, Deployment: deployment})
	},
	"add": func(a, b int) int { return a + b },
	"legend": func() []string {
		return []string{workflows.ServiceHealthy, workflows.ServiceSuperseded, workflows.ServiceApplying, workflows.TenantSettling, workflows.TenantLocking,
			workflows.TenantPaused, workflows.ServiceFailed, workflows.TenantRolledBack, workflows.TenantCancelled, "not-started"}
	},
}).ParseFS(files, "templates/*.html"))

type handler struct {
	o   Options
	mux *http.ServeMux
}

// New returns the status pages' handler; mount it at Path, Path+"/" and
// AuthPath+"/".
func New(o Options) http.Handler {
	if o.Refresh == 0 {
		o.Refresh = 5 * time.Second
	}
	if o.Limit == 0 {
		o.Limit = 50
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Access == nil {
		o.Access = LocalOnly()
	}
	h := &handler{o: o, mux: http.NewServeMux()}
	h.mux.HandleFunc("GET "+Path, h.guard(h.list))
	h.mux.HandleFunc("GET "+Path+"/{$}", h.guard(h.list))
	h.mux.HandleFunc("GET "+Path+"/{deployment}", h.guard(h.find))
	h.mux.HandleFunc("GET "+Path+"/{cluster}/{deployment}", h.guard(h.one))
	h.mux.HandleFunc("GET "+PreviewPath+"/{owner}/{repo}/{pr}/{sha}", h.guard(h.preview))
	if l, ok := o.Access.(*GitHubLogin); ok {
		l.routes(h.mux, h)
	}
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

type listPage struct {
	Title   string
	Refresh int
	Viewer  string `json:"-"`
	Entries []listEntry
	Error   string
}

type listEntry struct {
	Entry
	View *View
}

func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	p := listPage{Title: "Deployments", Refresh: int(h.o.Refresh.Seconds()), Viewer: viewer(r)}
	entries, err := h.o.Source.Recent(ctx, h.o.Limit)
	if err != nil {
		h.o.Logger.Warn("status page: listing deployments", "error", err)
		p.Error = "Could not list deployments: " + err.Error()
	}
	now := h.o.Now()
	for _, e := range entries {
		le := listEntry{Entry: e}
		if e.Status != nil {
			v := Build(*e.Status, h.o.Links, now)
			le.View = &v
		}
		p.Entries = append(p.Entries, le)
	}
	if wantsJSON(r) {
		writeJSON(w, p)
		return
	}
	h.render(w, "list.html", p)
}

type findPage struct {
	Title      string
	Refresh    int
	Viewer     string
	Deployment string
	Refs       []workflows.DeploymentRef
}

func (h *handler) find(w http.ResponseWriter, r *http.Request) {
	dep := r.PathValue("deployment")
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	refs, err := h.o.Source.Find(ctx, dep)
	switch {
	case err != nil:
		h.o.Logger.Warn("status page: finding a deployment", "deployment", dep, "error", err)
		http.Error(w, "could not look the deployment up: "+err.Error(), http.StatusBadGateway)
		return
	case len(refs) == 0:
		http.Error(w, "no deployment "+dep, http.StatusNotFound)
		return
	case len(refs) == 1:
		http.Redirect(w, r, pagePath(refs[0]), http.StatusFound)
		return
	}
	h.render(w, "find.html", findPage{Title: dep, Deployment: dep, Refs: refs, Viewer: viewer(r)})
}

type onePage struct {
	Title   string
	Refresh int
	Viewer  string
	View
}

func (h *handler) one(w http.ResponseWriter, r *http.Request) {
	ref := workflows.DeploymentRef{Cluster: r.PathValue("cluster"), Deployment: r.PathValue("deployment")}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	st, err := h.o.Source.Status(ctx, ref)
	switch {
	case errors.Is(err, ErrNotFound):
		http.Error(w, "no deployment "+ref.Deployment+" in cluster "+ref.Cluster, http.StatusNotFound)
		return
	case err != nil:
		h.o.Logger.Warn("status page: querying a deployment", "deployment", ref.Deployment, "cluster", ref.Cluster, "error", err)
		http.Error(w, "could not query the deployment: "+err.Error(), http.StatusBadGateway)
		return
	}
	v := Build(st, h.o.Links, h.o.Now())
	if wantsJSON(r) {
		writeJSON(w, v)
		return
	}
	p := onePage{Title: ref.Deployment + " in " + ref.Cluster, View: v, Viewer: viewer(r)}
	if v.Live {
		p.Refresh = int(h.o.Refresh.Seconds())
	}
	h.render(w, "deployment.html", p)
}

func (h *handler) render(w http.ResponseWriter, name string, data any) {
	if err := renderPage(w, http.StatusOK, name, data); err != nil {
		h.o.Logger.Error("status page: rendering", "template", name, "error", err)
	}
}

// renderMessage answers with a page that says why.
func renderMessage(w http.ResponseWriter, code int, p messagePage) {
	_ = renderPage(w, code, "message.html", p)
}

func renderPage(w http.ResponseWriter, code int, name string, data any) error {
	var b strings.Builder
	if err := pages.ExecuteTemplate(&b, name, data); err != nil {
		http.Error(w, "rendering failed", http.StatusInternalServerError)
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(b.String()))
	return nil
}

func wantsJSON(r *http.Request) bool {
	return r.URL.Query().Get("format") == "json" || strings.Contains(r.Header.Get("Accept"), "application/json")
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	writeJSONBody(w, v)
}

func writeJSONBody(w http.ResponseWriter, v any) { _ = json.NewEncoder(w).Encode(v) }

// Linker gives reports their links: this status page under Base, and the
// workflow's history in the Temporal Web UI when History is set.
type Linker struct {
	Base    string
	History func(workflowID string) string
}

var _ workflows.Linker = Linker{}

// ReportLinks are the deployment's links.
func (l Linker) ReportLinks(ref workflows.DeploymentRef) workflows.ReportLinks {
	links := workflows.ReportLinks{StatusPage: URL(l.Base, ref)}
	if l.History != nil {
		links.History = l.History(workflows.DeployWorkflowID(ref.Cluster, ref.Deployment))
	}
	return links
}
