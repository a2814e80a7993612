package workflows

import (
	"errors"
	"fmt"
	"slices"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/prdeploy/prdeploy/planner"
)

// TenantStatus is what a DeployTenant's status query returns.
type TenantStatus struct {
	Tenant   string          `json:"tenant"`
	Phase    string          `json:"phase"`
	Services []ServiceStatus `json:"services"`
	LockWait *LockWait       `json:"lockWait,omitempty"`
	Failure  string          `json:"failure,omitempty"`
}

// DeployTenant deploys the plan's services to one tenant: it takes the
// locks of every service it touches (sorted, so no deadlocks), runs
// DeployService children level by level of the service DAG (parallel inside
// a level) with the safety checks beside them until the tenant settles,
// applies the failure policy, and releases the locks on every path.
func DeployTenant(ctx workflow.Context, in TenantInput) (TenantResult, error) {
	t := &tenantRun{in: in, status: TenantStatus{Tenant: in.Assignment.Tenant, Phase: TenantLocking}}
	for _, s := range in.Assignment.Services {
		t.status.Services = append(t.status.Services, ServiceStatus{Service: s.Service, Phase: ServicePending})
	}
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (TenantStatus, error) { return t.status, nil }); err != nil {
		return TenantResult{}, err
	}
	return t.run(ctx)
}

type tenantRun struct {
	in        TenantInput
	status    TenantStatus
	snapshots map[string]SnapshotRef
}

func (t *tenantRun) result() TenantResult {
	return TenantResult{Tenant: t.status.Tenant, Phase: t.status.Phase, Services: t.status.Services, Failure: t.status.Failure}
}

func (t *tenantRun) notify(ctx workflow.Context, ev TenantEvent) {
	if t.in.ParentID == "" {
		return
	}
	ev.Tenant, ev.At = t.status.Tenant, workflow.Now(ctx)
	if err := workflow.SignalExternalWorkflow(ctx, t.in.ParentID, "", SignalTenantEvent, ev).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Warn("telling the orchestration", "event", ev.Kind, "error", err)
	}
}

func (t *tenantRun) run(ctx workflow.Context) (TenantResult, error) {
	locks := &lockHolder{
		inbox: newLockInbox(ctx),
		owner: t.in.ParentID + " (tenant " + t.status.Tenant + ")",
		order: t.order(),
		onWait: func(ctx workflow.Context, w LockWait) {
			t.status.LockWait = &w
			t.notify(ctx, TenantEvent{Kind: EventLockWait, LockWait: &w})
		},
		onHeld: func(ctx workflow.Context) {
			t.status.LockWait = nil
			t.notify(ctx, TenantEvent{Kind: EventLockAcquired})
		},
	}
	defer locks.releaseAll(ctx)
	var keys []LockKey
	for _, s := range t.in.Assignment.Services {
		keys = append(keys, s.Lock())
	}
	if err := locks.acquire(ctx, keys); err != nil {
		if isCancel(err) || ctx.Err() != nil {
			t.status.Phase = TenantCancelled
			return t.result(), nil
		}
		return t.result(), err
	}
	t.status.LockWait = nil
	for i, s := range t.in.Assignment.Services {
		if by, ok := locks.superseded[s.Lock()]; ok {
			t.supersede(i, by)
		}
	}
	if t.allSuperseded() {
		t.status.Phase = TenantSuperseded
		return t.result(), nil
	}
	if t.in.Rollback {
		t.rollback(ctx)
		return t.result(), nil
	}
	target := CheckTarget{Deployment: t.in.Deployment, Cluster: t.in.Assignment.Cluster, KubeContext: t.in.Assignment.KubeContext,
		Tenant: t.status.Tenant, Namespace: t.in.Assignment.Namespace}
	for _, s := range t.in.Assignment.Services {
		target.Services = append(target.Services, s.Service)
	}
	checks := checkRequests(t.in.Checks, target)
	for {
		t.status.Phase = TenantDeploying
		failure, err := guard(ctx, checks, t.in.Checks.Settle.D(), func() { t.status.Phase = TenantSettling }, t.deployLevels)
		switch {
		case ctx.Err() != nil:
			t.status.Phase = TenantCancelled
			return t.result(), nil
		case failure == nil && err == nil:
			t.status.Phase = TenantSucceeded
			if t.allSuperseded() {
				t.status.Phase = TenantSuperseded
			}
			t.status.Failure = ""
			return t.result(), nil
		case failure != nil:
			t.status.Failure = fmt.Sprintf("check %s failed: %s", failure.Check, failure.Reason)
		default:
			t.status.Failure = err.Error()
		}
		switch t.in.OnFailure.Action {
		case planner.FailureStop:
			t.status.Phase = TenantFailed
			return t.result(), nil
		case planner.FailureRollback:
			t.rollback(ctx)
			return t.result(), nil
		}
		// pause: hold the locks and wait for a decision or the timeout.
		decision := t.pause(ctx)
		if ctx.Err() != nil {
			t.status.Phase = TenantCancelled
			return t.result(), nil
		}
		if decision.Action != DecisionResume {
			t.rollback(ctx)
			return t.result(), nil
		}
	}
}

// order is the tenant's place in merge order (nil: not ordered).
func (t *tenantRun) order() *Stamp {
	if t.in.Generation <= 0 {
		return nil
	}
	return &Stamp{Deployment: t.in.Deployment, Merge: short12(t.in.Merge), Generation: t.in.Generation}
}

// target is the i-th service target, placed in merge order.
func (t *tenantRun) target(i int) ServiceTarget {
	s := t.in.Assignment.Services[i]
	if t.in.Generation > 0 {
		s.Merge, s.Generation = t.in.Merge, t.in.Generation
	}
	return s
}

// supersede leaves the i-th service to a newer merge's deployment.
func (t *tenantRun) supersede(i int, by Stamp) {
	st := &t.status.Services[i]
	st.Phase, st.Error, st.SupersededBy = ServiceSuperseded, "", &by
}

func (t *tenantRun) allSuperseded() bool {
	for _, s := range t.status.Services {
		if s.Phase != ServiceSuperseded {
			return false
		}
	}
	return len(t.status.Services) > 0
}

// pause waits for resume or rollback from the orchestration, or rolls back
// on its own after the plan's rollbackAfter.
func (t *tenantRun) pause(ctx workflow.Context) TenantDecision {
	t.status.Phase = TenantPaused
	t.notify(ctx, TenantEvent{Kind: EventPaused, Reason: t.status.Failure})
	decisions := workflow.GetSignalChannel(ctx, SignalTenantDecision)
	var d TenantDecision
	sel := workflow.NewSelector(ctx)
	sel.AddReceive(decisions, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, &d) })
	tctx, cancelTimer := workflow.WithCancel(ctx)
	defer cancelTimer()
	sel.AddFuture(workflow.NewTimer(tctx, t.in.OnFailure.RollbackAfter.D()), func(workflow.Future) {
		d = TenantDecision{Action: DecisionRollback, By: "timeout"}
	})
	sel.Select(ctx)
	for d.Action == DecisionHold {
		// People investigate: no automatic rollback; wait for them.
		cancelTimer()
		t.status.Failure += fmt.Sprintf(" (kept paused by %s)", d.By)
		decisions.Receive(ctx, &d)
	}
	return d
}

// deployLevels deploys the services not yet healthy, one DAG level at a
// time, the services of a level in parallel.
func (t *tenantRun) deployLevels(ctx workflow.Context) error {
	if t.snapshots == nil {
		t.snapshots = map[string]SnapshotRef{}
	}
	svcs := t.in.Assignment.Services
	for level := 0; ; level++ {
		var batch []int
		for i, s := range svcs {
			// A superseded service counts as done for the services after
			// it: the newer merge's version is, or will be, there.
			if p := t.status.Services[i].Phase; s.Level == level && p != ServiceHealthy && p != ServiceSuperseded {
				batch = append(batch, i)
			}
		}
		if len(batch) == 0 && !slices.ContainsFunc(svcs, func(s ServiceTarget) bool { return s.Level > level }) {
			return nil
		}
		futures := make([]workflow.ChildWorkflowFuture, len(batch))
		for j, i := range batch {
			s := t.target(i)
			in := ServiceInput{Target: s, ApplyTimeout: t.in.ApplyTimeout}
			if snap, ok := t.snapshots[s.Service]; ok {
				in.Snapshot = &snap
			}
			cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
				WorkflowID:          ServiceWorkflowID(s.Cluster, t.in.Deployment, s.Tenant, s.Service) + retrySuffix(t.status.Services[i].Phase),
				TaskQueue:           TaskQueue,
				WaitForCancellation: true,
				ParentClosePolicy:   enumspb.PARENT_CLOSE_POLICY_REQUEST_CANCEL,
				RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
			})
			t.status.Services[i].Phase = ServiceApplying
			t.status.Services[i].Error = ""
			futures[j] = workflow.ExecuteChildWorkflow(cctx, DeployServiceWorkflow, in)
		}
		var firstErr error
		for j, i := range batch {
			var res ServiceResult
			err := futures[j].Get(ctx, &res)
			if err == nil && res.Error != "" {
				err = errors.New(res.Error)
			}
			if res.Snapshot != (SnapshotRef{}) {
				t.snapshots[svcs[i].Service] = res.Snapshot
			}
			t.status.Services[i].Applied = res.Applied
			if err == nil && res.Superseded != nil {
				t.supersede(i, *res.Superseded)
				continue
			}
			if err != nil {
				t.status.Services[i].Phase = ServiceFailed
				t.status.Services[i].Error = err.Error()
				if firstErr == nil {
					firstErr = err
				}
				continue
			}
			t.status.Services[i].Phase = ServiceHealthy
		}
		if firstErr != nil {
			return firstErr
		}
	}
}

// retrySuffix keeps the child ID of a retried service distinct from the
// failed attempt's (IDs of closed workflows can be reused, but a distinct ID
// keeps both histories readable).
func retrySuffix(phase string) string {
	if phase == ServiceFailed {
		return "/retry"
	}
	return ""
}

// rollback restores, in reverse DAG order, every service this deployment
// touched in the tenant (all of them for a rollback of a finished tenant).
func (t *tenantRun) rollback(ctx workflow.Context) {
	t.status.Phase = TenantRollingBack
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	actx := workflow.WithActivityOptions(dctx, workflow.ActivityOptions{
		StartToCloseTimeout: 15 * time.Minute,
		HeartbeatTimeout:    30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumInterval: 30 * time.Second, MaximumAttempts: 5},
	})
	svcs := t.in.Assignment.Services
	order := make([]int, len(svcs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return svcs[b].Level - svcs[a].Level })
	failed, restored := false, 0
	for _, i := range order {
		st := &t.status.Services[i]
		if !t.in.Rollback && st.Phase == ServicePending {
			continue // never touched
		}
		if st.Phase == ServiceSuperseded {
			continue // never touched either: a newer merge has it
		}
		var snap *SnapshotRef
		if s, ok := t.snapshots[svcs[i].Service]; ok {
			snap = &s
		}
		st.Phase = ServiceRollingBack
		var out RollbackOutcome
		if err := workflow.ExecuteActivity(actx, (*DeployActivities).Rollback, RollbackRequest{Target: t.target(i), Snapshot: snap}).Get(dctx, &out); err != nil {
			st.Phase = ServiceFailed
			st.Error = "rollback failed: " + err.Error()
			failed = true
			continue
		}
		if out.Superseded != nil {
			t.supersede(i, *out.Superseded)
			continue
		}
		st.Phase = ServiceRolledBack
		restored++
	}
	t.status.Phase = TenantRolledBack
	if restored == 0 && t.in.Rollback && slices.ContainsFunc(t.status.Services, func(s ServiceStatus) bool { return s.Phase == ServiceSuperseded }) {
		// A /rollback found every service changed by newer merges since.
		t.status.Phase = TenantSuperseded
	}
	if failed {
		t.status.Phase = TenantFailed
		t.status.Failure += "; rollback failed, see services"
	}
}
