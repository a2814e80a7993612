package policies

import "github.com/prdeploy/prdeploy/planner"

// The types in this file mirror a policy file (policies/*.yaml) as written.
// They are decoded strictly by planner.Decode; Load checks them and turns
// them into Rules.

// KindDeployPolicy is the kind of a policy file.
const KindDeployPolicy = "DeployPolicy"

type policyFile struct {
	APIVersion string         `yaml:"apiVersion"`
	Kind       string         `yaml:"kind"`
	Metadata   policyMetadata `yaml:"metadata"`
	Rules      []ruleSpec     `yaml:"rules"`
}

type policyMetadata struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
}

type ruleSpec struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	When        string `yaml:"when"`
	// Exactly one effect is set.
	Require *requireSpec `yaml:"require"`
	Deny    *string      `yaml:"deny"`
	Freeze  *freezeSpec  `yaml:"freeze"`
	Limits  *limitsSpec  `yaml:"limits"`
	Message string       `yaml:"message"`
}

type requireSpec struct {
	Approvals    int          `yaml:"approvals"`
	From         approverSpec `yaml:"from"`
	Gates        []string     `yaml:"gates"`
	AllowAuthor  bool         `yaml:"allowAuthor"`
	AllowReviews *bool        `yaml:"allowReviews"`
	// AllowContributors and AllowMerger relax the default exclusions.
	AllowContributors bool `yaml:"allowContributors"`
	AllowMerger       bool `yaml:"allowMerger"`
}

type approverSpec struct {
	Teams []string `yaml:"teams"`
	Users []string `yaml:"users"`
}

type freezeSpec struct {
	From     string `yaml:"from"`
	Until    string `yaml:"until"`
	TimeZone string `yaml:"timeZone"`
}

type limitsSpec struct {
	CanaryRequiredAbove  int              `yaml:"canaryRequiredAbove"`
	MaxTenants           int              `yaml:"maxTenants"`
	MaxTenantsPerWave    int              `yaml:"maxTenantsPerWave"`
	MaxParallel          int              `yaml:"maxParallel"`
	MinPauseBetweenWaves planner.Duration `yaml:"minPauseBetweenWaves"`
}
