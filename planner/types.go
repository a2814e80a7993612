package planner

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// APIVersion is the only plan and fleet format version this planner reads.
const APIVersion = "prdeploy.dev/v1"

// Kinds of documents in a GitOps repository.
const (
	KindDeployPlan = "DeployPlan"
	KindFleet      = "Fleet"
)

// Duration is a time.Duration written in plans as "30s", "10m" or "1h30m".
type Duration time.Duration

func (d *Duration) parseScalar(s string) error {
	td, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("invalid duration %q; write it like 30s, 10m or 1h30m", s)
	}
	if td < 0 {
		return fmt.Errorf("duration %q is negative", s)
	}
	*d = Duration(td)
	return nil
}

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats the duration compactly: "10m", "1h30m", "45s".
func (d Duration) String() string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// MarshalJSON writes the duration as its string form.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads the string form written by MarshalJSON.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	return d.parseScalar(s)
}

// Fleet is fleet.yaml: the clusters, the services that can be deployed, and
// the tenants (one full stack per customer environment).
type Fleet struct {
	APIVersion string        `yaml:"apiVersion"`
	Kind       string        `yaml:"kind"`
	Clusters   []Cluster     `yaml:"clusters"`
	Services   []ServiceDef  `yaml:"services"`
	Tenants    []FleetTenant `yaml:"tenants"`
	// Boundary is what every tenant may hold, unless it says otherwise.
	Boundary *Boundary `yaml:"boundary"`
	// AllowNamespaces lists namespaces tenants may use although they are
	// refused by default: Kubernetes' own (kube-system, kube-public,
	// kube-node-lease, default) and namespaces that follow another tenant's
	// naming pattern. Listing one is an explicit decision to share it.
	AllowNamespaces []string `yaml:"allowNamespaces"`
	File            string   `yaml:"-"`
	pos             Positions
}

// Cluster is one Kubernetes cluster tenants live in.
type Cluster struct {
	Name        string `yaml:"name" json:"name"`
	Region      string `yaml:"region" json:"region,omitempty"`
	KubeContext string `yaml:"kubeContext" json:"kubeContext,omitempty"`
}

// ServiceDef declares a deployable service: its kustomize base and the image
// repository its workloads run, which a plan's `tag:` completes.
type ServiceDef struct {
	Name  string `yaml:"name"`
	Image string `yaml:"image"`
	// Path is the kustomize base, relative to the repository root.
	// Default: services/<name>.
	Path string `yaml:"path"`
}

// FleetTenant is one customer environment.
type FleetTenant struct {
	Name      string            `yaml:"name"`
	Cluster   string            `yaml:"cluster"`
	Namespace string            `yaml:"namespace"`
	Labels    map[string]string `yaml:"labels"`
	// Services limits which services run in this tenant. Empty: all of them.
	Services []string `yaml:"services"`
	// Boundary replaces the lists of the fleet's boundary that it sets.
	Boundary *Boundary `yaml:"boundary"`
}

// Plan is a deploy plan file (deploys/*.yaml) as written.
type Plan struct {
	APIVersion string       `yaml:"apiVersion"`
	Kind       string       `yaml:"kind"`
	Metadata   PlanMetadata `yaml:"metadata"`
	Spec       PlanSpec     `yaml:"spec"`
	File       string       `yaml:"-"`
	pos        Positions
	// problems are the errors ParsePlan found; Expand reports them again
	// together with its own, so one pass shows everything.
	problems ErrorList
}

// PlanMetadata names the deployment.
type PlanMetadata struct {
	// Name is the deployment id, unique in the repository.
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
}

// PlanSpec is what to deploy, where, how fast and how safely.
type PlanSpec struct {
	Clusters  []string        `yaml:"clusters"`
	Services  []ServiceChange `yaml:"services"`
	Tenants   TenantSelection `yaml:"tenants"`
	Rollout   RolloutSpec     `yaml:"rollout"`
	Checks    *CheckSpec      `yaml:"checks"`
	OnFailure FailurePolicy   `yaml:"onFailure"`
	Apply     ApplyOptions    `yaml:"apply"`
	Notify    NotifySpec      `yaml:"notify"`
}

// NotifySpec says where people follow the deployment besides the PR.
type NotifySpec struct {
	// Slack is the Slack channel of the deployment's message; empty means
	// the channel configured for the cluster.
	Slack string `yaml:"slack" json:"slack,omitempty"`
}

// ServiceChange is one service the plan deploys.
type ServiceChange struct {
	Name string `yaml:"name" json:"name"`
	// Image is a full image reference; Tag only replaces the tag of the
	// fleet's image repository for the service. Exactly one is set.
	Image string   `yaml:"image" json:"image,omitempty"`
	Tag   string   `yaml:"tag" json:"tag,omitempty"`
	After []string `yaml:"after" json:"after,omitempty"`
}

// TenantSelection picks tenants: the union of Names and Selector matches,
// minus Exclude, limited to the plan's clusters.
type TenantSelection struct {
	Names    []string       `yaml:"names"`
	Selector *LabelSelector `yaml:"selector"`
	Exclude  []string       `yaml:"exclude"`
}

// LabelSelector matches tenant labels like a Kubernetes label selector.
type LabelSelector struct {
	MatchLabels      map[string]string  `yaml:"matchLabels" json:"matchLabels,omitempty"`
	MatchExpressions []LabelRequirement `yaml:"matchExpressions" json:"matchExpressions,omitempty"`
}

// LabelRequirement is one selector expression: In, NotIn, Exists, DoesNotExist.
type LabelRequirement struct {
	Key      string   `yaml:"key" json:"key"`
	Operator string   `yaml:"operator" json:"operator"`
	Values   []string `yaml:"values" json:"values,omitempty"`
}

// Approval modes for RolloutSpec.Approval.
const (
	ApprovalNone        = "none"
	ApprovalAfterCanary = "after-canary"
	ApprovalEveryWave   = "every-wave"
)

// RolloutSpec is the shape of the rollout.
type RolloutSpec struct {
	Canary *CanarySpec `yaml:"canary"`
	// Waves lists the tenants of each wave explicitly; BatchSize cuts the
	// selection into waves of that many tenants. At most one is set; with
	// neither, all non-canary tenants form one wave.
	Waves             []WaveSpec `yaml:"waves"`
	BatchSize         int        `yaml:"batchSize"`
	MaxParallel       int        `yaml:"maxParallel"`
	PauseBetweenWaves Duration   `yaml:"pauseBetweenWaves"`
	Approval          string     `yaml:"approval"`
}

// CanarySpec names the tenants that go first.
type CanarySpec struct {
	Tenants []string `yaml:"tenants"`
}

// WaveSpec is one explicit wave.
type WaveSpec struct {
	Name            string   `yaml:"name"`
	Tenants         []string `yaml:"tenants"`
	RequireApproval bool     `yaml:"requireApproval"`
}

// CheckSpec configures the safety checks that run beside every change.
// Both checks are on unless a plan turns one off with `enabled: false`;
// a plan without a checks block gets both with their defaults.
type CheckSpec struct {
	Interval         Duration           `yaml:"interval" json:"interval"`
	Settle           Duration           `yaml:"settle" json:"settle"`
	NoCriticalAlerts *AlertCheckSpec    `yaml:"noCriticalAlerts" json:"noCriticalAlerts,omitempty"`
	PodsAvailable    *PodsAvailableSpec `yaml:"podsAvailable" json:"podsAvailable,omitempty"`
}

// AlertCheckSpec fails the tenant when Alertmanager has an active,
// unsilenced alert matching all matchers. {tenant}, {namespace} and
// {cluster} in a matcher value are replaced per tenant.
type AlertCheckSpec struct {
	// Enabled: false turns the check off; absent means on.
	Enabled  *bool    `yaml:"enabled" json:"-"`
	Matchers []string `yaml:"matchers" json:"matchers"`
}

// PodsAvailableSpec fails the tenant when fewer than MinReadyRatio of the
// desired pods of its workloads are available.
type PodsAvailableSpec struct {
	// Enabled: false turns the check off; absent means on.
	Enabled       *bool   `yaml:"enabled" json:"-"`
	MinReadyRatio float64 `yaml:"minReadyRatio" json:"minReadyRatio"`
}

// Failure actions for FailurePolicy.Action.
const (
	FailurePause    = "pause"
	FailureRollback = "rollback"
	FailureStop     = "stop"
)

// FailurePolicy says what happens when a check or a rollout fails.
type FailurePolicy struct {
	Action string `yaml:"action" json:"action"`
	// RollbackAfter is how long a paused deployment waits for a human
	// before rolling back on its own (pause only).
	RollbackAfter Duration `yaml:"rollbackAfter" json:"rollbackAfter,omitempty"`
}

// ApplyOptions tune how manifests are applied.
type ApplyOptions struct {
	// ForceConflicts takes over fields owned by another field manager.
	ForceConflicts bool `yaml:"forceConflicts" json:"forceConflicts"`
	// Timeout bounds the wait for one service's rollout.
	Timeout Duration `yaml:"timeout" json:"timeout"`
}

// Defaults applied when a plan leaves a field out.
const (
	DefaultMaxParallel   = 1
	DefaultCheckInterval = Duration(30 * time.Second)
	DefaultSettle        = Duration(2 * time.Minute)
	DefaultRollbackAfter = Duration(30 * time.Minute)
	DefaultApplyTimeout  = Duration(10 * time.Minute)
	DefaultMinReadyRatio = 1.0
)

// DefaultAlertMatchers are the noCriticalAlerts matchers used when a plan
// enables the check without matchers, or has no checks block.
var DefaultAlertMatchers = []string{`severity="critical"`, `tenant="{tenant}"`}
