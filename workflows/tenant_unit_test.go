package workflows

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/prdeploy/prdeploy/planner"
)

// tenantEnv runs DeployTenant in the SDK test environment (time skipping),
// with the lock granted at once and the activities mocked per test.
func tenantEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	RegisterWorkflows(env)
	var a *DeployActivities
	var l *LockActivities
	env.RegisterActivity(a)
	env.RegisterActivity(l)
	env.OnActivity(l.RequestLock, mock.Anything, mock.Anything, mock.Anything).Return(func(_ context.Context, key LockKey, req LockRequest) error {
		env.RegisterDelayedCallback(func() {
			env.SignalWorkflow(SignalLockGranted, LockGrant{Key: key, RequestID: req.RequestID})
		}, 0)
		return nil
	})
	env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, mock.Anything, SignalLockRelease, mock.Anything).Return(nil)
	env.OnActivity(a.Apply, mock.Anything, mock.Anything).Return(ApplyOutcome{Snapshot: SnapshotRef{Ref: "snap"}, Applied: ApplyResult{Configured: 1}}, nil)
	return env
}

func tenantInput(onFailure planner.FailurePolicy, checks planner.CheckSpec) TenantInput {
	return TenantInput{
		Deployment: "d1",
		Assignment: TenantAssignment{Tenant: "t01", Cluster: "c1", Namespace: "ns", Services: []ServiceTarget{
			{Deployment: "d1", Cluster: "c1", Tenant: "t01", Namespace: "ns", Service: "web", Image: "web:2"},
		}},
		Checks: checks, OnFailure: onFailure, ApplyTimeout: time.Hour,
	}
}

// TestPauseRollsBackAfterTimeout: a paused tenant with no decision rolls
// back on its own once rollbackAfter (30 minutes of workflow time) passes.
func TestPauseRollsBackAfterTimeout(t *testing.T) {
	env := tenantEnv(t)
	var a *DeployActivities
	env.OnActivity(a.WaitRollout, mock.Anything, mock.Anything).Return(temporal.NewNonRetryableApplicationError("ProgressDeadlineExceeded", "Permanent", nil))
	rolledBack := time.Time{}
	env.OnActivity(a.Rollback, mock.Anything, mock.Anything).Return(func(_ context.Context, _ RollbackRequest) (RollbackOutcome, error) {
		rolledBack = env.Now()
		return RollbackOutcome{}, nil
	})
	start := env.Now()
	env.ExecuteWorkflow(DeployTenant, tenantInput(planner.FailurePolicy{Action: planner.FailurePause, RollbackAfter: planner.Duration(30 * time.Minute)}, planner.CheckSpec{}))
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		t.Fatalf("workflow: completed %v err %v", env.IsWorkflowCompleted(), env.GetWorkflowError())
	}
	var res TenantResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Phase != TenantRolledBack || res.Services[0].Phase != ServiceRolledBack {
		t.Errorf("result %+v", res)
	}
	if d := rolledBack.Sub(start); d < 30*time.Minute || d > 31*time.Minute {
		t.Errorf("rolled back after %s, want 30m", d)
	}
}

// TestCheckFailureCancelsTheWork: the first failing check cancels a rollout
// that would take an hour; under the stop policy nothing is rolled back.
func TestCheckFailureCancelsTheWork(t *testing.T) {
	env := tenantEnv(t)
	var a *DeployActivities
	env.OnActivity(a.WaitRollout, mock.Anything, mock.Anything).After(time.Hour).Return(nil)
	env.OnActivity(a.WatchCheck, mock.Anything, mock.MatchedBy(func(r WatchCheckRequest) bool { return r.Check == CheckPodsAvailable })).
		After(10*time.Second).Return(CheckFailure{Check: CheckPodsAvailable, Reason: "0 of 3 pods ready"}, nil)
	env.OnActivity(a.WatchCheck, mock.Anything, mock.MatchedBy(func(r WatchCheckRequest) bool { return r.Check == CheckNoCriticalAlerts })).
		After(2*time.Hour).Return(CheckFailure{}, nil)
	checks := planner.CheckSpec{Interval: planner.Duration(time.Second), PodsAvailable: &planner.PodsAvailableSpec{MinReadyRatio: 1},
		NoCriticalAlerts: &planner.AlertCheckSpec{Matchers: []string{`tenant="{tenant}"`}}}
	start := env.Now()
	env.ExecuteWorkflow(DeployTenant, tenantInput(planner.FailurePolicy{Action: planner.FailureStop}, checks))
	var res TenantResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Phase != TenantFailed || res.Failure != "check podsAvailable failed: 0 of 3 pods ready" {
		t.Errorf("result %+v", res)
	}
	if d := env.Now().Sub(start); d > time.Minute {
		t.Errorf("the tenant ended %s after start; the failing check at 10s should have stopped it", d)
	}
	env.AssertNotCalled(t, "Rollback", mock.Anything, mock.Anything)
}

func TestCheckRequestsFillPlaceholders(t *testing.T) {
	spec := planner.CheckSpec{Interval: planner.Duration(5 * time.Second),
		NoCriticalAlerts: &planner.AlertCheckSpec{Matchers: []string{`severity="critical"`, `tenant="{tenant}"`, `namespace=~"{namespace}|shared"`, `cluster="{cluster}"`}}}
	got := checkRequests(spec, CheckTarget{Tenant: "acme", Namespace: "tenant-acme", Cluster: "prod-eu"})
	if len(got) != 1 || got[0].Interval != 5*time.Second {
		t.Fatalf("got %+v", got)
	}
	want := []string{`severity="critical"`, `tenant="acme"`, `namespace=~"tenant-acme|shared"`, `cluster="prod-eu"`}
	for i, m := range got[0].Target.Matchers {
		if m != want[i] {
			t.Errorf("matcher %d = %s, want %s", i, m, want[i])
		}
	}
}
