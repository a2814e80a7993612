package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/prdeploy/prdeploy/policies"
)

// approve authorizes the approver against the gate's policy (teams come
// from an activity), records the approval once, and opens the gate when
// every requirement is met.
func (o *orchestration) approve(ctx workflow.Context, r ApproveRequest) (Reply, error) {
	g := o.waitingGate()
	if g == nil {
		return Reply{}, errors.New("no gate is waiting for approval")
	}
	var teams []string
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second})
	if err := workflow.ExecuteActivity(actx, (*DeployActivities).ApproverTeams, r.Login).Get(ctx, &teams); err != nil {
		return Reply{}, fmt.Errorf("looking up the teams of %s: %w", r.Login, err)
	}
	a := policies.Approval{Login: r.Login, Teams: teams, Source: r.Source, SourceID: r.SourceID, Gate: g.ID, Commit: o.s.Request.SHA}
	if f := o.s.Request.Facts; f != nil && r.Source == policies.SourceReview && r.Commit != f.HeadSHA {
		return Reply{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("this review approves commit %s, not the PR's final head %s that was merged; only reviews of the final head count", short12(r.Commit), short12(f.HeadSHA)), "StaleReview", nil)
	}
	excl := o.s.Request.Excluded()
	reqs := o.requirements(g.ID)
	if len(reqs) == 0 {
		reqs = []policies.Requirement{policies.DefaultRequirement(g.ID)}
	}
	var reasons []string
	ok := false
	for _, req := range reqs {
		if yes, why := req.Authorize(a, excl); yes {
			ok = true
		} else {
			reasons = append(reasons, why)
		}
	}
	if !ok {
		return Reply{}, temporal.NewNonRetryableApplicationError(strings.Join(slices.Compact(reasons), "; "), "NotAuthorized", nil)
	}
	if slices.Contains(g.Withdrawn, withdrawnKey(a.Source, a.SourceID)) {
		return Reply{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("this approval of %s was withdrawn and does not count again; approve with a new comment or review", g.ID), "Withdrawn", nil)
	}
	// A redelivered approval (same source id) is not stored twice; Tally
	// counts distinct people either way.
	if !slices.ContainsFunc(g.Approvals, func(x policies.Approval) bool { return x.Source == a.Source && x.SourceID == a.SourceID }) {
		g.Approvals = append(g.Approvals, a)
	}
	st := policies.Tally(o.requirements(g.ID), g.ID, g.Approvals, excl)
	g.Status = &st
	var parts []string
	for _, n := range st.Needs {
		parts = append(parts, n.Summary)
	}
	msg := fmt.Sprintf("approval recorded for %s", g.ID)
	if len(parts) > 0 {
		msg += ": " + strings.Join(parts, "; ")
	}
	if st.Open {
		g.Open = true
		g.OpenedAt = workflow.Now(ctx)
		recordWait(ctx, MetricGateWait, o.s.Request.Cluster, g.OpenedAt.Sub(g.WaitingSince))
		msg += "; gate open"
	}
	return Reply{Message: msg}, nil
}

// unapprove withdraws approvals of the gate that waits now: a review's
// (dismissed on GitHub) by its review id, or everything the person gave.
func (o *orchestration) unapprove(ctx workflow.Context, r UnapproveRequest) (Reply, error) {
	g := o.waitingGate()
	if g == nil {
		return Reply{}, errors.New("no gate is waiting: an approval of an open gate cannot be withdrawn; /pause or /rollback instead")
	}
	kept := g.Approvals[:0:0]
	n := 0
	for _, a := range g.Approvals {
		byReview := r.Source == policies.SourceReview && a.Source == policies.SourceReview && a.SourceID == r.SourceID
		byPerson := r.Source != policies.SourceReview && strings.EqualFold(a.Login, r.Login)
		if byReview || byPerson {
			n++
			g.withdraw(a.Source, a.SourceID)
			continue
		}
		kept = append(kept, a)
	}
	if r.Source == policies.SourceReview && r.SourceID != "" {
		// A dismissed review never counts, even delivered after this.
		g.withdraw(r.Source, r.SourceID)
	}
	if n == 0 {
		return Reply{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s has no approval at gate %s to withdraw", r.Login, g.ID), "NothingToWithdraw", nil)
	}
	g.Approvals = kept
	st := policies.Tally(o.requirements(g.ID), g.ID, g.Approvals, o.s.Request.Excluded())
	g.Status = &st
	var parts []string
	for _, need := range st.Needs {
		parts = append(parts, need.Summary)
	}
	return Reply{Message: fmt.Sprintf("approval withdrawn at %s: %s", g.ID, strings.Join(parts, "; "))}, nil
}

// withdraw remembers a withdrawn approval's source.
func (g *GateState) withdraw(source policies.Source, id string) {
	if k := withdrawnKey(source, id); !slices.Contains(g.Withdrawn, k) {
		g.Withdrawn = append(g.Withdrawn, k)
	}
}

// withdrawnKey names an approval's source: comment, review and check-run
// ids are numbered apart.
func withdrawnKey(source policies.Source, id string) string { return string(source) + "/" + id }

// recordWait records a wait in a cluster on the worker's metrics handler.
// It adds no command to the history, and the SDK drops it while replaying.
func recordWait(ctx workflow.Context, timer, cluster string, d time.Duration) {
	workflow.GetMetricsHandler(ctx).WithTags(map[string]string{MetricTagCluster: cluster}).Timer(timer).Record(d)
}

func (o *orchestration) pause(ctx workflow.Context, r CommandRequest) (Reply, error) {
	o.s.Paused = true
	o.s.PauseReason = fmt.Sprintf("paused by %s", r.By)
	if r.Reason != "" {
		o.s.PauseReason += ": " + r.Reason
	}
	return Reply{Message: "paused: no new tenant starts; tenants in progress finish"}, nil
}

func (o *orchestration) resume(ctx workflow.Context, r CommandRequest) (Reply, error) {
	o.s.Paused = false
	o.s.PauseReason = ""
	n := 0
	for _, t := range o.s.Tenants {
		if t.Phase == TenantPaused {
			if rt := o.running[t.Tenant]; rt != nil {
				_ = rt.child.SignalChildWorkflow(ctx, SignalTenantDecision, TenantDecision{Action: DecisionResume, By: r.By}).Get(ctx, nil)
				n++
			}
		}
	}
	if n > 0 {
		return Reply{Message: fmt.Sprintf("resumed; %d paused tenant(s) retry", n)}, nil
	}
	return Reply{Message: "resumed"}, nil
}

// hold keeps the tenants paused on a failure paused, without their
// automatic rollback, while people investigate.
func (o *orchestration) hold(ctx workflow.Context, r CommandRequest) (Reply, error) {
	n := 0
	for _, t := range o.s.Tenants {
		if t.Phase == TenantPaused {
			if rt := o.running[t.Tenant]; rt != nil {
				_ = rt.child.SignalChildWorkflow(ctx, SignalTenantDecision, TenantDecision{Action: DecisionHold, By: r.By}).Get(ctx, nil)
				n++
			}
		}
	}
	return Reply{Message: fmt.Sprintf("kept paused: automatic rollback is off for %d tenant(s); /resume or /rollback when ready", n)}, nil
}

func (o *orchestration) cancel(ctx workflow.Context, r CommandRequest) (Reply, error) {
	o.stop(PhaseCancelled, fmt.Sprintf("cancelled by %s", r.By))
	for _, name := range o.runningNames() {
		o.running[name].cancel()
	}
	return Reply{Message: fmt.Sprintf("cancelled: %d tenant(s) in progress stop; nothing is rolled back", len(o.running))}, nil
}

// rollback stops the deployment and rolls back the named tenants, or every
// tenant it touched.
func (o *orchestration) rollback(ctx workflow.Context, r CommandRequest) (Reply, error) {
	var names []string
	for _, t := range o.s.Tenants {
		if len(r.Tenants) == 0 || slices.Contains(r.Tenants, t.Tenant) {
			names = append(names, t.Tenant)
		}
	}
	for _, want := range r.Tenants {
		if o.tenant(want) == nil {
			return Reply{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("tenant %s has not been deployed by this deployment", want), "UnknownTenant", nil)
		}
	}
	o.stop(PhaseRolledBack, fmt.Sprintf("rollback requested by %s", r.By))
	for _, name := range names {
		t := o.tenant(name)
		rt := o.running[name]
		switch {
		case rt != nil && t.Phase == TenantPaused:
			_ = rt.child.SignalChildWorkflow(ctx, SignalTenantDecision, TenantDecision{Action: DecisionRollback, By: r.By}).Get(ctx, nil)
		case rt != nil:
			t.Phase = TenantRollingBack // cancelled now, rolled back when it has stopped
			rt.cancel()
		case t.Phase == TenantSucceeded || t.Phase == TenantFailed:
			t.Phase = TenantRollingBack
		}
	}
	return Reply{Message: fmt.Sprintf("rolling back %d tenant(s); the deployment stops", len(names))}, nil
}

func (o *orchestration) stop(phase, reason string) {
	if o.s.Stop && o.s.StopPhase == PhaseRolledBack {
		return // a rollback in progress stays a rollback
	}
	o.s.Stop, o.s.StopPhase, o.s.StopReason = true, phase, reason
	o.s.Paused = false
	o.s.Phase = PhaseStopping
}
