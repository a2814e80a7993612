package prepare

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/prdeploy/prdeploy/planner"
	"github.com/prdeploy/prdeploy/workflows"
)

// maxCheckedManifests bounds how many manifests one plan check renders
// (about 9 ms each); Prepare renders them all again at the merge.
const maxCheckedManifests = 5000

// renderProblems renders every tenant × service of a plan as Prepare will
// at the merge, and says what would stop it there: objects that cross a
// tenant's boundary (the object and the rule) and references outside the
// commit (at their file:line). It returns Markdown for the check's summary
// ("" when nothing is wrong) and annotations: at the reference for render
// errors, on the plan for boundary violations.
func renderProblems(repo *planner.Repo, exec *planner.ExecutionPlan, file string) (string, []workflows.Annotation) {
	type problem struct {
		text    string
		targets []string
		ann     workflows.Annotation
	}
	var problems []*problem
	byText := map[string]*problem{}
	add := func(text, target string, ann workflows.Annotation) {
		p := byText[text]
		if p == nil {
			p = &problem{text: text, ann: ann}
			byText[text] = p
			problems = append(problems, p)
		}
		p.targets = append(p.targets, target)
	}
	onPlan := func(msg string) workflows.Annotation {
		return workflows.Annotation{Path: file, StartLine: 1, EndLine: 1, Level: "failure", Title: "prdeploy: tenant boundary", Message: msg}
	}
	addErr := func(err error, target string) {
		var at planner.Error
		if errors.As(err, &at) && at.File != "" {
			line := max(at.Line, 1)
			add(at.Error(), target, workflows.Annotation{Path: at.File, StartLine: line, EndLine: line, Level: "failure", Title: "prdeploy: render", Message: at.Message})
			return
		}
		add(err.Error(), target, onPlan(err.Error()))
	}
	renderer, err := planner.NewRenderer(repo)
	if err != nil {
		addErr(err, "every tenant")
	} else {
		defer renderer.Close()
		n, cut := 0, false
		for _, w := range exec.Waves {
			for _, t := range w.Tenants {
				for _, name := range t.Services {
					if n == maxCheckedManifests {
						cut = true
						break
					}
					n++
					svc, _ := exec.Service(name)
					target := t.Name + "/" + name
					_, err := renderer.Render(t, svc)
					var be *planner.BoundaryError
					switch {
					case errors.As(err, &be):
						for _, v := range be.Violations {
							add(v.Error(), target, onPlan(fmt.Sprintf("%s in %s: %s", name, t.Name, v.Error())))
						}
					case err != nil:
						addErr(err, target)
					}
				}
			}
		}
		if cut && len(problems) == 0 {
			return fmt.Sprintf("**Rendering:** the first %d manifests render within their tenants' boundaries; the rest are checked at the merge.\n\n", maxCheckedManifests), nil
		}
	}
	if len(problems) == 0 {
		return "", nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "❌ **Rendering and tenant boundaries** (fleet.yaml `boundary`): %d problem%s — this plan would stop at the merge.\n\n", len(problems), plural(len(problems)))
	var anns []workflows.Annotation
	for i, p := range problems {
		sort.Strings(p.targets)
		where := strings.Join(p.targets, ", ")
		if len(p.targets) > 5 {
			where = fmt.Sprintf("%s and %d more", strings.Join(p.targets[:5], ", "), len(p.targets)-5)
		}
		if i < 50 {
			fmt.Fprintf(&b, "- `%s`: %s\n", where, p.text)
		}
		anns = append(anns, p.ann)
	}
	if len(problems) > 50 {
		fmt.Fprintf(&b, "- … and %d more.\n", len(problems)-50)
	}
	b.WriteString("\n")
	return b.String(), anns
}

// boundaries are the tenants' boundaries that are not the default, for
// the prepared plan: the Apply activity checks them again.
func boundaries(fleet *planner.Fleet, cut *planner.ExecutionPlan) map[string]planner.Boundary {
	out := map[string]planner.Boundary{}
	for _, w := range cut.Waves {
		for _, t := range w.Tenants {
			if b := fleet.BoundaryOf(t.Name); !b.IsDefault() {
				out[t.Name] = b
			}
		}
	}
	return out
}

// withBoundaries puts each tenant's boundary on its service targets.
func withBoundaries(st *stored, as []workflows.TenantAssignment) {
	for i := range as {
		b, ok := st.Boundaries[as[i].Tenant]
		if !ok {
			continue
		}
		for j := range as[i].Services {
			bb := b
			as[i].Services[j].Boundary = &bb
		}
	}
}
