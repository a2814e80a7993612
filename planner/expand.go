package planner

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// ExecutionPlan is a plan expanded against the fleet: every wave with its
// tenants, every tenant with its cluster, namespace and services, gates
// before waves, and every default filled in. It holds no manifests, only
// names and images, so it is small enough for workflow inputs. The same plan
// and fleet always give the same ExecutionPlan, byte for byte once encoded.
type ExecutionPlan struct {
	Deployment  string   `json:"deployment"`
	Description string   `json:"description,omitempty"`
	File        string   `json:"file"`
	Clusters    []string `json:"clusters"`
	// Services in rollout order: by DAG level, then as listed in the plan.
	Services []ServiceRollout `json:"services"`
	// Levels groups service names by DAG level; services of one level
	// deploy in parallel inside a tenant once the previous level is done.
	Levels            [][]string    `json:"levels"`
	Waves             []Wave        `json:"waves"`
	MaxParallel       int           `json:"maxParallel"`
	PauseBetweenWaves Duration      `json:"pauseBetweenWaves"`
	Checks            CheckSpec     `json:"checks"`
	OnFailure         FailurePolicy `json:"onFailure"`
	Apply             ApplyOptions  `json:"apply"`
	Notify            NotifySpec    `json:"notify,omitzero"`
	// Skipped lists tenants matched by a selector that run none of the
	// plan's services.
	Skipped []string `json:"skipped,omitempty"`
}

// ServiceRollout is one service of the plan with its resolved image.
type ServiceRollout struct {
	Name  string   `json:"name"`
	Image string   `json:"image"`
	After []string `json:"after,omitempty"`
	Level int      `json:"level"`
	// Path is the service's kustomize base in the repository.
	Path string `json:"path"`
}

// Wave is a set of tenants deployed together, at most MaxParallel at once.
type Wave struct {
	Name   string `json:"name"`
	Canary bool   `json:"canary,omitempty"`
	// Gate, when set, must be approved before the wave starts.
	Gate    *Gate          `json:"gate,omitempty"`
	Tenants []TenantTarget `json:"tenants"`
}

// Gate is a point where the rollout waits for human approval.
type Gate struct {
	// ID names the gate in policies and commands: "after-canary" or
	// "before-<wave>".
	ID string `json:"id"`
	// Reason says which part of the plan asked for the gate.
	Reason string `json:"reason"`
}

// Gate IDs.
const GateAfterCanary = "after-canary"

// GateBefore returns the ID of the gate before the named wave.
func GateBefore(wave string) string { return "before-" + wave }

// TenantTarget is one tenant of a wave and the services it gets.
type TenantTarget struct {
	Name      string            `json:"name"`
	Cluster   string            `json:"cluster"`
	Namespace string            `json:"namespace"`
	Labels    map[string]string `json:"labels,omitempty"`
	// Services in rollout order; a subset of the plan's when the fleet
	// limits which services the tenant runs.
	Services []string `json:"services"`
}

// TenantCount returns the number of tenants in all waves.
func (e *ExecutionPlan) TenantCount() int {
	n := 0
	for _, w := range e.Waves {
		n += len(w.Tenants)
	}
	return n
}

// Gates returns the plan's gates in rollout order.
func (e *ExecutionPlan) Gates() []Gate {
	var out []Gate
	for _, w := range e.Waves {
		if w.Gate != nil {
			out = append(out, *w.Gate)
		}
	}
	return out
}

// Service returns the rollout of the named service.
func (e *ExecutionPlan) Service(name string) (ServiceRollout, bool) {
	for _, s := range e.Services {
		if s.Name == name {
			return s, true
		}
	}
	return ServiceRollout{}, false
}

// ForCluster returns the part of the plan that runs in one cluster: each
// cluster rolls out under its own orchestration. Waves without tenants in
// that cluster are dropped, except those with a gate: they stay, empty, so
// that every cluster stops at every gate of the plan (a cluster whose first
// batch after the canary happens to live elsewhere must not skip the
// after-canary approval).
func (e *ExecutionPlan) ForCluster(cluster string) *ExecutionPlan {
	out := *e
	out.Clusters = []string{cluster}
	out.Waves = nil
	for _, w := range e.Waves {
		var ts []TenantTarget
		for _, t := range w.Tenants {
			if t.Cluster == cluster {
				ts = append(ts, t)
			}
		}
		if len(ts) > 0 || w.Gate != nil {
			w.Tenants = ts
			out.Waves = append(out.Waves, w)
		}
	}
	return &out
}

// Expand checks the plan against the fleet and expands it. The errors
// ParsePlan found are reported again with Expand's own, so that one call
// shows every problem, in file order, at the plan's file:line:col. A plan
// that ParsePlan could not read as YAML is not expanded further.
func Expand(p *Plan, f *Fleet) (*ExecutionPlan, error) {
	errs := slices.Clone(p.problems)
	if len(p.pos) == 0 && len(errs) > 0 {
		return nil, LimitErrors(errs).Err()
	}
	x := &expander{plan: p, fleet: f, c: checker{file: p.File, pos: p.pos, errs: &errs}}
	e := x.run()
	if len(errs) > 0 {
		return nil, LimitErrors(errs.Unique()).Err()
	}
	return e, nil
}

type expander struct {
	plan  *Plan
	fleet *Fleet
	c     checker
}

func (x *expander) run() *ExecutionPlan {
	p, f, s := x.plan, x.fleet, &x.plan.Spec
	e := &ExecutionPlan{
		Deployment:        p.Metadata.Name,
		Description:       p.Metadata.Description,
		File:              p.File,
		Clusters:          slices.Clone(s.Clusters),
		MaxParallel:       cmp.Or(s.Rollout.MaxParallel, DefaultMaxParallel),
		PauseBetweenWaves: s.Rollout.PauseBetweenWaves,
		Checks:            expandChecks(s.Checks, x.c.has("spec.checks.settle")),
		OnFailure:         s.OnFailure,
		Apply:             s.Apply,
		Notify:            s.Notify,
	}
	e.OnFailure.Action = cmp.Or(e.OnFailure.Action, FailurePause)
	if e.OnFailure.Action == FailurePause {
		e.OnFailure.RollbackAfter = cmp.Or(e.OnFailure.RollbackAfter, DefaultRollbackAfter)
	}
	e.Apply.Timeout = cmp.Or(e.Apply.Timeout, DefaultApplyTimeout)

	targeted := map[string]bool{}
	for i, name := range s.Clusters {
		if _, ok := f.Cluster(name); !ok {
			x.unknown(fmt.Sprintf("spec.clusters[%d]", i), "cluster", name, f.ClusterNames())
		}
		targeted[name] = true
	}
	e.Services, e.Levels = x.services()
	selected := x.selectTenants(targeted, e.Services)
	e.Waves, e.Skipped = x.waves(selected)
	return e
}

// expandChecks fills in the defaults: both checks are on unless turned off
// with enabled: false. settleWritten tells an explicit "settle: 0s" (stop
// checking when the last rollout is healthy) from an absent settle.
func expandChecks(c *CheckSpec, settleWritten bool) CheckSpec {
	if c == nil {
		c = &CheckSpec{}
	}
	out := CheckSpec{Interval: cmp.Or(c.Interval, DefaultCheckInterval), Settle: c.Settle}
	if !settleWritten {
		out.Settle = DefaultSettle
	}
	if a := c.NoCriticalAlerts; a == nil || a.Enabled == nil || *a.Enabled {
		m := DefaultAlertMatchers
		if a != nil && len(a.Matchers) > 0 {
			m = a.Matchers
		}
		out.NoCriticalAlerts = &AlertCheckSpec{Matchers: slices.Clone(m)}
	}
	if pa := c.PodsAvailable; pa == nil || pa.Enabled == nil || *pa.Enabled {
		ratio := DefaultMinReadyRatio
		if pa != nil && pa.MinReadyRatio > 0 {
			ratio = pa.MinReadyRatio
		}
		out.PodsAvailable = &PodsAvailableSpec{MinReadyRatio: ratio}
	}
	return out
}

func (x *expander) unknown(path, what, name string, known []string) {
	if x.c.full() {
		return
	}
	if why := lookalike(name, cmp.Or(x.fleet.File, FleetFile), known); why != "" {
		x.c.errorf(path, "unknown %s %q: %s", what, name, why)
		return
	}
	if m := closest(name, known); m != "" {
		x.c.errorf(path, "unknown %s %q (did you mean %q?); known: %s", what, name, m, quoteList(known))
		return
	}
	x.c.errorf(path, "unknown %s %q; known: %s", what, name, quoteList(known))
}

// services resolves images and orders services by DAG level.
func (x *expander) services() ([]ServiceRollout, [][]string) {
	svcs := x.plan.Spec.Services
	level := dagLevels(svcs)
	var out []ServiceRollout
	for i, s := range svcs {
		def, ok := x.fleet.Service(s.Name)
		if !ok {
			if s.Name != "" {
				x.unknown(fmt.Sprintf("spec.services[%d].name", i), "service", s.Name, x.fleet.ServiceNames())
			}
			continue
		}
		image := s.Image
		if image == "" {
			image = def.Image + ":" + s.Tag
		}
		out = append(out, ServiceRollout{Name: s.Name, Image: image, After: slices.Clone(s.After), Level: level[s.Name], Path: def.Path})
	}
	slices.SortStableFunc(out, func(a, b ServiceRollout) int { return a.Level - b.Level })
	var levels [][]string
	for _, s := range out {
		if s.Level >= len(levels) {
			levels = append(levels, nil)
		}
		levels[len(levels)-1] = append(levels[len(levels)-1], s.Name)
	}
	return out, levels
}

// dagLevels gives each service its step inside a tenant: 0 for services
// without after: edges, else one more than the highest service it follows.
// It runs Kahn's algorithm, so services caught in a cycle (reported by
// ParsePlan) simply keep level 0 instead of recursing forever.
func dagLevels(svcs []ServiceChange) map[string]int {
	known := make(map[string]bool, len(svcs))
	for _, s := range svcs {
		known[s.Name] = true
	}
	indegree := map[string]int{}
	followers := map[string][]string{}
	for _, s := range svcs {
		for _, a := range slices.Compact(slices.Sorted(slices.Values(s.After))) {
			if known[a] && a != s.Name {
				indegree[s.Name]++
				followers[a] = append(followers[a], s.Name)
			}
		}
	}
	level := make(map[string]int, len(svcs))
	var queue []string
	for _, s := range svcs {
		if indegree[s.Name] == 0 {
			queue = append(queue, s.Name)
		}
	}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, f := range followers[n] {
			level[f] = max(level[f], level[n]+1)
			if indegree[f]--; indegree[f] == 0 {
				queue = append(queue, f)
			}
		}
	}
	return level
}

// selection is the set of selected tenants, with how each was selected.
type selection struct {
	tenants map[string]TenantTarget
	// named maps tenants selected by name to where the plan names them.
	named map[string]string
	// noServices is set when no service of the plan resolved, so per-tenant
	// service checks would only repeat that error.
	noServices bool
}

func (x *expander) selectTenants(targeted map[string]bool, services []ServiceRollout) selection {
	f, sel := x.fleet, x.plan.Spec.Tenants
	byName := make(map[string]FleetTenant, len(f.Tenants))
	var allNames []string
	for _, t := range f.Tenants {
		byName[t.Name] = t
		allNames = append(allNames, t.Name)
	}
	slices.Sort(allNames)
	out := selection{tenants: map[string]TenantTarget{}, named: map[string]string{}, noServices: len(services) == 0}
	add := func(t FleetTenant) {
		target := TenantTarget{Name: t.Name, Cluster: t.Cluster, Namespace: t.Namespace, Labels: t.Labels}
		for _, s := range services {
			if len(t.Services) == 0 || slices.Contains(t.Services, s.Name) {
				target.Services = append(target.Services, s.Name)
			}
		}
		out.tenants[t.Name] = target
	}
	for i, name := range sel.Names {
		path := fmt.Sprintf("spec.tenants.names[%d]", i)
		t, ok := byName[name]
		switch {
		case !ok:
			x.unknown(path, "tenant", name, allNames)
		case !targeted[t.Cluster]:
			if x.c.reported("spec.clusters") {
				continue // the clusters could not be read; do not guess
			}
			x.c.errorf(path, "tenant %q lives in cluster %q, which the plan does not target; add %q to spec.clusters or drop the tenant", name, t.Cluster, t.Cluster)
		default:
			add(t)
			out.named[name] = path
		}
	}
	if sel.Selector != nil {
		for _, t := range f.Tenants {
			if targeted[t.Cluster] && matches(sel.Selector, t.Labels) {
				add(t)
			}
		}
	}
	for i, name := range sel.Exclude {
		if _, ok := byName[name]; !ok {
			x.unknown(fmt.Sprintf("spec.tenants.exclude[%d]", i), "tenant", name, allNames)
			continue
		}
		delete(out.tenants, name)
		delete(out.named, name)
	}
	if len(out.tenants) == 0 && len(*x.c.errs) == 0 {
		// With other errors, the empty selection is most likely one of them.
		x.c.errorf("spec.tenants", "the selection matches no tenant in clusters %s; check names, labels and exclusions", strings.Join(x.plan.Spec.Clusters, ", "))
	}
	inCluster := map[string]bool{}
	for _, t := range out.tenants {
		inCluster[t.Cluster] = true
	}
	for i, c := range x.plan.Spec.Clusters {
		if _, known := f.Cluster(c); known && len(out.tenants) > 0 && !inCluster[c] {
			x.c.errorf(fmt.Sprintf("spec.clusters[%d]", i), "no selected tenant lives in cluster %q; drop it from spec.clusters or select tenants there", c)
		}
	}
	return out
}

// notSelected explains why a tenant that the rollout places (as a canary
// or in a wave) is not in the plan's selection, with a fix that works for
// that reason.
func (x *expander) notSelected(path, name string) {
	if x.c.full() {
		return
	}
	sel := x.plan.Spec.Tenants
	here := "remove it here"
	if c := x.plan.Spec.Rollout.Canary; c != nil && len(c.Tenants) == 1 && strings.HasPrefix(path, "spec.rollout.canary.") {
		here = "name another canary tenant here" // without it the canary would be empty
	}
	if i := slices.Index(sel.Exclude, name); i >= 0 {
		x.c.errorf(path, "tenant %q is excluded by spec.tenants.exclude[%d]; remove it from exclude, or %s", name, i, here)
		return
	}
	var t *FleetTenant
	for i := range x.fleet.Tenants {
		if x.fleet.Tenants[i].Name == name {
			t = &x.fleet.Tenants[i]
		}
	}
	switch {
	case t == nil:
		var known []string
		for _, t := range x.fleet.Tenants {
			known = append(known, t.Name)
		}
		slices.Sort(known)
		x.unknown(path, "tenant", name, known)
	case !slices.Contains(x.plan.Spec.Clusters, t.Cluster):
		x.c.errorf(path, "tenant %q lives in cluster %q, which the plan does not target; add %q to spec.clusters and select the tenant, or %s", name, t.Cluster, t.Cluster, here)
	case slices.Contains(sel.Names, name):
		// Selected by name and yet not selected: already reported there.
	default:
		x.c.errorf(path, "tenant %q is not in the plan's tenant selection; add it to spec.tenants.names (or make the selector match it), or %s", name, here)
	}
}

func matches(s *LabelSelector, labels map[string]string) bool {
	for k, v := range s.MatchLabels {
		if labels[k] != v {
			return false
		}
	}
	for _, r := range s.MatchExpressions {
		v, has := labels[r.Key]
		switch r.Operator {
		case "In":
			if !has || !slices.Contains(r.Values, v) {
				return false
			}
		case "NotIn":
			if has && slices.Contains(r.Values, v) {
				return false
			}
		case "Exists":
			if !has {
				return false
			}
		case "DoesNotExist":
			if has {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// waves places every selected tenant in exactly one wave.
func (x *expander) waves(sel selection) ([]Wave, []string) {
	r := x.plan.Spec.Rollout
	placed := map[string]string{} // tenant → wave
	var skipped []string
	// take returns the target of a tenant listed at path, or reports why it
	// cannot be placed there.
	take := func(path, wave, name string) (TenantTarget, bool) {
		t, ok := sel.tenants[name]
		if !ok {
			x.notSelected(path, name)
			return t, false
		}
		if prev, ok := placed[name]; ok {
			x.c.errorf(path, "tenant %q is already in wave %q; a tenant belongs to one wave", name, prev)
			return t, false
		}
		placed[name] = wave
		if sel.noServices {
			return t, false
		}
		if len(t.Services) == 0 {
			x.c.errorf(path, "tenant %q runs none of the plan's services", name)
			return t, false
		}
		return t, true
	}
	var waves []Wave
	if r.Canary != nil {
		w := Wave{Name: "canary", Canary: true}
		for i, name := range r.Canary.Tenants {
			if t, ok := take(fmt.Sprintf("spec.rollout.canary.tenants[%d]", i), "canary", name); ok {
				w.Tenants = append(w.Tenants, t)
			}
		}
		for i, c := range x.plan.Spec.Clusters {
			if !slices.ContainsFunc(w.Tenants, func(t TenantTarget) bool { return t.Cluster == c }) && len(w.Tenants) > 0 && len(x.plan.Spec.Clusters) > 1 {
				x.c.errorf(fmt.Sprintf("spec.clusters[%d]", i), "cluster %q has no canary tenant; each cluster rolls out on its own, so give it a canary or deploy it in a separate plan", c)
			}
		}
		waves = append(waves, w)
	}
	// rest lists the selected tenants not placed yet, by cluster then name.
	rest := func() []TenantTarget {
		var out []TenantTarget
		for _, t := range sel.tenants {
			if _, ok := placed[t.Name]; ok || sel.noServices {
				continue
			}
			if len(t.Services) == 0 {
				if path, ok := sel.named[t.Name]; ok {
					x.c.errorf(path, "tenant %q runs none of the plan's services (fleet.yaml limits its services)", t.Name)
				} else {
					skipped = append(skipped, t.Name)
				}
				continue
			}
			out = append(out, t)
		}
		slices.SortFunc(out, func(a, b TenantTarget) int {
			return cmp.Or(cmp.Compare(a.Cluster, b.Cluster), cmp.Compare(a.Name, b.Name))
		})
		return out
	}
	switch {
	case len(r.Waves) > 0:
		for i, ws := range r.Waves {
			w := Wave{Name: ws.Name}
			if ws.RequireApproval {
				w.Gate = &Gate{ID: GateBefore(ws.Name), Reason: fmt.Sprintf("rollout.waves[%d].requireApproval", i)}
			}
			for j, name := range ws.Tenants {
				path := fmt.Sprintf("spec.rollout.waves[%d].tenants[%d]", i, j)
				if t, ok := take(path, ws.Name, name); ok {
					w.Tenants = append(w.Tenants, t)
				}
			}
			waves = append(waves, w)
		}
		for _, t := range rest() {
			x.c.errorf("spec.rollout.waves", "tenant %q is selected but in no wave; add it to a wave or exclude it", t.Name)
		}
	case r.BatchSize > 0:
		ts := rest()
		for i := 0; i < len(ts); i += r.BatchSize {
			waves = append(waves, Wave{Name: fmt.Sprintf("batch-%d", i/r.BatchSize+1), Tenants: ts[i:min(i+r.BatchSize, len(ts))]})
		}
	default:
		if ts := rest(); len(ts) > 0 {
			waves = append(waves, Wave{Name: "all", Tenants: ts})
		}
	}
	x.gates(waves)
	slices.Sort(skipped)
	return waves, skipped
}

// gates puts the gates of rollout.approval on the waves: after-canary before
// the first wave after the canary, every-wave before every wave but the
// first. They take the place of a wave's own requireApproval gate.
func (x *expander) gates(waves []Wave) {
	approval := x.plan.Spec.Rollout.Approval
	for i := 1; i < len(waves); i++ {
		switch {
		case i == 1 && waves[0].Canary && (approval == ApprovalAfterCanary || approval == ApprovalEveryWave):
			waves[i].Gate = &Gate{ID: GateAfterCanary, Reason: "rollout.approval: " + approval}
		case approval == ApprovalEveryWave:
			waves[i].Gate = &Gate{ID: GateBefore(waves[i].Name), Reason: "rollout.approval: every-wave"}
		}
	}
}
