package prepare

import (
	"errors"
	"fmt"
	"slices"

	"github.com/prdeploy/prdeploy/planner"
	"github.com/prdeploy/prdeploy/workflows"
)

// maxCheckedManifests bounds how many manifests one plan check renders
// (about 9 ms each); Prepare renders them all again at the merge.
const maxCheckedManifests = 5000

// RenderedPlan is a plan rendered for every tenant × service as Prepare
// will render it at the merge (the same Renderer), before anything is
// merged.
type RenderedPlan struct {
	// Targets are the tenants whose every service rendered, ready to be
	// previewed against their clusters.
	Targets []planner.PreviewTarget
	// Problems would stop the deploy at the merge: objects that cross a
	// tenant's boundary, and render errors (at their file:line when
	// kustomize says where).
	Problems []RenderProblem
	// Rendered counts the manifests rendered; Cut says that there were
	// more than the check renders (the rest are checked at the merge).
	Rendered int
	Cut      bool
	// Changed are the tenant/service pairs whose manifests differ from the
	// base's (pull requests without a plan), in render order.
	Changed []string
}

// RenderProblem is one problem, with every tenant/service it concerns.
type RenderProblem struct {
	Text    string
	Targets []string // tenant/service, sorted
	// Annotation is where the pull request shows it: at the reference for
	// render errors, on the plan for boundary violations.
	Annotation workflows.Annotation
}

// renderJob is one tenant × service to render.
type renderJob struct {
	tenant  planner.TenantTarget
	service planner.ServiceRollout
	// keepImage: rendered with the placeholder tag (no plan sets one).
	keepImage string
}

// problems collects render problems by their text.
type problems struct {
	list   []*RenderProblem
	byText map[string]*RenderProblem
	file   string // the plan, where problems without a place are shown
}

func (p *problems) add(text, target string, ann workflows.Annotation) {
	if p.byText == nil {
		p.byText = map[string]*RenderProblem{}
	}
	rp := p.byText[text]
	if rp == nil {
		rp = &RenderProblem{Text: text, Annotation: ann}
		p.byText[text] = rp
		p.list = append(p.list, rp)
	}
	rp.Targets = append(rp.Targets, target)
}

func (p *problems) onPlan(msg string) workflows.Annotation {
	return workflows.Annotation{Path: p.file, StartLine: 1, EndLine: 1, Level: "failure", Title: "prdeploy: tenant boundary", Message: msg}
}

// addErr adds a render error: at its file:line when it has one, else on
// the plan; a boundary error as one problem per violation.
func (p *problems) addErr(err error, target, service, tenant string) {
	var be *planner.BoundaryError
	if errors.As(err, &be) {
		for _, v := range be.Violations {
			p.add(v.Error(), target, p.onPlan(fmt.Sprintf("%s in %s: %s", service, tenant, v.Error())))
		}
		return
	}
	var at planner.Error
	if errors.As(err, &at) && at.File != "" {
		line := max(at.Line, 1)
		p.add(at.Error(), target, workflows.Annotation{Path: at.File, StartLine: line, EndLine: line, Level: "failure", Title: "prdeploy: render", Message: at.Message})
		return
	}
	p.add(err.Error(), target, p.onPlan(err.Error()))
}

func (p *problems) done() []RenderProblem {
	out := make([]RenderProblem, len(p.list))
	for i, rp := range p.list {
		slices.Sort(rp.Targets)
		out[i] = *rp
	}
	return out
}

// RenderPlan renders every tenant × service of a plan (up to 5,000
// manifests) with the same Renderer as Prepare.
func RenderPlan(repo *planner.Repo, exec *planner.ExecutionPlan) RenderedPlan {
	var jobs []renderJob
	for _, w := range exec.Waves {
		for _, t := range w.Tenants {
			for _, name := range t.Services {
				svc, _ := exec.Service(name)
				jobs = append(jobs, renderJob{tenant: t, service: svc})
			}
		}
	}
	return render(repo, jobs, exec.File, exec.Apply.ForceConflicts, nil)
}

// render renders the jobs in order and groups them by tenant into
// preview targets; a tenant with a service that does not render has none.
// With before (the base's digests by tenant/service), only manifests that
// differ from the base's are kept.
func render(repo *planner.Repo, jobs []renderJob, file string, force bool, before map[string]string) RenderedPlan {
	var out RenderedPlan
	ps := &problems{file: file}
	renderer, err := planner.NewRenderer(repo)
	if err != nil {
		ps.addErr(err, "every tenant", "", "")
		out.Problems = ps.done()
		return out
	}
	defer renderer.Close()
	var cur *planner.PreviewTarget
	failed := false
	flush := func() {
		if cur != nil && !failed && len(cur.Services) > 0 {
			out.Targets = append(out.Targets, *cur)
		}
		cur, failed = nil, false
	}
	for _, j := range jobs {
		if out.Rendered == maxCheckedManifests {
			out.Cut = true
			break
		}
		out.Rendered++
		if cur == nil || cur.Tenant != j.tenant.Name {
			flush()
			cur = &planner.PreviewTarget{Tenant: j.tenant.Name, Cluster: j.tenant.Cluster, Namespace: j.tenant.Namespace,
				Boundary: repo.Fleet.BoundaryOf(j.tenant.Name), ForceConflicts: force}
			if c, ok := repo.Fleet.Cluster(j.tenant.Cluster); ok {
				cur.KubeContext = c.KubeContext
			}
		}
		key := j.tenant.Name + "/" + j.service.Name
		m, err := renderer.Render(j.tenant, j.service)
		if err != nil {
			failed = true
			ps.addErr(err, key, j.service.Name, j.tenant.Name)
			continue
		}
		if before != nil {
			if d, ok := before[key]; ok && d == m.Digest {
				continue
			}
			out.Changed = append(out.Changed, key)
		}
		cur.Services = append(cur.Services, planner.PreviewService{Name: j.service.Name, YAML: m.YAML, KeepImage: j.keepImage})
	}
	if !out.Cut {
		flush()
	}
	out.Problems = ps.done()
	return out
}

// Annotations are the problems' annotations, at most n.
func (r RenderedPlan) Annotations(n int) []workflows.Annotation {
	var out []workflows.Annotation
	for _, p := range r.Problems {
		if len(out) == n {
			break
		}
		out = append(out, p.Annotation)
	}
	return out
}
