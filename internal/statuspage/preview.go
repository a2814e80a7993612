package statuspage

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prdeploy/prdeploy/planner"
)

// PreviewPath is where pull requests' previews are served:
// PreviewPath/{owner}/{repo}/{pr}/{head sha}.
const PreviewPath = Path + "/previews"

// PreviewSource reads the complete preview of a pull request's latest
// head (internal/payload.Previews); ok is false when it has none.
type PreviewSource interface {
	Preview(ctx context.Context, repo string, pr int) (r planner.PreviewReport, ok bool, err error)
}

// PreviewURL is the page of a pull request head's preview under base;
// empty when base is.
func PreviewURL(base, repo string, pr int, headSHA string) string {
	if base == "" {
		return ""
	}
	return strings.TrimRight(base, "/") + previewPath(repo, pr, headSHA)
}

func previewPath(repo string, pr int, headSHA string) string {
	owner, name, _ := strings.Cut(repo, "/")
	return fmt.Sprintf("%s/%s/%s/%d/%s", PreviewPath, url.PathEscape(owner), url.PathEscape(name), pr, url.PathEscape(headSHA))
}

// PreviewView is a preview page: each plan's tenants grouped by change,
// every group in full.
type PreviewView struct {
	Repo     string
	PR       int
	PRURL    string
	HeadSHA  string
	At       string
	Sections []PreviewSectionView
}

// PreviewSectionView is one plan's preview, or the next deploys'.
type PreviewSectionView struct {
	Title    string
	Problems []string
	Headline string
	Groups   []PreviewGroupView
}

// PreviewGroupView is tenants with the same change.
type PreviewGroupView struct {
	Tenants []string
	// Kind is failing, change, unreachable or unchanged.
	Kind    string
	Message string
	Lines   []PreviewLine
}

// PreviewLine is one line of a group's diff; Class colours it.
type PreviewLine struct {
	Text, Class string
}

// BuildPreview lays a preview out for the page (pure).
func BuildPreview(r planner.PreviewReport, links Links) PreviewView {
	v := PreviewView{Repo: r.Repo, PR: r.PR, HeadSHA: r.HeadSHA, At: r.At.UTC().Format("2006-01-02 15:04 UTC")}
	if links.GitHubWeb != "" {
		v.PRURL = fmt.Sprintf("%s/%s/pull/%d", strings.TrimRight(links.GitHubWeb, "/"), r.Repo, r.PR)
	}
	for _, s := range r.Plans {
		v.Sections = append(v.Sections, buildSection(fmt.Sprintf("%s (deployment %s)", s.File, s.Deployment), s))
	}
	if r.Next != nil {
		v.Sections = append(v.Sections, buildSection("Next deploys (no plan: the images that run now are kept)", *r.Next))
	}
	return v
}

func buildSection(title string, s planner.PreviewSection) PreviewSectionView {
	sv := PreviewSectionView{Title: title, Problems: s.Problems}
	changed, down := 0, 0
	for _, t := range s.Tenants {
		switch {
		case t.Status != planner.PreviewOK:
			down++
		case t.Changed():
			changed++
		}
	}
	sv.Headline = fmt.Sprintf("%d of %d tenants would change", changed, len(s.Tenants))
	if down > 0 {
		sv.Headline += fmt.Sprintf(", %d not previewed", down)
	}
	rank := map[string]int{"failing": 0, "change": 1, "unreachable": 2, "unchanged": 3}
	for _, g := range planner.GroupPreviews(s.Tenants) {
		gv := PreviewGroupView{Tenants: g.Tenants, Kind: "change", Message: g.First.Message}
		switch {
		case g.First.Status != planner.PreviewOK:
			gv.Kind = "unreachable"
		case !g.First.Changed():
			gv.Kind = "unchanged"
		default:
			for _, l := range g.First.DiffLines() {
				class := ""
				switch {
				case strings.HasPrefix(l, "+"):
					class = "add"
				case strings.HasPrefix(l, "-"):
					class = "del"
				case strings.HasPrefix(l, "~"):
					class = "mod"
				case strings.HasPrefix(l, "!"):
					class, gv.Kind = "fail", "failing"
				}
				gv.Lines = append(gv.Lines, PreviewLine{Text: l, Class: class})
			}
		}
		sv.Groups = append(sv.Groups, gv)
	}
	slices.SortStableFunc(sv.Groups, func(a, b PreviewGroupView) int { return cmp.Compare(rank[a.Kind], rank[b.Kind]) })
	return sv
}

type previewPage struct {
	Title   string
	Refresh int
	Viewer  string
	PreviewView
}

func (h *handler) preview(w http.ResponseWriter, r *http.Request) {
	repo := r.PathValue("owner") + "/" + r.PathValue("repo")
	sha := r.PathValue("sha")
	pr, err := strconv.Atoi(r.PathValue("pr"))
	if err != nil || pr <= 0 || h.o.Previews == nil {
		http.Error(w, "no such preview", http.StatusNotFound)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	rep, ok, err := h.o.Previews.Preview(ctx, repo, pr)
	switch {
	case err != nil:
		h.o.Logger.Warn("status page: reading a preview", "repo", repo, "pr", pr, "error", err)
		http.Error(w, "could not read the preview: "+err.Error(), http.StatusBadGateway)
		return
	case !ok:
		http.Error(w, fmt.Sprintf("no preview of %s#%d", repo, pr), http.StatusNotFound)
		return
	case rep.HeadSHA != sha:
		renderMessage(w, http.StatusNotFound, messagePage{Title: "Preview", Heading: "This preview is of an older commit",
			Message: fmt.Sprintf("The pull request %s#%d has moved on since %s; prdeploy keeps the preview of its latest head only.", repo, pr, shortSHA(sha)),
			Link:    "The preview of " + shortSHA(rep.HeadSHA), LinkTo: previewPath(repo, pr, rep.HeadSHA)})
		return
	}
	v := BuildPreview(rep, h.o.Links)
	if wantsJSON(r) {
		writeJSON(w, rep)
		return
	}
	h.render(w, "preview.html", previewPage{Title: fmt.Sprintf("Preview of %s#%d", repo, pr), Viewer: viewer(r), PreviewView: v})
}

func shortSHA(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}
