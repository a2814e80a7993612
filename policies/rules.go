package policies

import (
	"time"

	"github.com/google/cel-go/cel"
)

// Revision names the commit policies were read from: always the base of the
// pull request being judged, never the pull request itself, so that a PR
// cannot loosen the rules it is judged by.
type Revision struct {
	// Ref is the branch, e.g. "main".
	Ref string `json:"ref"`
	// SHA is the commit the policy files were read at. Required.
	SHA string `json:"sha"`
}

// Short returns the ref and abbreviated SHA, e.g. "main@1a2b3c4".
func (r Revision) Short() string {
	sha := r.SHA
	if len(sha) == 40 { // a git SHA; other revisions ("working-tree") stay whole
		sha = sha[:7]
	}
	if r.Ref == "" {
		return sha
	}
	return r.Ref + "@" + sha
}

// Effects a rule can have. A rule has exactly one.
const (
	EffectRequire = "require"
	EffectDeny    = "deny"
	EffectFreeze  = "freeze"
	EffectLimits  = "limits"
	// EffectError is recorded for a rule whose condition could not be
	// evaluated. It denies: policies fail closed.
	EffectError = "error"
)

// RuleSet is every rule of the policy files at one revision, checked and
// compiled. It is safe for concurrent use.
type RuleSet struct {
	Revision Revision
	// Files are the policy files read, sorted.
	Files []string
	// Rules in file order.
	Rules []Rule
}

// Rule is one checked rule.
type Rule struct {
	Name        string
	Description string
	// Policy is the metadata.name of the file the rule is in.
	Policy string
	File   string
	Line   int
	// When is the CEL condition as written; empty means always.
	When string
	// Effect is one of EffectRequire, EffectDeny, EffectFreeze, EffectLimits;
	// the matching field below is set.
	Effect  string
	Require *Require
	Deny    string
	Freeze  *Freeze
	Limits  *Limits
	// Message, for freeze, limits and require rules, is shown to people when
	// the rule fires.
	Message string

	when cel.Program
	// index is the rule's place in its file's rules list.
	index int
}

// Require asks for approvals before the rollout passes a gate.
type Require struct {
	Approvals int
	// Teams ("org/slug") and Users (logins) whose members may approve.
	Teams, Users []string
	// Gates are gate ids ("after-canary", "before-<wave>") or ["*"] for
	// every gate of the plan.
	Gates        []string
	AllowAuthor  bool
	AllowReviews bool
	// AllowContributors and AllowMerger relax the default exclusion of the
	// PR's commit authors, co-authors and pushers, and of its merger.
	AllowContributors bool
	AllowMerger       bool
}

// AllGates is the Require.Gates entry that stands for every gate of a plan.
const AllGates = "*"

// Freeze forbids deploys in [From, Until).
type Freeze struct {
	From, Until time.Time
	// Zone is the time zone the times were written in.
	Zone *time.Location
}

// Limits bound the size and speed of a rollout. Zero means no limit.
type Limits struct {
	// CanaryRequiredAbove: a plan with more tenants needs a canary wave.
	CanaryRequiredAbove int
	// MaxTenants bounds the tenants of the whole plan.
	MaxTenants int
	// MaxTenantsPerWave bounds every wave, the canary included.
	MaxTenantsPerWave int
	// MaxParallel bounds rollout.maxParallel.
	MaxParallel int
	// MinPauseBetweenWaves is the shortest rollout.pauseBetweenWaves
	// allowed for plans with more than one wave.
	MinPauseBetweenWaves time.Duration
}
