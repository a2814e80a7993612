package workflows_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/prdeploy/prdeploy/internal/metrics"
	"github.com/prdeploy/prdeploy/internal/metrics/metricstest"
	"github.com/prdeploy/prdeploy/policies"
	"github.com/prdeploy/prdeploy/workflows"
)

const noChecks = `  checks: {noCriticalAlerts: {enabled: false}, podsAvailable: {enabled: false}}
`

// TestDeployWithGate: canary, then a gate that needs two SREs, then the
// rest; approvals from a non-member and from the PR author are refused with
// the reason; every service is applied exactly once per tenant.
func TestDeployWithGate(t *testing.T) {
	m := metrics.New()
	h := newHarness(t, 100*time.Millisecond, 5, func(h *harness) { h.metrics = m.TemporalHandler() })
	e := h.plan("gated", `  services: [{name: db, tag: "2"}, {name: api, tag: "2", after: [db]}, {name: web, tag: "2"}]
  tenants: {names: [t01, t02, t03, t04, t05]}
  rollout: {canary: {tenants: [t01]}, approval: after-canary, maxParallel: 2}
`+noChecks, policies.Requirement{Rule: "prod", Gate: "after-canary", Approvals: 2, Teams: []string{"acme/sre"}, AllowReviews: true})
	run := h.deploy("gated")
	h.eventually("the canary to roll out", 30*time.Second, func() bool { return h.cluster.Count("rollout-start", "t01", "db") == 1 })
	live, err := workflows.Describe(context.Background(), h.c, "c1", "gated")
	if err != nil {
		t.Fatal(err)
	}
	if len(live.Tenants) != 1 || len(live.Tenants[0].Services) != 3 ||
		live.Tenants[0].Services[0].Service != "db" || live.Tenants[0].Services[0].Phase != workflows.ServiceApplying ||
		live.Tenants[0].Services[2].Service != "api" || live.Tenants[0].Services[2].Phase != workflows.ServicePending {
		t.Errorf("Describe during the canary: %+v", live.Tenants)
	}
	h.eventually("the gate to wait", 30*time.Second, func() bool { return h.status("gated").Phase == workflows.PhaseWaitingApproval })
	st := h.status("gated")
	if st.Counts[workflows.TenantSucceeded] != 1 || st.Untouched != 4 {
		t.Fatalf("at the gate: counts %v untouched %d, want the canary done and 4 untouched", st.Counts, st.Untouched)
	}

	_, err = h.update("gated", workflows.UpdateApprove, workflows.ApproveRequest{Login: "cy", Source: "comment", SourceID: "c1"})
	if err == nil || !strings.Contains(err.Error(), "needs a member of @acme/sre") {
		t.Errorf("approval by a non-member: err = %v", err)
	}
	_, err = h.update("gated", workflows.UpdateApprove, workflows.ApproveRequest{Login: "author", Source: "comment", SourceID: "c2"})
	if err == nil || !strings.Contains(err.Error(), "author") {
		t.Errorf("approval by the PR author: err = %v", err)
	}
	r, err := h.update("gated", workflows.UpdateApprove, workflows.ApproveRequest{Login: "ana", Source: "comment", SourceID: "c3"})
	if err != nil || !strings.Contains(r.Message, "1 of 2 from @acme/sre") {
		t.Fatalf("first approval: %q, %v", r.Message, err)
	}
	// The same approval delivered again counts once.
	r, err = h.update("gated", workflows.UpdateApprove, workflows.ApproveRequest{Login: "ana", Source: "comment", SourceID: "c3"})
	if err != nil || !strings.Contains(r.Message, "1 of 2") {
		t.Fatalf("duplicate approval: %q, %v", r.Message, err)
	}
	r, err = h.update("gated", workflows.UpdateApprove, workflows.ApproveRequest{Login: "bo", Source: "review", SourceID: "r1"})
	if err != nil || !strings.Contains(r.Message, "gate open") {
		t.Fatalf("second approval: %q, %v", r.Message, err)
	}
	final := h.result(run)
	if final.Phase != workflows.PhaseSucceeded || final.Counts[workflows.TenantSucceeded] != 5 || final.Untouched != 0 {
		t.Fatalf("final: phase %s counts %v", final.Phase, final.Counts)
	}
	if len(final.Gates) != 1 || !final.Gates[0].Open || len(final.Gates[0].Approvals) != 2 {
		t.Errorf("gate: %+v", final.Gates)
	}
	// The gate's wait is observed once, when the second approval opened it.
	got := metricstest.Scrape(t, m.Handler())
	waited := final.Gates[0].OpenedAt.Sub(final.Gates[0].WaitingSince).Seconds()
	if n, sum := got[`prdeploy_gate_wait_seconds_count{cluster="c1"}`], got[`prdeploy_gate_wait_seconds_sum{cluster="c1"}`]; n != 1 || sum != waited || sum <= 0 {
		t.Errorf("gate wait observed %v times, %vs in all; want once, %vs", n, sum, waited)
	}
	for _, w := range e.Waves {
		for _, tt := range w.Tenants {
			for _, s := range tt.Services {
				if n := h.cluster.Count("apply", tt.Name, s); n != 1 {
					t.Errorf("%s/%s applied %d times, want 1", tt.Name, s, n)
				}
				if img := h.cluster.Live(tt.Name, s); img != "registry.example.com/"+s+":2" {
					t.Errorf("%s/%s runs %q", tt.Name, s, img)
				}
			}
		}
	}
	// api comes after db inside each tenant.
	for _, tn := range []string{"t01", "t03"} {
		db, api := h.intervals("gated", tn+"/db"), h.intervals("gated", tn+"/api")
		if len(db) != 1 || len(api) != 1 || api[0].start.Before(db[0].end) {
			t.Errorf("%s: api started before db was healthy: db %v api %v", tn, db, api)
		}
	}
	if _, err := h.update("gated", workflows.UpdatePause, workflows.CommandRequest{By: "ana"}); err == nil {
		t.Error("pausing a finished deployment was accepted")
	}
	h.recordHistory("orchestration-gate-approved", workflows.DeployWorkflowID("c1", "gated"), "")
	h.recordHistory("tenant-dag", workflows.TenantWorkflowID("c1", "gated", "t01"), "")
	h.recordHistory("service-happy", workflows.ServiceWorkflowID("c1", "gated", "t01", "api"), "")
}

// TestLocksSerializeSameService: two deployments of the same service in the
// same tenant run one after the other, and both succeed; the second shows
// what it waits on. A third deployment of another service in that tenant
// runs in parallel with the first.
func TestLocksSerializeSameService(t *testing.T) {
	m := metrics.New()
	h := newHarness(t, 2*time.Second, 1, func(h *harness) { h.metrics = m.TemporalHandler() })
	h.plan("api-v2", "  services: [{name: api, tag: \"2\"}]\n  tenants: {names: [t01]}\n"+noChecks)
	h.plan("api-v3", "  services: [{name: api, tag: \"3\"}]\n  tenants: {names: [t01]}\n"+noChecks)
	h.plan("web-v2", "  services: [{name: web, tag: \"2\"}]\n  tenants: {names: [t01]}\n"+noChecks)
	first := h.deploy("api-v2")
	h.eventually("api-v2 to apply", 30*time.Second, func() bool { return h.cluster.Count("apply", "t01", "api") == 1 })
	second := h.deploy("api-v3")
	web := h.deploy("web-v2")
	h.eventually("api-v3 to report its lock wait", 30*time.Second, func() bool {
		st := h.status("api-v3")
		return len(st.Tenants) == 1 && st.Tenants[0].LockWait != nil
	})
	w := h.status("api-v3").Tenants[0].LockWait
	if w.Lock != "c1/t01/api" || !strings.Contains(w.Holder, "deploy:c1/api-v2") || w.Since.IsZero() {
		t.Errorf("lock wait = %+v", w)
	}
	if st := h.result(first); st.Phase != workflows.PhaseSucceeded {
		t.Fatalf("api-v2: %s", st.Phase)
	}
	if st := h.result(second); st.Phase != workflows.PhaseSucceeded {
		t.Fatalf("api-v3: %s", st.Phase)
	}
	if st := h.result(web); st.Phase != workflows.PhaseSucceeded {
		t.Fatalf("web-v2: %s", st.Phase)
	}
	a2, a3, w2 := h.intervals("api-v2", "t01/api"), h.intervals("api-v3", "t01/api"), h.intervals("web-v2", "t01/web")
	if overlaps(a2, a3) {
		t.Errorf("two deployments changed t01/api at once: %v %v", a2, a3)
	}
	if !overlaps(a2, w2) {
		t.Errorf("api and web of one tenant did not deploy in parallel: %v %v", a2, w2)
	}
	if got := h.cluster.Live("t01", "api"); got != "registry.example.com/api:3" {
		t.Errorf("t01/api runs %s, want the later deployment's image", got)
	}
	// Only api-v3 queued for its lock, for about api-v2's rollout.
	got := metricstest.Scrape(t, m.Handler())
	if n, sum := got[`prdeploy_lock_wait_seconds_count{cluster="c1"}`], got[`prdeploy_lock_wait_seconds_sum{cluster="c1"}`]; n != 1 || sum < 0.5 {
		t.Errorf("lock wait observed %v times, %vs in all; want once, about 2s", n, sum)
	}
	h.recordHistory("tenant-lock-wait", workflows.TenantWorkflowID("c1", "api-v3", "t01"), "")
}

// TestRestartWaitsForDeploy: a RollingRestart of a service waits for the
// deployment that holds its lock, then runs.
func TestRestartWaitsForDeploy(t *testing.T) {
	h := newHarness(t, time.Second, 2)
	h.plan("db-v2", "  services: [{name: db, tag: \"2\"}]\n  tenants: {names: [t01, t02]}\n  rollout: {maxParallel: 2}\n"+noChecks)
	run := h.deploy("db-v2")
	h.eventually("db-v2 to apply", 30*time.Second, func() bool { return h.cluster.Count("apply", "t01", "db") == 1 })
	in := workflows.RestartInput{ID: "r1", Requester: "ana", MaxParallel: 2, Targets: []workflows.ServiceTarget{
		{Deployment: "restart-r1", Cluster: "c1", Tenant: "t01", Namespace: "ns-t01", Service: "db"},
		{Deployment: "restart-r1", Cluster: "c1", Tenant: "t02", Namespace: "ns-t02", Service: "db"},
	}}
	rr, err := h.c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: workflows.RestartWorkflowID("c1", "db", "r1"), TaskQueue: workflows.TaskQueue}, workflows.RollingRestartWorkflow, in)
	if err != nil {
		t.Fatal(err)
	}
	h.result(run)
	var res workflows.RestartResult
	if err := rr.Get(context.Background(), &res); err != nil {
		t.Fatal(err)
	}
	for _, tn := range []string{"t01", "t02"} {
		deploy, restart := h.intervals("db-v2", tn+"/db"), h.intervals("restart-r1", tn+"/db")
		if len(restart) != 1 || overlaps(deploy, restart) || restart[0].start.Before(deploy[0].end) {
			t.Errorf("%s: restart %v did not wait for the deploy %v", tn, restart, deploy)
		}
	}
	if res.Tenants[0].Phase != workflows.TenantSucceeded || res.Tenants[1].Phase != workflows.TenantSucceeded {
		t.Errorf("restart result: %+v", res)
	}
	h.recordHistory("restart-after-deploy", workflows.RestartWorkflowID("c1", "db", "r1"), "")
	h.recordHistory("lock-deploy-then-restart", workflows.LockKey{Cluster: "c1", Tenant: "t01", Service: "db"}.WorkflowID(), "")
}

// TestWorkerRestartMidRollout: the worker stops while rollouts wait, a new
// worker starts, and the deployment finishes with every service applied
// exactly once.
func TestWorkerRestartMidRollout(t *testing.T) {
	h := newHarness(t, 1500*time.Millisecond, 4)
	h.plan("restart-me", "  services: [{name: db, tag: \"2\"}, {name: api, tag: \"2\", after: [db]}]\n  tenants: {names: [t01, t02, t03, t04]}\n  rollout: {maxParallel: 2}\n"+noChecks)
	run := h.deploy("restart-me")
	h.eventually("rollouts to be in flight", 30*time.Second, func() bool {
		return h.cluster.Count("rollout-start", "t01", "db") == 1 && h.cluster.Count("rollout-start", "t02", "db") == 1
	})
	h.stopWorker()
	h.startWorker()
	st := h.result(run)
	if st.Phase != workflows.PhaseSucceeded || st.Counts[workflows.TenantSucceeded] != 4 {
		t.Fatalf("after a worker restart: phase %s counts %v", st.Phase, st.Counts)
	}
	for _, tn := range []string{"t01", "t02", "t03", "t04"} {
		for _, s := range []string{"db", "api"} {
			if n := h.cluster.Count("apply", tn, s); n != 1 {
				t.Errorf("%s/%s applied %d times, want exactly 1", tn, s, n)
			}
		}
	}
}

// TestFailingCheckRollsBackWithinASecond: a check that starts failing stops
// the tenant's work within a second and the rollback policy restores what
// was live; the tenants after it are left untouched.
func TestFailingCheckRollsBackWithinASecond(t *testing.T) {
	h := newHarness(t, 20*time.Second, 3)
	h.cluster.SetLive("t01", "api", "registry.example.com/api:1")
	h.plan("bad-api", `  services: [{name: api, tag: "2"}]
  tenants: {names: [t01, t02, t03]}
  checks: {interval: 1s, noCriticalAlerts: {enabled: false}}
  onFailure: {action: rollback}
`)
	run := h.deploy("bad-api")
	h.eventually("the rollout to start", 30*time.Second, func() bool { return h.cluster.Count("rollout-start", "t01", "api") == 1 })
	h.prober.Fail("t01", workflows.CheckPodsAvailable, "1 of 3 pods available (CrashLoopBackOff)")
	st := h.result(run)
	failedAt, ok := h.prober.FirstFailure("t01", workflows.CheckPodsAvailable)
	if !ok {
		t.Fatal("the failing probe was never asked")
	}
	var rolledBack time.Time
	for _, e := range h.cluster.Events() {
		if e.Kind == "rollback" && e.Key == "t01/api" {
			rolledBack = e.At
		}
	}
	if rolledBack.IsZero() {
		t.Fatal("t01/api was not rolled back")
	}
	if d := rolledBack.Sub(failedAt); d > time.Second {
		t.Errorf("rollback came %s after the check failed; want within a second", d)
	}
	if got := h.cluster.Live("t01", "api"); got != "registry.example.com/api:1" {
		t.Errorf("t01/api runs %s after rollback", got)
	}
	if st.Phase != workflows.PhaseFailed || st.Untouched != 2 || st.Tenants[0].Phase != workflows.TenantRolledBack {
		t.Errorf("final: phase %s untouched %d tenants %+v", st.Phase, st.Untouched, st.Tenants)
	}
	if !strings.Contains(st.Tenants[0].Failure, "podsAvailable failed: 1 of 3 pods available") {
		t.Errorf("failure = %q", st.Tenants[0].Failure)
	}
	if h.cluster.Count("apply", "t02", "api") != 0 {
		t.Error("t02 was deployed after t01 failed")
	}
	h.recordHistory("tenant-check-failure-rollback", workflows.TenantWorkflowID("c1", "bad-api", "t01"), "")
}

// TestPauseThenAutomaticRollback: under the pause policy a failed tenant
// holds its locks and waits; without a decision it rolls back by itself
// after rollbackAfter, and the deployment fails with the reason.
func TestPauseThenAutomaticRollback(t *testing.T) {
	h := newHarness(t, 200*time.Millisecond, 2)
	h.cluster.FailRollouts("t01", "web", "ProgressDeadlineExceeded: ReplicaSet web-7d9 has timed out progressing")
	h.plan("web-pause", `  services: [{name: web, tag: "2"}]
  tenants: {names: [t01, t02]}
  onFailure: {action: pause, rollbackAfter: 2s}
`+noChecks)
	run := h.deploy("web-pause")
	h.eventually("the deployment to pause", 30*time.Second, func() bool { return h.status("web-pause").Paused })
	st := h.status("web-pause")
	if !strings.Contains(st.PauseReason, "tenant t01") || !strings.Contains(st.PauseReason, "ProgressDeadlineExceeded") || st.Tenants[0].Phase != workflows.TenantPaused {
		t.Errorf("paused: reason %q tenants %+v", st.PauseReason, st.Tenants)
	}
	final := h.result(run)
	if final.Phase != workflows.PhaseFailed || final.Tenants[0].Phase != workflows.TenantRolledBack || final.Untouched != 1 {
		t.Errorf("final: %s, tenants %+v, untouched %d", final.Phase, final.Tenants, final.Untouched)
	}
	if h.cluster.Count("rollback", "t01", "web") != 1 {
		t.Error("t01/web was not rolled back once")
	}
	h.recordHistory("orchestration-pause-rollback", workflows.DeployWorkflowID("c1", "web-pause"), "")
	h.recordHistory("tenant-pause-timeout-rollback", workflows.TenantWorkflowID("c1", "web-pause", "t01"), "")
}

// TestPauseResumeRetries: a paused tenant retries its failed service on
// /resume and the deployment completes.
func TestPauseResumeRetries(t *testing.T) {
	h := newHarness(t, 200*time.Millisecond, 1)
	h.cluster.FailRollouts("t01", "web", "image pull backoff")
	h.plan("web-resume", "  services: [{name: web, tag: \"2\"}]\n  tenants: {names: [t01]}\n  onFailure: {action: pause, rollbackAfter: 1h}\n"+noChecks)
	run := h.deploy("web-resume")
	h.eventually("the deployment to pause", 30*time.Second, func() bool { return h.status("web-resume").Paused })
	h.cluster.FailRollouts("t01", "web", "")
	r, err := h.update("web-resume", workflows.UpdateResume, workflows.CommandRequest{By: "ana"})
	if err != nil || !strings.Contains(r.Message, "1 paused tenant(s) retry") {
		t.Fatalf("resume: %q %v", r.Message, err)
	}
	if st := h.result(run); st.Phase != workflows.PhaseSucceeded {
		t.Fatalf("after resume: %s %+v", st.Phase, st.Tenants)
	}
	if h.cluster.Count("apply", "t01", "web") != 2 || h.cluster.Count("snapshot", "t01", "web") != 1 {
		t.Errorf("retry: %d applies, %d snapshots; want 2 and 1 (the retry keeps the first snapshot)",
			h.cluster.Count("apply", "t01", "web"), h.cluster.Count("snapshot", "t01", "web"))
	}
}

// TestTerminatedHolderReleasesLock: a lock holder that is terminated loses
// the lock, and the next in the queue gets it.
func TestTerminatedHolderReleasesLock(t *testing.T) {
	h := newHarness(t, time.Hour, 1)
	h.plan("stuck", "  services: [{name: db, tag: \"2\"}]\n  tenants: {names: [t01]}\n"+noChecks)
	h.plan("next", "  services: [{name: db, tag: \"3\"}]\n  tenants: {names: [t01]}\n"+noChecks)
	h.deploy("stuck")
	h.eventually("stuck to hold the lock", 30*time.Second, func() bool { return h.cluster.Count("rollout-start", "t01", "db") == 1 })
	h.cluster.RolloutTime = 100 * time.Millisecond
	next := h.deploy("next")
	h.eventually("next to wait on the lock", 30*time.Second, func() bool {
		st := h.status("next")
		return len(st.Tenants) == 1 && st.Tenants[0].LockWait != nil
	})
	if err := h.c.TerminateWorkflow(context.Background(), workflows.TenantWorkflowID("c1", "stuck", "t01"), "", "operator terminated a stuck tenant"); err != nil {
		t.Fatal(err)
	}
	if st := h.result(next); st.Phase != workflows.PhaseSucceeded {
		t.Fatalf("next: %s %+v", st.Phase, st.Tenants)
	}
	h.recordHistory("lock-holder-terminated", workflows.LockKey{Cluster: "c1", Tenant: "t01", Service: "db"}.WorkflowID(), "")
	if got := h.cluster.Live("t01", "db"); got != "registry.example.com/db:3" {
		t.Errorf("t01/db runs %s", got)
	}
}

// TestContinueAsNew: with a small history limit the Orchestration drains,
// continues as new with its state, and still deploys every tenant once.
func TestContinueAsNew(t *testing.T) {
	h := newHarness(t, 10*time.Millisecond, 30)
	var names []string
	for i := 1; i <= 30; i++ {
		names = append(names, fmt.Sprintf("t%02d", i))
	}
	h.plan("many", "  services: [{name: api, tag: \"2\"}]\n  tenants: {names: ["+strings.Join(names, ", ")+"]}\n  rollout: {maxParallel: 5, batchSize: 10}\n"+noChecks)
	run := h.deployWith(workflows.OrchestrationInput{Request: workflows.DeployRequest{Cluster: "c1", DeploymentID: "many", PRAuthor: "author"}, HistoryLimit: 60})
	st := h.result(run)
	if st.Phase != workflows.PhaseSucceeded || st.Counts[workflows.TenantSucceeded] != 30 {
		t.Fatalf("phase %s counts %v", st.Phase, st.Counts)
	}
	if st.Runs < 2 {
		t.Errorf("continued as new %d times, want at least 2", st.Runs)
	}
	h.recordHistory("orchestration-continue-as-new", run.GetID(), run.GetRunID())
	for _, n := range names {
		if c := h.cluster.Count("apply", n, "api"); c != 1 {
			t.Errorf("%s applied %d times", n, c)
		}
	}
}

// TestRollbackCommand: /rollback during a rollout stops the deployment, rolls
// back the finished tenant and the one in progress, and leaves the rest
// untouched.
func TestRollbackCommand(t *testing.T) {
	h := newHarness(t, 300*time.Millisecond, 3)
	for _, tn := range []string{"t01", "t02", "t03"} {
		h.cluster.SetLive(tn, "api", "registry.example.com/api:1")
	}
	h.plan("rb", "  services: [{name: api, tag: \"2\"}]\n  tenants: {names: [t01, t02, t03]}\n"+noChecks)
	run := h.deploy("rb")
	h.eventually("t02 to start rolling out", 30*time.Second, func() bool { return h.cluster.Count("rollout-start", "t02", "api") == 1 })
	h.cluster.RolloutTime = 5 * time.Second // t02 is slow now; t01 is done
	if _, err := h.update("rb", workflows.UpdateRollback, workflows.CommandRequest{By: "ana", Tenants: []string{"t09"}}); err == nil || !strings.Contains(err.Error(), "t09 has not been deployed") {
		t.Errorf("rollback of an unknown tenant: %v", err)
	}
	r, err := h.update("rb", workflows.UpdateRollback, workflows.CommandRequest{By: "ana"})
	if err != nil || !strings.Contains(r.Message, "rolling back 2 tenant(s)") {
		t.Fatalf("rollback: %q %v", r.Message, err)
	}
	st := h.result(run)
	if st.Phase != workflows.PhaseRolledBack || st.Untouched != 1 {
		t.Fatalf("final: %s untouched %d tenants %+v", st.Phase, st.Untouched, st.Tenants)
	}
	for _, tn := range []string{"t01", "t02"} {
		if got := h.cluster.Live(tn, "api"); got != "registry.example.com/api:1" {
			t.Errorf("%s/api runs %s after rollback", tn, got)
		}
		if rec := st.Tenants[slicesIndex(st.Tenants, tn)]; rec.Phase != workflows.TenantRolledBack {
			t.Errorf("%s phase %s", tn, rec.Phase)
		}
	}
	if h.cluster.Count("apply", "t03", "api") != 0 {
		t.Error("t03 was deployed after the rollback")
	}
	h.recordHistory("orchestration-rollback-command", workflows.DeployWorkflowID("c1", "rb"), "")
}

// TestCancelCommand: /cancel stops the deployment without rolling back.
func TestCancelCommand(t *testing.T) {
	h := newHarness(t, time.Hour, 2)
	h.plan("cx", "  services: [{name: api, tag: \"2\"}]\n  tenants: {names: [t01, t02]}\n"+noChecks)
	run := h.deploy("cx")
	h.eventually("t01 to roll out", 30*time.Second, func() bool { return h.cluster.Count("rollout-start", "t01", "api") == 1 })
	if _, err := h.update("cx", workflows.UpdateCancel, workflows.CommandRequest{By: "ana"}); err != nil {
		t.Fatal(err)
	}
	st := h.result(run)
	if st.Phase != workflows.PhaseCancelled || st.Tenants[0].Phase != workflows.TenantCancelled || st.Untouched != 1 {
		t.Fatalf("final: %s %+v", st.Phase, st.Tenants)
	}
	if h.cluster.Count("rollback", "t01", "api") != 0 {
		t.Error("cancel rolled back")
	}
	// The lock was released: another deployment of the service goes through.
	h.cluster.RolloutTime = 10 * time.Millisecond
	h.plan("after", "  services: [{name: api, tag: \"3\"}]\n  tenants: {names: [t01]}\n"+noChecks)
	if st := h.result(h.deploy("after")); st.Phase != workflows.PhaseSucceeded {
		t.Fatalf("after cancel: %s", st.Phase)
	}
}

func slicesIndex(ts []workflows.TenantRecord, name string) int {
	for i, t := range ts {
		if t.Tenant == name {
			return i
		}
	}
	return -1
}

// TestHoldKeepsPausedWithoutAutomaticRollback: "Investigate (keep
// paused)" on a tenant paused by a failure turns its automatic rollback
// off; it stays paused past rollbackAfter until someone decides.
func TestHoldKeepsPausedWithoutAutomaticRollback(t *testing.T) {
	h := newHarness(t, 100*time.Millisecond, 1)
	h.cluster.FailRollouts("t01", "web", "ProgressDeadlineExceeded")
	h.plan("web-hold", `  services: [{name: web, tag: "2"}]
  tenants: {names: [t01]}
  onFailure: {action: pause, rollbackAfter: 3s}
`+noChecks)
	run := h.deploy("web-hold")
	h.eventually("the deployment to pause", 30*time.Second, func() bool { return h.status("web-hold").Paused })
	if r, err := h.update("web-hold", workflows.UpdateHold, workflows.CommandRequest{By: "ana"}); err != nil || !strings.Contains(r.Message, "automatic rollback is off for 1 tenant") {
		t.Fatalf("hold: %+v %v", r, err)
	}
	time.Sleep(4 * time.Second) // past rollbackAfter: what must not happen, would have by now
	if st := h.status("web-hold"); st.Tenants[0].Phase != workflows.TenantPaused || h.cluster.Count("rollback", "t01", "web") != 0 {
		t.Fatalf("after rollbackAfter: %+v", st.Tenants)
	}
	if _, err := h.update("web-hold", workflows.UpdateHold, workflows.CommandRequest{By: "bo"}); err != nil {
		t.Fatalf("a second hold: %v", err)
	}
	if _, err := h.update("web-hold", workflows.UpdateRollback, workflows.CommandRequest{By: "ana"}); err != nil {
		t.Fatal(err)
	}
	final := h.result(run)
	if final.Tenants[0].Phase != workflows.TenantRolledBack || h.cluster.Count("rollback", "t01", "web") != 1 {
		t.Fatalf("final: %s %+v", final.Phase, final.Tenants)
	}
}
