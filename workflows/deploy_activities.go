// Deploy room: the activities of Orchestration, DeployTenant and
// DeployService, and the ports they declare.

package workflows

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// PlanSource prepares a merged plan for one cluster (checkout, planner,
// policies, render, store) and pages through its tenants.
type PlanSource interface {
	Prepare(ctx context.Context, req DeployRequest) (PreparedDeployment, error)
	Tenants(ctx context.Context, req TenantsRequest) ([]TenantAssignment, error)
}

// Cluster applies and rolls back services in tenants.
type Cluster interface {
	// Snapshot records what is live now, for a later rollback. It is
	// idempotent per deployment and target: the first snapshot taken is
	// kept and returned again, so a retry after a partial apply never
	// records the deployment's own changes as "what was live".
	Snapshot(ctx context.Context, t ServiceTarget) (SnapshotRef, error)
	// Apply applies the target's manifests (server-side apply, idempotent).
	Apply(ctx context.Context, t ServiceTarget) (ApplyResult, error)
	// WaitRollout returns when the target's workloads are rolled out, and
	// calls progress while it waits.
	WaitRollout(ctx context.Context, t ServiceTarget, progress func(detail string)) error
	// Rollback restores the snapshot (nil: the one this deployment took) and
	// waits until it is healthy, calling progress while it waits.
	Rollback(ctx context.Context, t ServiceTarget, snapshot *SnapshotRef, progress func(detail string)) error
	// Restart restarts the target's workloads (a new pod template revision).
	Restart(ctx context.Context, t ServiceTarget) error
	// LiveStamp returns the newest stamp (by generation) on the target's
	// live objects: what the last deployment to apply or restore them
	// recorded, or, when a rollback deleted them all, what that rollback
	// recorded instead. Nil when nothing is stamped.
	LiveStamp(ctx context.Context, t ServiceTarget) (*Stamp, error)
}

// Prober runs one probe of a safety check.
type Prober interface {
	Probe(ctx context.Context, check string, t CheckTarget) (CheckResult, error)
}

// Probers routes each safety check to its prober, by check name.
type Probers map[string]Prober

// Probe runs the prober of check; a check without one is a permanent error.
func (p Probers) Probe(ctx context.Context, check string, t CheckTarget) (CheckResult, error) {
	pr, ok := p[check]
	if !ok {
		return CheckResult{}, Permanent(fmt.Errorf("no prober for the check %q", check))
	}
	return pr.Probe(ctx, check, t)
}

// Directory answers who belongs to which team (it changes, so it is asked
// by an activity, never from workflow code).
type Directory interface {
	Teams(ctx context.Context, login string) ([]string, error)
}

// Prepare checks out the merged plan and prepares it for the cluster.
func (a *DeployActivities) Prepare(ctx context.Context, req DeployRequest) (PreparedDeployment, error) {
	p, err := a.Plans.Prepare(ctx, req)
	return p, classify(err)
}

// Tenants returns a page of a wave's tenants.
func (a *DeployActivities) Tenants(ctx context.Context, req TenantsRequest) ([]TenantAssignment, error) {
	t, err := a.Plans.Tenants(ctx, req)
	return t, classify(err)
}

// ApplyRequest applies one service; Snapshot is set when what was live
// before was recorded already (a retry of a failed service).
type ApplyRequest struct {
	Target   ServiceTarget `json:"target"`
	Snapshot *SnapshotRef  `json:"snapshot,omitempty"`
}

// ApplyOutcome is what was live before and what the apply changed, or,
// with Superseded, the newer deployment that had changed it already.
type ApplyOutcome struct {
	Snapshot   SnapshotRef `json:"snapshot"`
	Applied    ApplyResult `json:"applied"`
	Superseded *Stamp      `json:"superseded,omitempty"`
}

// Apply records what is live (unless already recorded), then applies the
// target's manifests. One activity for both keeps a service's history
// short; Cluster.Snapshot's idempotence keeps a retry safe. An ordered
// target whose live objects carry a newer merge's stamp is not touched:
// the outcome says who superseded it. The caller holds the service's
// lock, so nobody stamps in between.
func (a *DeployActivities) Apply(ctx context.Context, req ApplyRequest) (ApplyOutcome, error) {
	defer alive(ctx, 5*time.Second)()
	var out ApplyOutcome
	if newer, err := a.newerLive(ctx, req.Target); err != nil || newer != nil {
		out.Superseded = newer
		return out, err
	}
	if req.Snapshot != nil {
		out.Snapshot = *req.Snapshot
	} else {
		s, err := a.Cluster.Snapshot(ctx, req.Target)
		if err != nil {
			return out, classify(fmt.Errorf("recording what is live in %s/%s: %w", req.Target.Tenant, req.Target.Service, err))
		}
		out.Snapshot = s
	}
	r, err := a.Cluster.Apply(ctx, req.Target)
	out.Applied = r
	return out, classify(err)
}

// WaitRollout waits for the rollout, heartbeating its progress.
func (a *DeployActivities) WaitRollout(ctx context.Context, t ServiceTarget) error {
	return classify(a.Cluster.WaitRollout(ctx, t, func(detail string) { activity.RecordHeartbeat(ctx, detail) }))
}

// RollbackRequest restores one service.
type RollbackRequest struct {
	Target   ServiceTarget `json:"target"`
	Snapshot *SnapshotRef  `json:"snapshot,omitempty"`
}

// RollbackOutcome says whether a rollback was left to a newer merge.
type RollbackOutcome struct {
	Superseded *Stamp `json:"superseded,omitempty"`
}

// Rollback restores what was live before the deploy and waits for health;
// an ordered target that a newer merge's deployment has changed since is
// left as it is (restoring would go back in time).
func (a *DeployActivities) Rollback(ctx context.Context, req RollbackRequest) (RollbackOutcome, error) {
	if newer, err := a.newerLive(ctx, req.Target); err != nil || newer != nil {
		return RollbackOutcome{Superseded: newer}, err
	}
	return RollbackOutcome{}, classify(a.Cluster.Rollback(ctx, req.Target, req.Snapshot, func(detail string) { activity.RecordHeartbeat(ctx, detail) }))
}

// newerLive returns the stamp of a newer merge on the target's live
// objects, if any; unordered targets are never superseded.
func (a *DeployActivities) newerLive(ctx context.Context, t ServiceTarget) (*Stamp, error) {
	if t.Generation <= 0 {
		return nil, nil
	}
	s, err := a.Cluster.LiveStamp(ctx, t)
	if err != nil {
		return nil, classify(fmt.Errorf("reading what is live in %s/%s: %w", t.Tenant, t.Service, err))
	}
	if s.Newer(t.Generation) {
		return s, nil
	}
	return nil, nil
}

// WatchCheckRequest runs one safety check until it fails or is cancelled.
type WatchCheckRequest struct {
	Check    string        `json:"check"`
	Target   CheckTarget   `json:"target"`
	Interval time.Duration `json:"interval"`
}

// WatchCheck probes every interval and returns only when the check fails
// (a CheckFailure) or when it is cancelled because the work is done. It
// heartbeats every second so that cancellation reaches it quickly.
func (a *DeployActivities) WatchCheck(ctx context.Context, req WatchCheckRequest) (CheckFailure, error) {
	maxErrors := a.ProbeErrorsBeforeFailure
	if maxErrors <= 0 {
		maxErrors = 3
	}
	errorsInRow := 0
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		res, err := a.Probes.Probe(ctx, req.Check, req.Target)
		switch {
		case ctx.Err() != nil:
			return CheckFailure{}, ctx.Err()
		case err != nil:
			errorsInRow++
			if errorsInRow >= maxErrors {
				return CheckFailure{Check: req.Check, Reason: fmt.Sprintf("could not run the check %d times in a row: %v", errorsInRow, err), At: time.Now()}, nil
			}
		case !res.OK:
			return CheckFailure{Check: req.Check, Reason: res.Reason, At: time.Now()}, nil
		default:
			errorsInRow = 0
		}
		next := time.Now().Add(req.Interval)
		for time.Now().Before(next) {
			activity.RecordHeartbeat(ctx, errorsInRow)
			select {
			case <-ctx.Done():
				return CheckFailure{}, ctx.Err()
			case <-tick.C:
			}
		}
	}
}

// ApproverTeams returns the teams of an approver ("org/slug").
func (a *DeployActivities) ApproverTeams(ctx context.Context, login string) ([]string, error) {
	t, err := a.Directory.Teams(ctx, login)
	return t, classify(err)
}

// DeployActivities are the deploy room's activities (Orchestration,
// DeployTenant, DeployService): workflows call them through a nil
// *DeployActivities.
type DeployActivities struct {
	Plans     PlanSource
	Cluster   Cluster
	Probes    Prober
	Directory Directory
	// History places merges in the deploy branch's history (nil: not
	// ordered).
	History MergeHistory
	// ProbeErrorsBeforeFailure is how many probes in a row may fail to
	// run before the check itself fails (default 3).
	ProbeErrorsBeforeFailure int
}

// DeployWorkflows registers the deploy room's workflows.
func DeployWorkflows(r WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(Orchestration, workflow.RegisterOptions{Name: OrchestrationWorkflow})
	r.RegisterWorkflowWithOptions(DeployTenant, workflow.RegisterOptions{Name: DeployTenantWorkflow})
	r.RegisterWorkflowWithOptions(DeployService, workflow.RegisterOptions{Name: DeployServiceWorkflow})
}

// RegisterDeploy registers the deploy room's workflows and activities; a
// function, since a method would be registered as an activity.
func RegisterDeploy(r worker.Registry, a *DeployActivities) {
	DeployWorkflows(r)
	r.RegisterActivity(a)
}
