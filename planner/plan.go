package planner

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

var (
	deploymentIDRE = regexp.MustCompile(`^[a-z0-9-]{1,63}$`)
	// dnsLabelRE is what Kubernetes accepts for namespace names and what we
	// accept for cluster, tenant and service names.
	dnsLabelRE  = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)
	labelKeyRE  = regexp.MustCompile(`^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$`)
	matcherRE   = regexp.MustCompile(`^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*$`)
	placeholder = regexp.MustCompile(`\{[a-z]+\}`)
)

// checker records validation errors against the Positions of a decoded file.
type checker struct {
	file string
	pos  Positions
	errs *ErrorList
}

// at returns the position of path, or of its nearest ancestor that has one.
func (c checker) at(path string) Pos {
	for p := path; ; {
		if pos, ok := c.pos[p]; ok {
			return pos
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return Pos{Line: 1, Col: 1}
}

func (c checker) errorf(path, format string, args ...any) {
	if c.full() {
		return // enough to fix first; LimitErrors says that more were left out
	}
	*c.errs = append(*c.errs, Error{File: c.file, Pos: c.at(path), Path: path, Message: fmt.Sprintf(format, args...)})
}

// full reports whether the file has as many problems as are reported, so
// that checks stop spending work on explaining more.
func (c checker) full() bool { return len(*c.errs) > MaxErrorsPerFile }

// has reports whether path was written in the file.
func (c checker) has(path string) bool { _, ok := c.pos[path]; return ok }

// reported reports whether an error about path was already recorded (a type
// error while decoding, say), so that checks do not pile on.
func (c checker) reported(path string) bool {
	for _, e := range *c.errs {
		if e.Path == path {
			return true
		}
	}
	return false
}

// ParsePlan reads a deploy plan strictly and checks everything that can be
// checked without the fleet: format version, names, images, durations,
// limits, the service DAG. It returns the plan even when there are errors,
// so that a caller can go on to report cross-file problems too.
func ParsePlan(file string, data []byte) (*Plan, error) {
	d := newDecoder(file, fileLimits)
	p := &Plan{File: file}
	d.parseDocument(data, p)
	p.pos = d.pos
	if len(d.errs) > 0 && len(d.pos) == 0 {
		p.problems = d.errs
		return p, LimitErrors(d.errs).Err() // not a plan at all: nothing more to say
	}
	errs := d.errs
	p.check(checker{file: file, pos: p.pos, errs: &errs})
	p.problems = errs
	return p, LimitErrors(slices.Clone(errs)).Err()
}

func (p *Plan) check(c checker) {
	checkHeader(c, p.APIVersion, p.Kind, KindDeployPlan)
	switch {
	case p.Metadata.Name == "":
		c.errorf("metadata.name", "the deployment id is required; add metadata.name, e.g. ingest-v42")
	case !deploymentIDRE.MatchString(p.Metadata.Name):
		c.errorf("metadata.name", "deployment id %q must be 1-63 characters of a-z, 0-9 and '-'", p.Metadata.Name)
	}
	s := &p.Spec
	if len(s.Clusters) == 0 && !c.reported("spec.clusters") {
		c.errorf("spec.clusters", "at least one target cluster is required, e.g. clusters: [prod-eu]")
	}
	checkUnique(c, "spec.clusters", s.Clusters, "cluster")
	p.checkServices(c)
	p.checkTenants(c)
	p.checkRollout(c)
	p.checkChecks(c)
	switch s.OnFailure.Action {
	case "", FailurePause:
	case FailureRollback, FailureStop:
		if c.has("spec.onFailure.rollbackAfter") {
			c.errorf("spec.onFailure.rollbackAfter", "rollbackAfter applies only to action: pause")
		}
	default:
		c.errorf("spec.onFailure.action", "unknown action %q; use pause, rollback or stop", s.OnFailure.Action)
	}
	if c.has("spec.onFailure.rollbackAfter") && s.OnFailure.RollbackAfter == 0 && !c.reported("spec.onFailure.rollbackAfter") {
		c.errorf("spec.onFailure.rollbackAfter", "rollbackAfter must be longer than 0s")
	}
	if c.has("spec.apply.timeout") && s.Apply.Timeout == 0 && !c.reported("spec.apply.timeout") {
		c.errorf("spec.apply.timeout", "timeout must be longer than 0s")
	}
	if ch := s.Notify.Slack; ch != "" && !slackChannel.MatchString(ch) {
		c.errorf("spec.notify.slack", "invalid Slack channel %q; write a channel name like #deploys-eu or a channel ID like C0123456789", ch)
	}
}

// slackChannel is a Slack channel name (lower case, up to 80 characters,
// with an optional #) or a channel ID.
var slackChannel = regexp.MustCompile(`^#?[a-z0-9][a-z0-9._-]{0,79}$|^[CG][A-Z0-9]{8,}$`)

func checkHeader(c checker, apiVersion, kind, wantKind string) {
	switch {
	case apiVersion == "":
		c.errorf("apiVersion", "apiVersion is required; use %s", APIVersion)
	case apiVersion != APIVersion:
		c.errorf("apiVersion", "unsupported apiVersion %q; this prdeploy reads %s", apiVersion, APIVersion)
	}
	switch {
	case kind == "":
		c.errorf("kind", "kind is required; use %s", wantKind)
	case kind != wantKind:
		c.errorf("kind", "kind %q is not %s", kind, wantKind)
	}
}

// checkUnique reports entries of list that appear twice.
func checkUnique(c checker, path string, list []string, what string) {
	seen := map[string]bool{}
	for i, s := range list {
		if seen[s] {
			c.errorf(fmt.Sprintf("%s[%d]", path, i), "%s %q is listed twice", what, s)
		}
		seen[s] = true
	}
}

func (p *Plan) serviceNames() []string {
	names := make([]string, 0, len(p.Spec.Services))
	for _, s := range p.Spec.Services {
		names = append(names, s.Name)
	}
	return names
}

func (p *Plan) checkServices(c checker) {
	svcs := p.Spec.Services
	if len(svcs) == 0 {
		if c.reported("spec.services") {
			return
		}
		c.errorf("spec.services", "at least one service is required, e.g. services: [{name: ingest, tag: \"4.2.0\"}]")
		return
	}
	known := p.serviceNames()
	sortedKnown := slices.Clone(known)
	slices.Sort(sortedKnown)
	seen := map[string]bool{}
	for i, s := range svcs {
		path := fmt.Sprintf("spec.services[%d]", i)
		switch {
		case s.Name == "":
			c.errorf(path, "service name is required")
		case seen[s.Name]:
			c.errorf(path+".name", "service %q is listed twice; list each service once", s.Name)
		}
		seen[s.Name] = true
		switch {
		case s.Image == "" && s.Tag == "":
			c.errorf(path, "service %q needs an image (registry/name:tag) or a tag", s.Name)
		case s.Image != "" && s.Tag != "":
			c.errorf(path+".tag", "set either image or tag, not both")
		case s.Image != "":
			if _, err := ParseImage(s.Image); err != nil {
				c.errorf(path+".image", "%v", err)
			}
		default:
			if !validTag(s.Tag) {
				c.errorf(path+".tag", "invalid image tag %q; tags are up to 128 letters, digits, '_', '.' and '-'", s.Tag)
			} else if strings.EqualFold(s.Tag, "latest") {
				c.errorf(path+".tag", "the tag \"latest\" is not a version; pin a tag")
			}
		}
		for j, a := range s.After {
			ap := fmt.Sprintf("%s.after[%d]", path, j)
			switch {
			case a == s.Name:
				c.errorf(ap, "service %q cannot come after itself", a)
			case !slices.Contains(known, a):
				msg := fmt.Sprintf("unknown service %q; known: %s", a, quoteList(sortedKnown))
				if m := closest(a, sortedKnown); m != "" {
					msg = fmt.Sprintf("unknown service %q (did you mean %q?); known: %s", a, m, quoteList(sortedKnown))
				}
				c.errorf(ap, "%s", msg)
			}
		}
		checkUnique(c, path+".after", s.After, "service")
	}
	if cycle := findCycle(svcs); cycle != nil {
		first := slices.IndexFunc(svcs, func(s ServiceChange) bool { return s.Name == cycle[0] })
		c.errorf(fmt.Sprintf("spec.services[%d].after", first), "services depend on each other in a cycle: %s; remove one of these after: edges", strings.Join(cycle, " → "))
	}
}

// findCycle returns one cycle in the after-graph as a closed walk
// ("a → b → a"), starting from the service listed first, or nil.
func findCycle(svcs []ServiceChange) []string {
	after := map[string][]string{}
	for _, s := range svcs {
		after[s.Name] = append(after[s.Name], s.After...)
	}
	const (
		unvisited = iota
		onStack
		done
	)
	state := map[string]int{}
	var stack []string
	var visit func(n string) []string
	visit = func(n string) []string {
		state[n] = onStack
		stack = append(stack, n)
		for _, m := range after[n] {
			if _, ok := after[m]; !ok || m == n {
				continue // unknown or self edges are reported elsewhere
			}
			switch state[m] {
			case onStack:
				i := slices.Index(stack, m)
				return append(slices.Clone(stack[i:]), m)
			case unvisited:
				if c := visit(m); c != nil {
					return c
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[n] = done
		return nil
	}
	for _, s := range svcs {
		if state[s.Name] == unvisited {
			if c := visit(s.Name); c != nil {
				return c
			}
		}
	}
	return nil
}

func (p *Plan) checkTenants(c checker) {
	t := p.Spec.Tenants
	if len(t.Names) == 0 && t.Selector == nil {
		c.errorf("spec.tenants", "select tenants with names, a selector, or both")
	}
	checkUnique(c, "spec.tenants.names", t.Names, "tenant")
	checkUnique(c, "spec.tenants.exclude", t.Exclude, "tenant")
	if t.Selector != nil {
		checkSelector(c, "spec.tenants.selector", t.Selector)
	}
}

func checkSelector(c checker, path string, s *LabelSelector) {
	if len(s.MatchLabels) == 0 && len(s.MatchExpressions) == 0 {
		c.errorf(path, "selector is empty; add matchLabels or matchExpressions (an empty selector would match every tenant)")
	}
	for k := range s.MatchLabels {
		if !labelKeyRE.MatchString(k) {
			c.errorf(path+".matchLabels."+k, "invalid label key %q", k)
		}
	}
	for i, e := range s.MatchExpressions {
		ep := fmt.Sprintf("%s.matchExpressions[%d]", path, i)
		if !labelKeyRE.MatchString(e.Key) {
			c.errorf(ep+".key", "invalid label key %q", e.Key)
		}
		switch e.Operator {
		case "In", "NotIn":
			if len(e.Values) == 0 {
				c.errorf(ep+".values", "operator %s needs at least one value", e.Operator)
			}
		case "Exists", "DoesNotExist":
			if len(e.Values) > 0 {
				c.errorf(ep+".values", "operator %s takes no values", e.Operator)
			}
		default:
			c.errorf(ep+".operator", "unknown operator %q; use In, NotIn, Exists or DoesNotExist", e.Operator)
		}
	}
}

func (p *Plan) checkRollout(c checker) {
	r := p.Spec.Rollout
	if r.Canary != nil {
		if len(r.Canary.Tenants) == 0 {
			c.errorf("spec.rollout.canary.tenants", "canary needs at least one tenant; remove canary to go without")
		}
		checkUnique(c, "spec.rollout.canary.tenants", r.Canary.Tenants, "tenant")
	}
	if len(r.Waves) > 0 && c.has("spec.rollout.batchSize") {
		c.errorf("spec.rollout.batchSize", "set either waves or batchSize, not both")
	}
	if c.has("spec.rollout.batchSize") && r.BatchSize < 1 && !c.reported("spec.rollout.batchSize") {
		c.errorf("spec.rollout.batchSize", "batchSize must be at least 1, got %d", r.BatchSize)
	}
	if c.has("spec.rollout.maxParallel") && r.MaxParallel < 1 && !c.reported("spec.rollout.maxParallel") {
		c.errorf("spec.rollout.maxParallel", "maxParallel must be at least 1, got %d", r.MaxParallel)
	}
	waveNames := map[string]bool{}
	inWave := map[string]string{}
	for i, w := range r.Waves {
		wp := fmt.Sprintf("spec.rollout.waves[%d]", i)
		switch {
		case w.Name == "":
			c.errorf(wp, "wave name is required")
		case !dnsLabelRE.MatchString(w.Name):
			c.errorf(wp+".name", "wave name %q must be lower-case letters, digits and '-'", w.Name)
		case w.Name == "canary":
			c.errorf(wp+".name", "the name \"canary\" is reserved for rollout.canary")
		case waveNames[w.Name]:
			c.errorf(wp+".name", "wave %q is defined twice", w.Name)
		}
		waveNames[w.Name] = true
		if len(w.Tenants) == 0 {
			c.errorf(wp+".tenants", "wave %q has no tenants", w.Name)
		}
		for j, t := range w.Tenants {
			if prev, ok := inWave[t]; ok {
				c.errorf(fmt.Sprintf("%s.tenants[%d]", wp, j), "tenant %q is already in wave %q; a tenant belongs to one wave", t, prev)
				continue
			}
			inWave[t] = w.Name
		}
	}
	switch r.Approval {
	case "", ApprovalNone, ApprovalEveryWave:
	case ApprovalAfterCanary:
		if r.Canary == nil {
			c.errorf("spec.rollout.approval", "approval: after-canary needs a canary; add rollout.canary or use every-wave")
		}
	default:
		c.errorf("spec.rollout.approval", "unknown approval %q; use none, after-canary or every-wave", r.Approval)
	}
}

func (p *Plan) checkChecks(c checker) {
	ch := p.Spec.Checks
	if ch == nil {
		return
	}
	if c.has("spec.checks.interval") && ch.Interval.D() < 1e9 && !c.reported("spec.checks.interval") {
		c.errorf("spec.checks.interval", "interval must be at least 1s, got %s", ch.Interval)
	}
	if a := ch.NoCriticalAlerts; a != nil {
		for i, m := range a.Matchers {
			mp := fmt.Sprintf("spec.checks.noCriticalAlerts.matchers[%d]", i)
			g := matcherRE.FindStringSubmatch(m)
			if g == nil {
				c.errorf(mp, "invalid matcher %q; write it like severity=\"critical\" (operators =, !=, =~, !~)", m)
				continue
			}
			for _, ph := range placeholder.FindAllString(g[3], -1) {
				if ph != "{tenant}" && ph != "{namespace}" && ph != "{cluster}" {
					c.errorf(mp, "unknown placeholder %s in matcher; use {tenant}, {namespace} or {cluster}", ph)
				}
			}
			if g[2] == "=~" || g[2] == "!~" {
				if _, err := regexp.Compile(placeholder.ReplaceAllString(g[3], "x")); err != nil {
					c.errorf(mp, "invalid regular expression in matcher %q: %v", m, err)
				}
			}
		}
	}
	if pa := ch.PodsAvailable; pa != nil && c.has("spec.checks.podsAvailable.minReadyRatio") && !c.reported("spec.checks.podsAvailable.minReadyRatio") {
		if pa.MinReadyRatio <= 0 || pa.MinReadyRatio > 1 {
			c.errorf("spec.checks.podsAvailable.minReadyRatio", "minReadyRatio must be in (0, 1], got %g", pa.MinReadyRatio)
		}
	}
}
