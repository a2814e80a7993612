package policies

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/ext"

	"github.com/prdeploy/prdeploy/planner"
)

// The CEL environment that `when` conditions are compiled in. Its variables
// are typed objects, so that a misspelt field (plan.tenantcount) is an error
// when the policy is loaded, not a denial at every evaluation.
//
//	plan   planFacts   the expanded deploy plan
//	pr     PRFacts     the pull request being judged
//	actor  Actor       who asks (the PR author when a PR is planned)
//	now    timestamp   the evaluation time, passed in by the caller
var celEnv = sync.OnceValues(func() (*cel.Env, error) {
	return cel.NewEnv(
		ext.NativeTypes(
			reflect.TypeFor[planFacts](),
			reflect.TypeFor[PRFacts](),
			reflect.TypeFor[Actor](),
			ext.ParseStructTags(true),
		),
		cel.Variable("plan", cel.ObjectType("policies.planFacts")),
		cel.Variable("pr", cel.ObjectType("policies.PRFacts")),
		cel.Variable("actor", cel.ObjectType("policies.Actor")),
		cel.Variable("now", cel.TimestampType),
		cel.OptionalTypes(),
		ext.Strings(),
		ext.Sets(),
	)
})

// celVariables names the variables for "undeclared reference" hints.
const celVariables = "plan, pr, actor and now"

// costLimit bounds the work one condition may do, so that a condition over a
// very large fleet (or a careless nested loop) fails closed instead of
// stalling the evaluation. It is far above what real conditions need: a
// comprehension over 10,000 tenants costs well under 100,000.
const costLimit = 5_000_000

// compileWhen compiles a rule's condition. It returns the messages of every
// problem, each naming the place inside the expression.
func compileWhen(expr string) (cel.Program, []string) {
	env, err := celEnv()
	if err != nil {
		return nil, []string{fmt.Sprintf("internal error: building the CEL environment: %v", err)}
	}
	ast, iss := env.Compile(expr)
	if iss != nil && len(iss.Errors()) > 0 {
		var msgs []string
		for _, e := range iss.Errors() {
			msg := strings.TrimSuffix(e.Message, " (in container '')")
			if strings.HasPrefix(msg, "undeclared reference") {
				msg += "; the variables are " + celVariables
			}
			loc := fmt.Sprintf("column %d", e.Location.Column()+1)
			if strings.Contains(expr, "\n") {
				loc = fmt.Sprintf("line %d, column %d", e.Location.Line(), e.Location.Column()+1)
			}
			msgs = append(msgs, fmt.Sprintf("invalid condition: %s (at %s of the expression)", msg, loc))
		}
		return nil, msgs
	}
	if !ast.OutputType().IsExactType(cel.BoolType) {
		return nil, []string{fmt.Sprintf("the condition must be true or false, but this expression gives %s", ast.OutputType())}
	}
	prg, err := env.Program(ast, cel.EvalOptions(cel.OptOptimize), cel.CostLimit(costLimit))
	if err != nil {
		return nil, []string{fmt.Sprintf("invalid condition: %v", err)}
	}
	return prg, nil
}

// planFacts is the `plan` variable: the parts of an ExecutionPlan that
// policies decide on, named as in the plan format.
type planFacts struct {
	Deployment  string         `cel:"deployment"`
	Clusters    []string       `cel:"clusters"`
	Services    []serviceFacts `cel:"services"`
	Tenants     []tenantFacts  `cel:"tenants"`
	TenantCount int            `cel:"tenantCount"`
	CanaryCount int            `cel:"canaryCount"`
	Waves       []waveFacts    `cel:"waves"`
	Gates       []string       `cel:"gates"`
}

type serviceFacts struct {
	Name  string `cel:"name"`
	Image string `cel:"image"`
}

type tenantFacts struct {
	Name      string            `cel:"name"`
	Cluster   string            `cel:"cluster"`
	Namespace string            `cel:"namespace"`
	Labels    map[string]string `cel:"labels"`
}

type waveFacts struct {
	Name    string   `cel:"name"`
	Canary  bool     `cel:"canary"`
	Gate    string   `cel:"gate"`
	Tenants []string `cel:"tenants"`
}

// factsOf builds the `plan` variable. Lists are never nil, so that
// conditions see empty lists rather than missing values.
func factsOf(p *planner.ExecutionPlan) planFacts {
	f := planFacts{
		Deployment:  p.Deployment,
		Clusters:    nonNil(p.Clusters),
		Services:    []serviceFacts{},
		Tenants:     []tenantFacts{},
		TenantCount: p.TenantCount(),
		Waves:       []waveFacts{},
		Gates:       gateIDs(p),
	}
	for _, s := range p.Services {
		f.Services = append(f.Services, serviceFacts{Name: s.Name, Image: s.Image})
	}
	for _, w := range p.Waves {
		wf := waveFacts{Name: w.Name, Canary: w.Canary, Tenants: []string{}}
		if w.Gate != nil {
			wf.Gate = w.Gate.ID
		}
		for _, t := range w.Tenants {
			labels := t.Labels
			if labels == nil {
				labels = map[string]string{}
			}
			f.Tenants = append(f.Tenants, tenantFacts{Name: t.Name, Cluster: t.Cluster, Namespace: t.Namespace, Labels: labels})
			wf.Tenants = append(wf.Tenants, t.Name)
		}
		if w.Canary {
			f.CanaryCount += len(w.Tenants)
		}
		f.Waves = append(f.Waves, wf)
	}
	return f
}

// gateIDs lists the plan's gates in rollout order.
func gateIDs(p *planner.ExecutionPlan) []string {
	out := []string{}
	for _, g := range p.Gates() {
		out = append(out, g.ID)
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// activation returns the variables a condition is evaluated with.
func activation(in Input, plan planFacts) map[string]any {
	pr := in.PR
	pr.Labels, pr.ChangedFiles = nonNil(pr.Labels), nonNil(pr.ChangedFiles)
	actor := in.Actor
	actor.Teams = nonNil(actor.Teams)
	return map[string]any{
		"plan":  plan,
		"pr":    pr,
		"actor": actor,
		"now":   in.Now.UTC(),
	}
}

// evalWhen runs a compiled condition.
func evalWhen(prg cel.Program, vars map[string]any) (bool, error) {
	out, _, err := prg.Eval(vars)
	if err != nil {
		return false, err
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, fmt.Errorf("the condition gave %v (%s), not true or false", out.Value(), out.Type().TypeName())
	}
	return b, nil
}

// timeLayout is how freeze times are written, in the freeze's time zone.
const timeLayout = "2006-01-02T15:04"

// displayTime formats a time for people: "Mon 4 Jan 2027 00:00 Europe/Berlin".
func displayTime(t time.Time) string {
	return t.Format("Mon 2 Jan 2006 15:04") + " " + t.Location().String()
}
