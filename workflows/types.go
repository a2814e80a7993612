package workflows

import (
	"fmt"
	"time"

	"github.com/prdeploy/prdeploy/planner"
	"github.com/prdeploy/prdeploy/policies"
)

// DeployRequest is what starts an Orchestration: a small reference to a
// merged plan, never the plan or its manifests.
type DeployRequest struct {
	Repo         string `json:"repo"`
	SHA          string `json:"sha"`
	PlanPath     string `json:"planPath"`
	Cluster      string `json:"cluster"`
	DeploymentID string `json:"deploymentId"`
	PR           int    `json:"pr,omitempty"`
	PRAuthor     string `json:"prAuthor,omitempty"`
	MergedBy     string `json:"mergedBy,omitempty"`
	// PolicySHA is the commit policies are read from: the base branch
	// before the merge, so a PR cannot loosen the rules that govern its
	// own rollout. Empty means SHA.
	PolicySHA string `json:"policySha,omitempty"`
	// Facts are the PR's facts read from GitHub at merge (nil for
	// deployments started by builds before they were read).
	Facts *PRFacts `json:"facts,omitempty"`
	// Generation is the merge's place in the deploy branch's history (see
	// MergeHistory): a later merge has a larger one. The Orchestration
	// reads it once, before anything is applied, when the starter did not
	// set it. 0 is unknown (deployments started before merge order was
	// kept): such a deployment is not ordered against others.
	Generation int64 `json:"generation,omitempty"`
}

// Stamp is what a deployment records on the objects it applies (and on
// what a rollback restores): which deployment, which merge, and the
// merge's generation. The next deployment of the service reads it to
// know whether it would go back in time.
type Stamp struct {
	Deployment string `json:"deployment"`
	// Merge is the merge commit (12 hex digits).
	Merge      string `json:"merge,omitempty"`
	Generation int64  `json:"generation,omitempty"`
}

// Newer reports whether s was merged after a deployment of generation
// gen: only merges that both know their place are ordered.
func (s *Stamp) Newer(gen int64) bool {
	return s != nil && gen > 0 && s.Generation > gen
}

// PreparedDeployment is what the Prepare activity returns: the shape of the
// rollout in one cluster, with tenants left in the plan store (fetched a page
// at a time), so that histories stay small at any fleet size.
type PreparedDeployment struct {
	Deployment string `json:"deployment"`
	Cluster    string `json:"cluster"`
	// PlanRef is the stored execution plan and manifests, for Tenants.
	PlanRef           string                 `json:"planRef"`
	Waves             []WaveSummary          `json:"waves"`
	Services          []string               `json:"services"`
	MaxParallel       int                    `json:"maxParallel"`
	PauseBetweenWaves time.Duration          `json:"pauseBetweenWaves"`
	Checks            planner.CheckSpec      `json:"checks"`
	OnFailure         planner.FailurePolicy  `json:"onFailure"`
	ApplyTimeout      time.Duration          `json:"applyTimeout"`
	ForceConflicts    bool                   `json:"forceConflicts,omitempty"`
	Requirements      []policies.Requirement `json:"requirements,omitempty"`
	// ChatChannel is the plan's Slack channel (spec.notify.slack), if any.
	ChatChannel string `json:"chatChannel,omitempty"`
}

// WaveSummary is one wave without its tenants.
type WaveSummary struct {
	Name    string `json:"name"`
	Canary  bool   `json:"canary,omitempty"`
	Gate    string `json:"gate,omitempty"`
	Tenants int    `json:"tenants"`
}

// TenantsRequest asks the plan store for a page of a wave's tenants.
type TenantsRequest struct {
	PlanRef string `json:"planRef"`
	Wave    int    `json:"wave"`
	Offset  int    `json:"offset"`
	Limit   int    `json:"limit"`
}

// TenantAssignment is one tenant of a wave with what it gets.
type TenantAssignment struct {
	Tenant  string `json:"tenant"`
	Cluster string `json:"cluster"`
	// KubeContext is the cluster's kubeconfig context, when fleet.yaml
	// names one (else the context named like the cluster).
	KubeContext string `json:"kubeContext,omitempty"`
	Namespace   string `json:"namespace"`
	// Services in rollout order, with their DAG level.
	Services []ServiceTarget `json:"services"`
}

// ServiceTarget is one service in one tenant: everything an applier needs,
// by reference.
type ServiceTarget struct {
	Deployment  string `json:"deployment"`
	Cluster     string `json:"cluster"`
	KubeContext string `json:"kubeContext,omitempty"`
	Tenant      string `json:"tenant"`
	Namespace   string `json:"namespace"`
	Service     string `json:"service"`
	Image       string `json:"image"`
	Level       int    `json:"level"`
	// ManifestRef and ManifestDigest point at the rendered manifests in the
	// payload store.
	ManifestRef    string `json:"manifestRef,omitempty"`
	ManifestDigest string `json:"manifestDigest,omitempty"`
	ForceConflicts bool   `json:"forceConflicts,omitempty"`
	// Boundary is what the tenant may hold (fleet.yaml), checked again
	// before apply. Absent when it is the default boundary, and in
	// histories from before it existed: the default applies.
	Boundary *planner.Boundary `json:"boundary,omitempty"`
	// Merge and Generation place the deployment in the deploy branch's
	// history (set by DeployTenant; empty for unordered deployments). The
	// cluster stamps them on what it applies.
	Merge      string `json:"merge,omitempty"`
	Generation int64  `json:"generation,omitempty"`
}

// Stamp is what applying the target records on its objects.
func (t ServiceTarget) Stamp() Stamp {
	return Stamp{Deployment: t.Deployment, Merge: short12(t.Merge), Generation: t.Generation}
}

// Lock returns the lock that guards the target.
func (t ServiceTarget) Lock() LockKey {
	return LockKey{Cluster: t.Cluster, Tenant: t.Tenant, Service: t.Service}
}

// ApplyResult is what a server-side apply changed.
type ApplyResult struct {
	Created    int `json:"created"`
	Configured int `json:"configured"`
	Unchanged  int `json:"unchanged"`
	// Changes lists the objects created or configured, e.g.
	// "configured Deployment tenant-acme/web".
	Changes []string `json:"changes,omitempty"`
}

// SnapshotRef points at what was live before a deploy, for rollback.
type SnapshotRef struct {
	Ref    string `json:"ref,omitempty"`
	Digest string `json:"digest,omitempty"`
	// Empty is set when nothing was live (a first deploy): rollback deletes.
	Empty bool `json:"empty,omitempty"`
}

// CheckTarget is what a safety check looks at.
type CheckTarget struct {
	Deployment  string   `json:"deployment"`
	Cluster     string   `json:"cluster"`
	KubeContext string   `json:"kubeContext,omitempty"`
	Tenant      string   `json:"tenant"`
	Namespace   string   `json:"namespace"`
	Services    []string `json:"services"`
	// Matchers for noCriticalAlerts, placeholders already filled in.
	Matchers      []string `json:"matchers,omitempty"`
	MinReadyRatio float64  `json:"minReadyRatio,omitempty"`
}

// CheckResult is one probe of a safety check.
type CheckResult struct {
	OK     bool   `json:"ok"`
	Reason string `json:"reason,omitempty"`
}

// Check names.
const (
	CheckNoCriticalAlerts = "noCriticalAlerts"
	CheckPodsAvailable    = "podsAvailable"
)

// CheckFailure says which check failed and why.
type CheckFailure struct {
	Check  string    `json:"check"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// Phases of a tenant in a deployment.
const (
	TenantPending     = "pending"
	TenantLocking     = "waiting-for-lock"
	TenantDeploying   = "deploying"
	TenantSettling    = "settling"
	TenantPaused      = "paused"
	TenantRollingBack = "rolling-back"
	TenantSucceeded   = "succeeded"
	TenantFailed      = "failed"
	TenantRolledBack  = "rolled-back"
	TenantCancelled   = "cancelled"
	// TenantSuperseded: every service of the tenant was left to a
	// deployment merged after this one.
	TenantSuperseded = "superseded"
)

// Phases of a service in a tenant.
const (
	ServicePending     = "pending"
	ServiceApplying    = "applying"
	ServiceHealthy     = "healthy"
	ServiceFailed      = "failed"
	ServiceRolledBack  = "rolled-back"
	ServiceRollingBack = "rolling-back"
	// ServiceSuperseded: a deployment merged after this one has changed
	// the service in the tenant, or waits to; this one leaves it alone.
	ServiceSuperseded = "superseded"
)

// ServiceStatus is the state of one service of a tenant.
type ServiceStatus struct {
	Service string      `json:"service"`
	Phase   string      `json:"phase"`
	Applied ApplyResult `json:"applied"`
	Error   string      `json:"error,omitempty"`
	// SupersededBy is the newer deployment, when Phase is superseded.
	SupersededBy *Stamp `json:"supersededBy,omitempty"`
}

// SupersededNote says why a step was skipped, as people read it.
func SupersededNote(by *Stamp) string {
	if by == nil {
		return "superseded by a deployment merged after this one"
	}
	return fmt.Sprintf("superseded by `%s` (merged after this one)", by.Deployment)
}

// LockWait says what a tenant is waiting on.
type LockWait struct {
	Lock   string    `json:"lock"`
	Holder string    `json:"holder"`
	Since  time.Time `json:"since"`
}

// TenantInput starts a DeployTenant.
type TenantInput struct {
	Deployment   string                `json:"deployment"`
	ParentID     string                `json:"parentId"`
	Assignment   TenantAssignment      `json:"assignment"`
	Checks       planner.CheckSpec     `json:"checks"`
	OnFailure    planner.FailurePolicy `json:"onFailure"`
	ApplyTimeout time.Duration         `json:"applyTimeout"`
	// Rollback asks for the tenant's services to be restored to what was
	// live before the deployment (a /rollback of a finished tenant).
	Rollback bool `json:"rollback,omitempty"`
	// Merge and Generation place the deployment in the deploy branch's
	// history (Generation 0: not ordered).
	Merge      string `json:"merge,omitempty"`
	Generation int64  `json:"generation,omitempty"`
}

// TenantResult is how a DeployTenant ended.
type TenantResult struct {
	Tenant   string          `json:"tenant"`
	Phase    string          `json:"phase"`
	Services []ServiceStatus `json:"services"`
	Failure  string          `json:"failure,omitempty"`
}

// TenantEvent is what a DeployTenant tells its Orchestration while it runs.
type TenantEvent struct {
	Tenant string `json:"tenant"`
	// Kind: "lock-wait", "lock-acquired", "paused".
	Kind     string    `json:"kind"`
	LockWait *LockWait `json:"lockWait,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	At       time.Time `json:"at"`
}

// Tenant event kinds.
const (
	EventLockWait     = "lock-wait"
	EventLockAcquired = "lock-acquired"
	EventPaused       = "paused"
)

// TenantDecision is a human decision about a tenant paused on failure.
type TenantDecision struct {
	// Action: "resume" (retry the failed work) or "rollback".
	Action string `json:"action"`
	By     string `json:"by,omitempty"`
}

// Decision actions.
const (
	DecisionResume   = "resume"
	DecisionRollback = "rollback"
	// DecisionHold keeps a tenant paused without its automatic rollback,
	// while people investigate; resume or rollback end it.
	DecisionHold = "hold"
)

// ServiceInput starts a DeployService.
type ServiceInput struct {
	Target       ServiceTarget `json:"target"`
	ApplyTimeout time.Duration `json:"applyTimeout"`
	// Snapshot, when set, is what was live before this deployment first
	// touched the service (a retry must not snapshot its own half-deploy).
	Snapshot *SnapshotRef `json:"snapshot,omitempty"`
}

// ServiceResult is how a DeployService ended. A failed apply or rollout is
// a result with Error, not a failed workflow, so that the snapshot taken
// before it reaches the tenant (a retry must restore the same one).
type ServiceResult struct {
	Applied  ApplyResult `json:"applied"`
	Snapshot SnapshotRef `json:"snapshot"`
	Error    string      `json:"error,omitempty"`
	// Superseded: nothing was applied, a newer merge's deployment had
	// changed the service already.
	Superseded *Stamp `json:"superseded,omitempty"`
}
