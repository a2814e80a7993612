package workflows

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// DeployService rolls one service out in one tenant: it records what is
// live (for rollback) and applies with server-side apply (one activity),
// then waits for the
// rollout while heartbeating. It is a child of DeployTenant, which holds the
// lock and runs the checks.
func DeployService(ctx workflow.Context, in ServiceInput) (ServiceResult, error) {
	var res ServiceResult
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 5 * time.Minute,
		// Apply heartbeats while it runs: a worker killed in the middle
		// of it is noticed in seconds, and the retry applies again
		// (idempotent: server-side apply of the same manifests).
		HeartbeatTimeout: 20 * time.Second,
		// Apply is short: wait for it to stop before anyone rolls back.
		WaitForCancellation: true,
		RetryPolicy:         &temporal.RetryPolicy{MaximumInterval: 30 * time.Second, MaximumAttempts: 10},
	})
	var out ApplyOutcome
	err := workflow.ExecuteActivity(actx, (*DeployActivities).Apply, ApplyRequest{Target: in.Target, Snapshot: in.Snapshot}).Get(ctx, &out)
	res.Snapshot, res.Applied = out.Snapshot, out.Applied
	if err != nil {
		return fail(ctx, res, fmt.Errorf("applying %s to %s: %w", in.Target.Service, in.Target.Tenant, err))
	}
	if out.Superseded != nil {
		// A newer merge changed it: nothing applied, nothing to wait for.
		res.Superseded = out.Superseded
		return res, nil
	}
	timeout := in.ApplyTimeout
	if timeout <= 0 {
		timeout = 10 * time.Minute
	}
	wctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    timeout,
		ScheduleToCloseTimeout: timeout, // retries share the plan's rollout timeout
		HeartbeatTimeout:       10 * time.Second,
		RetryPolicy:            &temporal.RetryPolicy{MaximumInterval: 10 * time.Second},
	})
	if err := workflow.ExecuteActivity(wctx, (*DeployActivities).WaitRollout, in.Target).Get(ctx, nil); err != nil {
		return fail(ctx, res, fmt.Errorf("rollout of %s in %s: %w", in.Target.Service, in.Target.Tenant, err))
	}
	return res, nil
}

// fail ends the service with its error in the result; a cancellation stays
// a cancellation.
func fail(ctx workflow.Context, res ServiceResult, err error) (ServiceResult, error) {
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	res.Error = reason(err)
	return res, nil
}

// reason is an activity's error as people read it on the PR and the status
// page: the activity's own message, without Temporal's wrapper (activity
// type, event IDs, worker identity, retryability).
func reason(err error) string {
	msg := err.Error()
	var act *temporal.ActivityError
	var app *temporal.ApplicationError
	if errors.As(err, &act) && errors.As(err, &app) {
		if i := strings.Index(msg, act.Error()); i >= 0 {
			return msg[:i] + app.Message()
		}
	}
	return msg
}
