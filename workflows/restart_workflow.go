package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/prdeploy/prdeploy/planner"
)

// RestartInput asks for a rolling restart of one service in some tenants.
type RestartInput struct {
	ID          string            `json:"id"`
	Requester   string            `json:"requester"`
	Targets     []ServiceTarget   `json:"targets"`
	Checks      planner.CheckSpec `json:"checks"`
	MaxParallel int               `json:"maxParallel"`
	Timeout     time.Duration     `json:"timeout"`
}

// RestartResult says how each tenant's restart ended.
type RestartResult struct {
	Tenants []TenantResult `json:"tenants"`
}

// RollingRestart restarts a service in some tenants, taking the same lock
// as deployments (so a restart waits for a deploy of that service in that
// tenant, and the other way round) and running the same safety checks
// beside each restart. A failed tenant stops the restart of the others
// that have not started.
func RollingRestart(ctx workflow.Context, in RestartInput) (RestartResult, error) {
	res := RestartResult{Tenants: make([]TenantResult, len(in.Targets))}
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (RestartResult, error) { return res, nil }); err != nil {
		return res, err
	}
	parallel := max(in.MaxParallel, 1)
	inbox := newLockInbox(ctx)
	running, next, failed := 0, 0, false
	for next < len(in.Targets) || running > 0 {
		for !failed && running < parallel && next < len(in.Targets) {
			i := next
			next++
			running++
			res.Tenants[i] = TenantResult{Tenant: in.Targets[i].Tenant, Phase: TenantLocking}
			workflow.Go(ctx, func(gctx workflow.Context) {
				defer func() { running-- }()
				res.Tenants[i] = restartOne(gctx, inbox, in, in.Targets[i])
				if res.Tenants[i].Phase != TenantSucceeded {
					failed = true
				}
			})
		}
		if failed && running == 0 {
			break
		}
		n := running
		if err := workflow.Await(ctx, func() bool { return running < n }); err != nil {
			return res, err
		}
	}
	for i := next; i < len(in.Targets); i++ {
		res.Tenants[i] = TenantResult{Tenant: in.Targets[i].Tenant, Phase: TenantPending, Failure: "not restarted: an earlier tenant failed"}
	}
	if failed {
		return res, temporal.NewNonRetryableApplicationError("rolling restart failed", "RestartFailed", nil, res)
	}
	return res, nil
}

func restartOne(ctx workflow.Context, inbox *lockInbox, in RestartInput, t ServiceTarget) TenantResult {
	r := TenantResult{Tenant: t.Tenant, Phase: TenantLocking}
	locks := &lockHolder{inbox: inbox, owner: fmt.Sprintf("%s (restart by %s)", RestartWorkflowID(t.Cluster, t.Service, in.ID), in.Requester)}
	defer locks.releaseAll(ctx)
	if err := locks.acquire(ctx, []LockKey{t.Lock()}); err != nil {
		r.Phase, r.Failure = TenantCancelled, err.Error()
		return r
	}
	r.Phase = TenantDeploying
	timeout := in.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Minute
	}
	target := CheckTarget{Deployment: in.ID, Cluster: t.Cluster, KubeContext: t.KubeContext, Tenant: t.Tenant, Namespace: t.Namespace, Services: []string{t.Service}}
	failure, err := guard(ctx, checkRequests(in.Checks, target), in.Checks.Settle.D(), nil, func(c workflow.Context) error {
		actx := workflow.WithActivityOptions(c, workflow.ActivityOptions{
			StartToCloseTimeout: timeout, ScheduleToCloseTimeout: timeout, HeartbeatTimeout: 10 * time.Second,
		})
		return workflow.ExecuteActivity(actx, (*RestartActivities).Restart, t).Get(c, nil)
	})
	switch {
	case failure != nil:
		r.Phase, r.Failure = TenantFailed, fmt.Sprintf("check %s failed: %s", failure.Check, failure.Reason)
	case err != nil:
		r.Phase, r.Failure = TenantFailed, err.Error()
	default:
		r.Phase = TenantSucceeded
	}
	return r
}
