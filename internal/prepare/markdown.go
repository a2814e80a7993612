package prepare

import (
	"cmp"
	"embed"
	"fmt"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/prdeploy/prdeploy/planner"
	"github.com/prdeploy/prdeploy/workflows"
)

// The plan check's Markdown comes from one template file,
// templates/plancheck.md.tmpl; this file gives it its data (the views
// below) and fits the previews into GitHub's limit.

//go:embed templates/plancheck.md.tmpl
var templateFS embed.FS

var checkTemplate = template.Must(template.New("").Funcs(template.FuncMap{
	"count":      countNoun,
	"oneLine":    func(s string) string { return strings.Join(strings.Fields(s), " ") },
	"sub":        func(a, b int) int { return a - b },
	"merges":     mergesText,
	"targets":    targetList,
	"tenantList": tenantList,
	"fence":      fence,
}).ParseFS(templateFS, "templates/plancheck.md.tmpl"))

// checkView is everything the plan check's summary says.
type checkView struct {
	PoliciesChanged string // the policy files, as inline code
	BaseRef         string
	Plans           []planView
	Next            *nextView
	// ArchiveErr says why the complete preview could not be kept for the
	// status page.
	ArchiveErr string
}

// eachPreview calls fn with every preview of the summary.
func (v *checkView) eachPreview(fn func(*previewView)) {
	for _, p := range v.Plans {
		if p.Preview != nil {
			fn(p.Preview)
		}
	}
	if v.Next != nil && v.Next.Preview != nil {
		fn(v.Next.Preview)
	}
}

// planView is one changed plan.
type planView struct {
	File string
	// Problems of the plan itself: nothing else is shown.
	Problems []string
	Plan     string // the expanded plan (planner's Markdown)
	Render   renderView
	Decision string // the policies' decision (policies' Markdown)
	Locks    locksView
	Preview  *previewView
}

type renderView struct {
	Problems []RenderProblem
	Rendered int
	Cut      bool
	Next     bool
}

func newRenderView(r RenderedPlan, next bool) renderView {
	return renderView{Problems: r.Problems, Rendered: r.Rendered, Cut: r.Cut, Next: next}
}

type locksView struct {
	Off  bool
	Err  string
	Held []workflows.HeldLock
}

// Ordered says whether any held lock names deployments in merge order
// (then the check says which wins).
func (v locksView) Ordered() bool {
	for _, h := range v.Held {
		if len(h.Merges) > 0 {
			return true
		}
	}
	return false
}

// mergesText lists deployments with their merge commits, in order.
func mergesText(ms []workflows.Stamp) string {
	parts := make([]string, 0, len(ms))
	for _, m := range ms {
		parts = append(parts, fmt.Sprintf("`%s` (merge `%s`)", m.Deployment, m.Merge))
	}
	return strings.Join(parts, ", ")
}

// nextView is what a PR changes in the next deploys (no plan needed).
type nextView struct {
	Inputs    string // the changed files, as inline code
	WithPlans bool
	Pairs     []pairView
	Render    renderView
	Preview   *previewView
}

type pairView struct {
	Service string
	Tenants []string
}

// previewView is the live diff of a plan's tenants, grouped.
type previewView struct {
	Next, Keep  bool
	At          string
	Tenants     int // previewed
	Changed     int
	Unreachable int
	Skipped     int
	NotRendered int
	Failing     int
	Forced      bool
	Counts      string // "2 created, 3 configured"
	// Shown are the groups that fit, rendered; More counts the others,
	// which are Elsewhere.
	Shown     []string
	More      int
	Elsewhere string
	groups    []groupView
}

// groupView is tenants with the same change.
type groupView struct {
	Kind    string // "change", "unreachable", "unchanged"
	Tenants []string
	First   planner.TenantPreview
	Lines   []string
	failing bool
}

// newPreviewView groups previews and counts what they say.
func newPreviewView(ps []planner.TenantPreview, at time.Time, notRendered int, elsewhere string) *previewView {
	v := &previewView{At: at.UTC().Format("2006-01-02 15:04 UTC"), Tenants: len(ps), NotRendered: notRendered, Elsewhere: elsewhere}
	counts := map[planner.PreviewAction]int{}
	for _, p := range ps {
		switch {
		case p.Status == planner.PreviewSkipped:
			v.Skipped++
		case p.Status != planner.PreviewOK:
			v.Unreachable++
		case p.Changed():
			v.Changed++
		}
		if failing(p) {
			v.Failing++
		}
		for _, o := range p.Objects {
			counts[o.Action]++
			v.Forced = v.Forced || o.Forced
		}
	}
	var parts []string
	for _, a := range []planner.PreviewAction{planner.PreviewCreated, planner.PreviewConfigured, planner.PreviewRemoved} {
		if counts[a] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[a], a))
		}
	}
	if len(parts) > 0 {
		v.Counts = "objects: " + strings.Join(parts, ", ")
	}
	for _, g := range planner.GroupPreviews(ps) {
		gv := groupView{Kind: "change", Tenants: g.Tenants, First: g.First, failing: failing(g.First)}
		switch {
		case g.First.Status != planner.PreviewOK:
			gv.Kind = "unreachable"
		case !g.First.Changed():
			gv.Kind = "unchanged"
		default:
			gv.Lines = g.First.DiffLines()
		}
		v.groups = append(v.groups, gv)
	}
	rank := func(g groupView) int {
		switch {
		case g.failing:
			return 0
		case g.Kind == "change":
			return 1
		case g.Kind == "unreachable":
			return 2
		}
		return 3
	}
	slices.SortStableFunc(v.groups, func(a, b groupView) int { return cmp.Compare(rank(a), rank(b)) })
	return v
}

// failing says whether the apply would fail in the tenant as its cluster
// is now.
func failing(p planner.TenantPreview) bool {
	for _, o := range p.Objects {
		if o.Error != "" || (len(o.Conflicts) > 0 && !o.Forced) {
			return true
		}
	}
	return false
}

// renderCheck renders the summary, with as many preview groups as fit in
// limit bytes: the rest of the summary first, then each preview gets an
// equal share of what is left (a share one does not use goes to the next).
func renderCheck(v checkView, limit int) string {
	var previews []*previewView
	v.eachPreview(func(p *previewView) { previews = append(previews, p) })
	for _, p := range previews {
		p.Shown, p.More = nil, len(p.groups)
	}
	remaining := limit - len(execute("check", v))
	for i, p := range previews {
		share := remaining / (len(previews) - i)
		used := 0
		for _, g := range p.groups {
			s := execute("group", g)
			if used+len(s) > share {
				break
			}
			p.Shown = append(p.Shown, s)
			p.More--
			used += len(s)
		}
		remaining -= used
	}
	return execute("check", v)
}

// DiffMarkdown renders a rendered plan (or the next deploys, next) and
// its previews as the plan check does, every group in full: what
// `prdeploy plan diff` prints.
func DiffMarkdown(title string, r RenderedPlan, ps []planner.TenantPreview, at time.Time, next bool) string {
	v := struct {
		Title   string
		Render  renderView
		Preview *previewView
	}{Title: title, Render: newRenderView(r, next)}
	if len(r.Targets) > 0 {
		v.Preview = newPreviewView(ps, at, 0, "")
		v.Preview.Next, v.Preview.Keep = next, next
		for _, g := range v.Preview.groups {
			v.Preview.Shown = append(v.Preview.Shown, execute("group", g))
		}
	}
	return execute("diff", v)
}

func execute(name string, data any) string {
	var b strings.Builder
	if err := checkTemplate.ExecuteTemplate(&b, name, data); err != nil {
		panic(fmt.Sprintf("templates/plancheck.md.tmpl %s: %v", name, err)) // the template is ours: a test catches it
	}
	return b.String()
}

// countNoun says "1 tenant" or "3 tenants".
func countNoun(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// targetList joins at most n names, then says how many more.
func targetList(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:n], ", "), len(names)-n)
}

// tenantList writes at most 20 tenant names as inline code.
func tenantList(names []string) string {
	const most = 20
	var parts []string
	for i, n := range names {
		if i == most {
			return strings.Join(parts, ", ") + fmt.Sprintf(" and %d more", len(names)-most)
		}
		parts = append(parts, "`"+n+"`")
	}
	return strings.Join(parts, ", ")
}

// fence puts lines in a code block whose fence no line can close.
func fence(lines []string, lang string) string {
	longest := 0
	for _, l := range lines {
		run := 0
		for _, r := range l {
			if r == '`' {
				run++
				longest = max(longest, run)
			} else {
				run = 0
			}
		}
	}
	f := strings.Repeat("`", max(3, longest+1))
	return f + lang + "\n" + strings.Join(lines, "\n") + "\n" + f
}
