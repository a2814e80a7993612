package workflows

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
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

// LockClient reaches Lock workflows from activities: a request is a
// signal-with-start, since workflow code cannot start a workflow it does
// not own.
type LockClient interface {
	RequestLock(ctx context.Context, key LockKey, req LockRequest) error
}

// WorkflowWatcher tells when a workflow has closed (completed, failed,
// terminated, timed out), so a Lock can free a lock whose holder is gone.
type WorkflowWatcher interface {
	WaitForClose(ctx context.Context, workflowID, runID string) error
}

// Activities are prdeploy's activities; workflows call them through a nil
// *Activities, and the worker registers a filled one.
type Activities struct {
	Plans     PlanSource
	Cluster   Cluster
	Probes    Prober
	Directory Directory
	Locks     LockClient
	Watcher   WorkflowWatcher
	// PlanChecks checks pull requests' plans (PlanPR); Merges lists the
	// plans of a merge (MergedPR).
	PlanChecks PlanPRChecker
	Merges     MergeReader
	// PullRequests reads a merged PR's facts from GitHub (MergedPR).
	PullRequests PullRequests
	// History places merges in the deploy branch's history, so that an
	// older merge never overwrites a newer one (nil: not ordered).
	History MergeHistory
	// CheckRuns, Comments and Statuses serve the reporter (Report) and PR
	// replies.
	CheckRuns CheckRuns
	Comments  PRComments
	Statuses  StatusSource
	// Chat, when set, also reports deployments to chat channels:
	// ChatChannels maps a cluster to its channel ("*" for any other).
	Chat         Chat
	ChatChannels map[string]string
	// Deployments and Permissions serve people's commands (PRCommands).
	Deployments Deployments
	Permissions Permissions
	// Janitor and Clock serve payload retention (CleanupPayloads).
	Janitor PayloadJanitor
	Clock   DeploymentClock
	// Links gives the reports' links (status page, workflow history); nil
	// means only ReportInput.StatusURL.
	Links Linker
	// ProbeErrorsBeforeFailure is how many probes in a row may fail to
	// run before the check itself fails (default 3).
	ProbeErrorsBeforeFailure int
}

// Linker makes the links of a deployment's reports, where the deployment's
// status page and workflow history are served.
type Linker interface {
	ReportLinks(ref DeploymentRef) ReportLinks
}

// PermanentError marks an adapter error that retrying cannot fix (bad
// input, forbidden, a missing kind): the activity fails without retries.
type PermanentError struct{ Err error }

func (e PermanentError) Error() string { return e.Err.Error() }
func (e PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err so that the activity fails without retries.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return PermanentError{Err: err}
}

// classify turns a PermanentError into a non-retryable application error.
func classify(err error) error {
	var p PermanentError
	if errors.As(err, &p) {
		return temporal.NewNonRetryableApplicationError(p.Error(), "Permanent", nil)
	}
	return err
}

// Prepare checks out the merged plan and prepares it for the cluster.
func (a *Activities) Prepare(ctx context.Context, req DeployRequest) (PreparedDeployment, error) {
	p, err := a.Plans.Prepare(ctx, req)
	return p, classify(err)
}

// Tenants returns a page of a wave's tenants.
func (a *Activities) Tenants(ctx context.Context, req TenantsRequest) ([]TenantAssignment, error) {
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
func (a *Activities) Apply(ctx context.Context, req ApplyRequest) (ApplyOutcome, error) {
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

// alive heartbeats every interval until the returned func is called: an
// activity with nothing to report but a heartbeat timeout, so that a
// worker that dies in the middle of it is noticed within that timeout
// rather than its start-to-close timeout.
func alive(ctx context.Context, every time.Duration) func() {
	if !activity.IsActivity(ctx) {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx)
			}
		}
	}()
	return func() { close(done) }
}

// WaitRollout waits for the rollout, heartbeating its progress.
func (a *Activities) WaitRollout(ctx context.Context, t ServiceTarget) error {
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
func (a *Activities) Rollback(ctx context.Context, req RollbackRequest) (RollbackOutcome, error) {
	if newer, err := a.newerLive(ctx, req.Target); err != nil || newer != nil {
		return RollbackOutcome{Superseded: newer}, err
	}
	return RollbackOutcome{}, classify(a.Cluster.Rollback(ctx, req.Target, req.Snapshot, func(detail string) { activity.RecordHeartbeat(ctx, detail) }))
}

// newerLive returns the stamp of a newer merge on the target's live
// objects, if any; unordered targets are never superseded.
func (a *Activities) newerLive(ctx context.Context, t ServiceTarget) (*Stamp, error) {
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

// Restart restarts a service's workloads and waits for the rollout.
func (a *Activities) Restart(ctx context.Context, t ServiceTarget) error {
	if err := a.Cluster.Restart(ctx, t); err != nil {
		return classify(err)
	}
	return a.WaitRollout(ctx, t)
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
func (a *Activities) WatchCheck(ctx context.Context, req WatchCheckRequest) (CheckFailure, error) {
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
func (a *Activities) ApproverTeams(ctx context.Context, login string) ([]string, error) {
	t, err := a.Directory.Teams(ctx, login)
	return t, classify(err)
}

// RequestLock asks the Lock workflow of key for the lock (signal-with-start).
func (a *Activities) RequestLock(ctx context.Context, key LockKey, req LockRequest) error {
	return classify(a.Locks.RequestLock(ctx, key, req))
}

// WatchHolderRequest names a lock holder to watch.
type WatchHolderRequest struct {
	WorkflowID string `json:"workflowId"`
	RunID      string `json:"runId"`
}

// WatchHolder returns when the workflow has closed, heartbeating meanwhile.
func (a *Activities) WatchHolder(ctx context.Context, req WatchHolderRequest) error {
	done := make(chan error, 1)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { done <- a.Watcher.WaitForClose(wctx, req.WorkflowID, req.RunID) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			return classify(err)
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
			activity.RecordHeartbeat(ctx, nil)
		}
	}
}
