package workflows

import (
	"errors"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/prdeploy/prdeploy/planner"
)

// checkRequests builds the safety checks a plan asks for, for one tenant.
func checkRequests(spec planner.CheckSpec, target CheckTarget) []WatchCheckRequest {
	var out []WatchCheckRequest
	if a := spec.NoCriticalAlerts; a != nil {
		t := target
		r := strings.NewReplacer("{tenant}", target.Tenant, "{namespace}", target.Namespace, "{cluster}", target.Cluster)
		for _, m := range a.Matchers {
			t.Matchers = append(t.Matchers, r.Replace(m))
		}
		out = append(out, WatchCheckRequest{Check: CheckNoCriticalAlerts, Target: t, Interval: spec.Interval.D()})
	}
	if p := spec.PodsAvailable; p != nil {
		t := target
		t.MinReadyRatio = p.MinReadyRatio
		out = append(out, WatchCheckRequest{Check: CheckPodsAvailable, Target: t, Interval: spec.Interval.D()})
	}
	return out
}

// guard runs body with the checks beside it. The first check to fail
// cancels the body and the other checks, waits for the body to unwind, and
// is returned. When the body ends, onSettle is called and the checks keep
// watching for settle before they are stopped. A body error is returned as
// is.
func guard(ctx workflow.Context, checks []WatchCheckRequest, settle time.Duration, onSettle func(), body func(ctx workflow.Context) error) (*CheckFailure, error) {
	gctx, stopChecks := workflow.WithCancel(ctx)
	defer stopChecks()
	cctx := workflow.WithActivityOptions(gctx, workflow.ActivityOptions{
		StartToCloseTimeout: 365 * 24 * time.Hour,
		HeartbeatTimeout:    10 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumInterval: 30 * time.Second},
	})
	sel := workflow.NewSelector(ctx)
	var failure *CheckFailure
	for _, c := range checks {
		sel.AddFuture(workflow.ExecuteActivity(cctx, (*DeployActivities).WatchCheck, c), func(f workflow.Future) {
			var cf CheckFailure
			err := f.Get(ctx, &cf)
			switch {
			case err == nil:
				failure = &cf
			case !temporal.IsCanceledError(err) && failure == nil:
				failure = &CheckFailure{Check: c.Check, Reason: "the check itself failed: " + err.Error(), At: workflow.Now(ctx)}
			}
		})
	}
	bctx, cancelBody := workflow.WithCancel(gctx)
	bodyDone, setBodyDone := workflow.NewFuture(ctx)
	workflow.Go(bctx, func(c workflow.Context) { setBodyDone.Set(nil, body(c)) })
	finished := false
	var bodyErr error
	sel.AddFuture(bodyDone, func(f workflow.Future) { finished, bodyErr = true, f.Get(ctx, nil) })
	for failure == nil && !finished {
		sel.Select(ctx)
	}
	if failure != nil {
		cancelBody()
		if !finished {
			_ = bodyDone.Get(ctx, nil) // let the body unwind before anyone rolls back
		}
		return failure, nil
	}
	if bodyErr != nil || len(checks) == 0 || settle <= 0 || ctx.Err() != nil {
		return nil, bodyErr
	}
	if onSettle != nil {
		onSettle()
	}
	settled := false
	sel.AddFuture(workflow.NewTimer(gctx, settle), func(workflow.Future) { settled = true })
	for failure == nil && !settled && ctx.Err() == nil {
		sel.Select(ctx)
	}
	return failure, ctx.Err()
}

// isCancel reports whether err is a cancellation.
func isCancel(err error) bool {
	var c *temporal.CanceledError
	return errors.As(err, &c) || errors.Is(err, workflow.ErrCanceled)
}
