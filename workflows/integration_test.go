package workflows_test

import (
	"strings"
	"testing"
	"time"

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
