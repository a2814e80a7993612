package policies

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/prdeploy/prdeploy/planner"
)

// PRFacts are the facts about the pull request that conditions see as `pr`.
type PRFacts struct {
	Number       int      `json:"number" cel:"number"`
	Author       string   `json:"author" cel:"author"`
	Labels       []string `json:"labels,omitempty" cel:"labels"`
	ChangedFiles []string `json:"changedFiles,omitempty" cel:"changedFiles"`
	BaseRef      string   `json:"baseRef" cel:"baseRef"`
	HeadSHA      string   `json:"headSHA" cel:"headSHA"`
}

// Actor is who asks for the decision, as conditions see it as `actor`:
// the PR author when a PR is planned, the person approving or merging
// otherwise.
type Actor struct {
	Login string `json:"login" cel:"login"`
	// Teams the actor belongs to, as "org/slug".
	Teams []string `json:"teams,omitempty" cel:"teams"`
}

// Input is everything a decision depends on. Now is passed in: the
// evaluation never reads the clock.
type Input struct {
	Plan  *planner.ExecutionPlan
	PR    PRFacts
	Actor Actor
	Now   time.Time
}

// Verdict is the outcome of a decision.
type Verdict string

// Verdicts, from least to most restrictive.
const (
	VerdictAllow         Verdict = "allow"
	VerdictNeedsApproval Verdict = "needs-approval"
	VerdictDeny          Verdict = "deny"
)

// Decision is what the policies say about one plan in one pull request.
type Decision struct {
	Verdict Verdict `json:"verdict"`
	// Revision the rules were read from.
	Revision Revision `json:"revision"`
	// Fired lists every rule that fired, in file order, and why.
	Fired []Firing `json:"fired,omitempty"`
	// Denials are the reasons the deploy is denied, for people.
	Denials []string `json:"denials,omitempty"`
	// Requirements are the approvals the rules ask for, one per rule and
	// gate, in rollout order of the gates.
	Requirements []Requirement `json:"requirements,omitempty"`
	// Gates are the plan's gates in rollout order. A gate no requirement
	// names still waits for one approval (see Tally).
	Gates []string `json:"gates,omitempty"`
}

// Firing records that a rule applied, and why.
type Firing struct {
	Rule   string `json:"rule"`
	File   string `json:"file"`
	Line   int    `json:"line"`
	Effect string `json:"effect"`
	Reason string `json:"reason"`
	// When is the rule's condition, when it has one.
	When string `json:"when,omitempty"`
}

// Requirement asks for approvals at one gate.
type Requirement struct {
	// Rule is the rule that asks; empty for DefaultRequirement.
	Rule      string `json:"rule,omitempty"`
	Gate      string `json:"gate"`
	Approvals int    `json:"approvals"`
	// Teams ("org/slug") and Users whose members may approve. Both empty
	// means anyone the caller accepted as an approver (write access).
	Teams        []string `json:"teams,omitempty"`
	Users        []string `json:"users,omitempty"`
	AllowAuthor  bool     `json:"allowAuthor,omitempty"`
	AllowReviews bool     `json:"allowReviews,omitempty"`
	// AllowContributors lets people who wrote, co-wrote or pushed a
	// commit of the PR approve; AllowMerger lets whoever merged it.
	AllowContributors bool `json:"allowContributors,omitempty"`
	AllowMerger       bool `json:"allowMerger,omitempty"`
}

// Evaluate applies every rule to the input. Rules whose condition fails to
// evaluate deny (fail closed). The error is only for misuse: a nil rule
// set, a nil plan or a zero time.
func (s *RuleSet) Evaluate(in Input) (Decision, error) {
	switch {
	case s == nil:
		return Decision{}, errors.New("policies: Evaluate on a nil RuleSet; load the rules with Load")
	case in.Plan == nil:
		return Decision{}, errors.New("policies: Evaluate needs the execution plan")
	case in.Now.IsZero():
		return Decision{}, errors.New("policies: Evaluate needs the evaluation time (Input.Now)")
	}
	e := evaluation{
		in:   in,
		d:    Decision{Revision: s.Revision, Gates: gateIDs(in.Plan)},
		vars: activation(in, factsOf(in.Plan)),
	}
	for i := range s.Rules {
		e.rule(&s.Rules[i])
	}
	d := e.d
	slices.SortStableFunc(d.Requirements, func(a, b Requirement) int {
		return slices.Index(d.Gates, a.Gate) - slices.Index(d.Gates, b.Gate)
	})
	switch {
	case len(d.Denials) > 0:
		d.Verdict = VerdictDeny
	case len(d.Requirements) > 0:
		d.Verdict = VerdictNeedsApproval
	default:
		d.Verdict = VerdictAllow
	}
	return d, nil
}

type evaluation struct {
	in   Input
	d    Decision
	vars map[string]any
}

func (e *evaluation) fire(r *Rule, effect, reason string) {
	e.d.Fired = append(e.d.Fired, Firing{Rule: r.Name, File: r.File, Line: r.Line, Effect: effect, Reason: reason, When: r.When})
}

func (e *evaluation) deny(r *Rule, effect, reason, denial string) {
	e.fire(r, effect, reason)
	e.d.Denials = append(e.d.Denials, denial)
}

// failed records a rule that could not be evaluated: it denies.
func (e *evaluation) failed(r *Rule, err string) {
	e.deny(r, EffectError, "could not be evaluated: "+err,
		fmt.Sprintf("rule %s could not be evaluated: %s; no deploy is allowed until the rule is fixed", r.Name, err))
}

func (e *evaluation) rule(r *Rule) {
	if r.When != "" {
		prg := r.when
		if prg == nil { // a Rule built without Load
			var msgs []string
			if prg, msgs = compileWhen(r.When); len(msgs) > 0 {
				e.failed(r, strings.Join(msgs, "; "))
				return
			}
		}
		ok, err := evalWhen(prg, e.vars)
		if err != nil {
			e.failed(r, err.Error())
			return
		}
		if !ok {
			return
		}
	}
	switch {
	case r.Effect == EffectRequire && r.Require != nil:
		e.require(r)
	case r.Effect == EffectDeny && r.Deny != "":
		e.deny(r, EffectDeny, r.Deny, fmt.Sprintf("%s (rule %s)", r.Deny, r.Name))
	case r.Effect == EffectFreeze && r.Freeze != nil:
		e.freeze(r)
	case r.Effect == EffectLimits && r.Limits != nil:
		e.limits(r)
	default:
		e.failed(r, fmt.Sprintf("effect %q is incomplete or unknown", r.Effect))
	}
}

func (e *evaluation) require(r *Rule) {
	q := r.Require
	base := Requirement{Rule: r.Name, Approvals: max(q.Approvals, 1), Teams: slices.Clone(q.Teams), Users: slices.Clone(q.Users), AllowAuthor: q.AllowAuthor, AllowReviews: q.AllowReviews,
		AllowContributors: q.AllowContributors, AllowMerger: q.AllowMerger}
	wants := fmt.Sprintf("%s from %s", plural(base.Approvals, "approval"), base.who())
	gates := q.Gates
	if len(gates) == 0 || slices.Contains(gates, AllGates) {
		if len(e.d.Gates) == 0 {
			msg := fmt.Sprintf("rule %s requires %s but the plan has no approval gate; %s", r.Name, wants, e.noGateHint())
			e.deny(r, EffectRequire, "the plan has no approval gate", msg)
			return
		}
		gates = e.d.Gates
	}
	var have, missing []string
	for _, g := range gates {
		if slices.Contains(e.d.Gates, g) {
			have = append(have, g)
		} else {
			missing = append(missing, g)
		}
	}
	if len(missing) > 0 {
		for _, g := range missing {
			e.d.Denials = append(e.d.Denials, fmt.Sprintf("rule %s requires approval at %s but the plan has no such gate; %s", r.Name, g, e.gateHint(g)))
		}
		e.fire(r, EffectRequire, "the plan lacks gate "+strings.Join(missing, ", "))
		return
	}
	for _, g := range have {
		req := base
		req.Gate = g
		req.Teams, req.Users = slices.Clone(base.Teams), slices.Clone(base.Users)
		e.d.Requirements = append(e.d.Requirements, req)
	}
	reason := fmt.Sprintf("%s at %s", wants, strings.Join(have, ", "))
	if r.Message != "" {
		reason = r.Message + ": " + reason
	}
	e.fire(r, EffectRequire, reason)
}

// noGateHint tells how to give a plan without gates one.
func (e *evaluation) noGateHint() string {
	p := e.in.Plan
	if len(p.Waves) > 0 && p.Waves[0].Canary {
		return "add rollout.approval: after-canary so that the rollout waits for approval"
	}
	return "add a canary (rollout.canary.tenants) with rollout.approval: after-canary, or requireApproval: true on a wave, so that the rollout waits for approval"
}

// gateHint tells how to add the named gate to the plan.
func (e *evaluation) gateHint(gate string) string {
	p := e.in.Plan
	if gate == planner.GateAfterCanary {
		if len(p.Waves) > 0 && p.Waves[0].Canary {
			return "add rollout.approval: after-canary"
		}
		return "add a canary (rollout.canary.tenants) and rollout.approval: after-canary"
	}
	wave := strings.TrimPrefix(gate, planner.GateBefore(""))
	if slices.ContainsFunc(p.Waves, func(w planner.Wave) bool { return w.Name == wave }) {
		return fmt.Sprintf("add requireApproval: true to wave %s, or rollout.approval: every-wave", wave)
	}
	return fmt.Sprintf("the plan has no wave %s to gate; give it a wave %s with requireApproval: true, or narrow the rule's when so that it does not apply to this plan", wave, wave)
}

func (e *evaluation) freeze(r *Rule) {
	f := r.Freeze
	now := e.in.Now
	if now.Before(f.From) || !now.Before(f.Until) {
		return
	}
	msg := r.Message
	if msg == "" {
		msg = "Deploys are frozen"
	}
	e.deny(r, EffectFreeze,
		fmt.Sprintf("frozen from %s until %s", displayTime(f.From), displayTime(f.Until)),
		fmt.Sprintf("%s (rule %s; the freeze ends %s)", msg, r.Name, displayTime(f.Until)))
}

func (e *evaluation) limits(r *Rule) {
	l, p := r.Limits, e.in.Plan
	var v []string
	n := p.TenantCount()
	if l.MaxTenants > 0 && n > l.MaxTenants {
		v = append(v, fmt.Sprintf("the plan deploys to %d tenants, more than the %d one plan may deploy to; split it into several plans", n, l.MaxTenants))
	}
	if l.MaxTenantsPerWave > 0 {
		for _, w := range p.Waves {
			if len(w.Tenants) > l.MaxTenantsPerWave {
				v = append(v, fmt.Sprintf("wave %s has %d tenants, more than the %d allowed per wave; use rollout.batchSize: %d or split the wave", w.Name, len(w.Tenants), l.MaxTenantsPerWave, l.MaxTenantsPerWave))
			}
		}
	}
	if l.CanaryRequiredAbove > 0 && n > l.CanaryRequiredAbove && !slices.ContainsFunc(p.Waves, func(w planner.Wave) bool { return w.Canary && len(w.Tenants) > 0 }) {
		v = append(v, fmt.Sprintf("the plan deploys to %d tenants without a canary; plans with more than %d tenants need one: add rollout.canary.tenants", n, l.CanaryRequiredAbove))
	}
	if l.MaxParallel > 0 && p.MaxParallel > l.MaxParallel {
		v = append(v, fmt.Sprintf("rollout.maxParallel is %d, more than the %d allowed; lower it", p.MaxParallel, l.MaxParallel))
	}
	if l.MinPauseBetweenWaves > 0 && len(p.Waves) > 1 && p.PauseBetweenWaves.D() < l.MinPauseBetweenWaves {
		min := planner.Duration(l.MinPauseBetweenWaves)
		v = append(v, fmt.Sprintf("rollout.pauseBetweenWaves is %s, shorter than the %s required between waves; set rollout.pauseBetweenWaves: %s", p.PauseBetweenWaves, min, min))
	}
	if len(v) == 0 {
		return
	}
	reason := strings.Join(v, "; ")
	if r.Message != "" {
		reason = r.Message + ": " + reason
	}
	e.fire(r, EffectLimits, reason)
	for _, s := range v {
		msg := s
		if r.Message != "" {
			msg = r.Message + ": " + s
		}
		e.d.Denials = append(e.d.Denials, fmt.Sprintf("%s (rule %s)", msg, r.Name))
	}
}

// LoadFailed is the decision when the policies of the base revision could
// not be loaded: no deploy is allowed until they are fixed.
func LoadFailed(rev Revision, err error) Decision {
	d := Decision{Verdict: VerdictDeny, Revision: rev}
	where := "the base branch"
	if rev.Ref != "" {
		where = rev.Ref
	}
	at := ""
	if rev.SHA != "" {
		at = " at " + rev.Short()
	}
	lead := fmt.Sprintf("the policies%s could not be loaded, so no deploy is allowed until they are fixed on %s", at, where)
	var list planner.ErrorList
	if errors.As(err, &list) && len(list) > 0 {
		d.Denials = append(d.Denials, lead)
		for _, e := range list {
			d.Denials = append(d.Denials, "policy error: "+e.Error())
		}
		return d
	}
	d.Denials = append(d.Denials, fmt.Sprintf("%s: %v", lead, err))
	return d
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
