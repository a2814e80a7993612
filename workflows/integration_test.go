package workflows_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/prdeploy/prdeploy/policies"
	"github.com/prdeploy/prdeploy/workflows"
)

const noChecks = `  checks: {noCriticalAlerts: {enabled: false}, podsAvailable: {enabled: false}}
`

// TestDeployWithGate: canary, then a gate that needs two SREs, then the
// rest; approvals from a non-member and from the PR author are refused with
// the reason; every service is applied exactly once per tenant.
func TestDeployWithGate(t *testing.T) {
	h := newHarness(t, 100*time.Millisecond, 5)
	e := h.plan("gated", `  services: [{name: db, tag: "2"}, {name: api, tag: "2", after: [db]}, {name: web, tag: "2"}]
  tenants: {names: [t01, t02, t03, t04, t05]}
  rollout: {canary: {tenants: [t01]}, approval: after-canary, maxParallel: 2}
`+noChecks, policies.Requirement{Rule: "prod", Gate: "after-canary", Approvals: 2, Teams: []string{"acme/sre"}, AllowReviews: true})
	run := h.deploy("gated")
	h.eventually("the gate to wait", 30*time.Second, func() bool { return h.status("gated").Phase == workflows.PhaseWaitingApproval })
	st := h.status("gated")
	if st.Counts[workflows.TenantSucceeded] != 1 || st.Untouched != 4 {
		t.Fatalf("at the gate: counts %v untouched %d, want the canary done and 4 untouched", st.Counts, st.Untouched)
	}

	_, err := h.update("gated", workflows.UpdateApprove, workflows.ApproveRequest{Login: "cy", Source: "comment", SourceID: "c1"})
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
	if len(final.Gates) != 1 || !final.Gates[0].Open || len(final.Gates[0].Approvals) != 3 {
		t.Errorf("gate: %+v", final.Gates)
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
}

// TestLocksSerializeSameService: two deployments of the same service in the
// same tenant run one after the other, and both succeed; the second shows
// what it waits on. A third deployment of another service in that tenant
// runs in parallel with the first.
func TestLocksSerializeSameService(t *testing.T) {
	h := newHarness(t, 2*time.Second, 1)
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
}
