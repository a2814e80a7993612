package workflows_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prdeploy/prdeploy/commands"
	"github.com/prdeploy/prdeploy/internal/temporalx"
	"github.com/prdeploy/prdeploy/webhook"
	"github.com/prdeploy/prdeploy/workflows"
)

type permissions map[string]string

func (p permissions) Permission(_ context.Context, _ string, login string) (string, error) {
	if v, ok := p[login]; ok {
		return v, nil
	}
	return "none", nil
}

// TestCommentCommandsSteerTheDeployment: after a merge, comments on the PR
// go through the Dispatcher: a reader's /approve is ignored (no reaction,
// no reply), the author's is refused with the reason, an SRE's opens the
// gate (👀 then 👍), a redelivered comment runs once, /status answers, a
// typo gets help.
func TestCommentCommandsSteerTheDeployment(t *testing.T) {
	host := &recordingHost{}
	merges := fakeMerges{"3333333333333333333333333333333333333333": {{Path: "deploys/web-10.yaml", Deployment: "web-10", Clusters: []string{"c1"}}}}
	h := newHarness(t, 50*time.Millisecond, 3, func(h *harness) {
		h.acts = &workflows.Activities{Plans: h.plans, Cluster: h.cluster, Probes: h.prober, Directory: h.dir,
			Merges: merges, CheckRuns: host, Comments: host, Statuses: temporalx.Statuses{Client: h.c},
			Deployments: temporalx.Deployments{Client: h.c}, Permissions: permissions{"ana": "write", "author": "admin", "cy": "read"}}
	})
	h.plan("web-10", `  services: [{name: web, tag: "10"}]
  tenants: {names: [t01, t02, t03]}
  rollout: {canary: {tenants: [t01]}, approval: after-canary}
`+noChecks)
	d := temporalx.Dispatcher{Client: h.c}
	ctx := context.Background()
	delivery := webhook.Delivery{ID: "d-1", Repo: "acme/deploys", Sender: "ana"}
	if err := d.Dispatch(ctx, webhook.PullRequestMerged{Delivery: delivery, Number: 7, MergeCommitSHA: "3333333333333333333333333333333333333333", BaseRef: "main", Author: "author", MergedBy: "ana"}); err != nil {
		t.Fatal(err)
	}
	h.eventually("the gate to wait", 30*time.Second, func() bool {
		st, err := workflows.Describe(ctx, h.c, "c1", "web-10")
		return err == nil && len(st.Gates) == 1 && !st.Gates[0].WaitingSince.IsZero()
	})
	comment := func(id int64, who, body string) {
		t.Helper()
		ev := webhook.CommentCommand{Delivery: webhook.Delivery{ID: fmt.Sprint("c-", id), Repo: "acme/deploys", Sender: who}, Number: 7, CommentID: id, Author: who, Body: body, Commands: webhook.ParseCommands(body)}
		if err := d.Dispatch(ctx, ev); err != nil {
			t.Fatal(err)
		}
		// The PRCommand workflow's result is the outcome of each command.
		var out []workflows.CommandOutcome
		if err := h.c.GetWorkflow(ctx, workflows.PRCommandWorkflowID("acme/deploys", workflows.SourceComment, fmt.Sprint(id)), "").Get(ctx, &out); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s %q: %+v", who, body, out)
	}
	// replied: a reply holding all of want is on the PR (the reporter's
	// milestone comments may land in between, so not "the last comment").
	replied := func(want ...string) bool {
		host.mu.Lock()
		defer host.mu.Unlock()
		for _, c := range host.comments {
			all := true
			for _, w := range want {
				all = all && strings.Contains(c, w)
			}
			if all {
				return true
			}
		}
		return false
	}
	comment(101, "cy", "/approve")
	host.mu.Lock()
	if _, ok := host.keyed["reply:comment:101"]; ok || len(host.reactions[101]) != 0 {
		t.Fatalf("a reader was answered: comments %q, reactions %v", host.comments, host.reactions[101])
	}
	host.mu.Unlock()
	comment(102, "author", "/approve looks good")
	if !replied("@author, `/approve` was refused", "the PR author cannot approve") {
		t.Fatalf("author: %q", host.comments)
	}
	comment(103, "ana", "LGTM\n/approve canary is fine")
	host.mu.Lock()
	reactions := slices.Clone(host.reactions[103])
	host.mu.Unlock()
	if !slices.Equal(reactions, []string{"eyes", "+1"}) {
		t.Fatalf("reactions on ana's approval: %v", reactions)
	}
	// The same comment delivered again runs nothing more.
	if err := d.Dispatch(ctx, webhook.CommentCommand{Delivery: webhook.Delivery{ID: "c-103", Repo: "acme/deploys"}, Number: 7, CommentID: 103, Author: "ana", Commands: webhook.ParseCommands("/approve")}); err != nil {
		t.Fatal(err)
	}
	st := h.result(h.c.GetWorkflow(ctx, workflows.DeployWorkflowID("c1", "web-10"), ""))
	if st.Phase != workflows.PhaseSucceeded || st.Gates[0].Approvals[0].Login != "ana" || len(st.Gates[0].Approvals) != 1 {
		t.Fatalf("deployment: %s gates %+v", st.Phase, st.Gates)
	}
	comment(104, "ana", "/status")
	if !replied("**web-10** → cluster `c1`") {
		t.Fatalf("status: %q", host.comments)
	}
	comment(105, "ana", "/aprove")
	if !replied("Unknown command `/aprove`") {
		t.Fatalf("typo: %q", host.comments)
	}
	host.mu.Lock()
	defer host.mu.Unlock()
	if n := len(host.reactions[103]); n != 2 {
		t.Fatalf("the redelivered comment ran again: reactions %v", host.reactions[103])
	}
}

// TestHoldCommentKeepsPausedTenantsPaused: /hold on the PR is the command
// Slack's "Investigate (keep paused)" button stands for: refused while no
// tenant is paused on a failure, then it turns the paused tenant's
// automatic rollback off, and /rollback ends it.
func TestHoldCommentKeepsPausedTenantsPaused(t *testing.T) {
	host := &recordingHost{}
	merges := fakeMerges{"4444444444444444444444444444444444444444": {{Path: "deploys/web-hold.yaml", Deployment: "web-hold", Clusters: []string{"c1"}}}}
	h := newHarness(t, 50*time.Millisecond, 2, func(h *harness) {
		h.acts = &workflows.Activities{Plans: h.plans, Cluster: h.cluster, Probes: h.prober, Directory: h.dir,
			Merges: merges, CheckRuns: host, Comments: host, Statuses: temporalx.Statuses{Client: h.c},
			Deployments: temporalx.Deployments{Client: h.c}, Permissions: permissions{"ana": "write"}}
	})
	h.cluster.FailRollouts("t02", "web", "ProgressDeadlineExceeded")
	h.plan("web-hold", `  services: [{name: web, tag: "2"}]
  tenants: {names: [t01, t02]}
  rollout: {canary: {tenants: [t01]}, approval: after-canary}
  onFailure: {action: pause, rollbackAfter: 1h}
`+noChecks)
	d := temporalx.Dispatcher{Client: h.c}
	ctx := context.Background()
	if err := d.Dispatch(ctx, webhook.PullRequestMerged{Delivery: webhook.Delivery{ID: "d-1", Repo: "acme/deploys", Sender: "ana"}, Number: 8,
		MergeCommitSHA: "4444444444444444444444444444444444444444", BaseRef: "main", Author: "author", MergedBy: "ana"}); err != nil {
		t.Fatal(err)
	}
	comment := func(id int64, body string) workflows.CommandOutcome {
		t.Helper()
		ev := webhook.CommentCommand{Delivery: webhook.Delivery{ID: fmt.Sprint("c-", id), Repo: "acme/deploys", Sender: "ana"}, Number: 8, CommentID: id, Author: "ana", Body: body, Commands: webhook.ParseCommands(body)}
		if err := d.Dispatch(ctx, ev); err != nil {
			t.Fatal(err)
		}
		var out []workflows.CommandOutcome
		if err := h.c.GetWorkflow(ctx, workflows.PRCommandWorkflowID("acme/deploys", workflows.SourceComment, fmt.Sprint(id)), "").Get(ctx, &out); err != nil {
			t.Fatal(err)
		}
		if len(out) != 1 {
			t.Fatalf("%q: outcomes %+v", body, out)
		}
		return out[0]
	}
	h.eventually("the gate to wait", 30*time.Second, func() bool {
		st, err := workflows.Describe(ctx, h.c, "c1", "web-hold")
		return err == nil && len(st.Gates) == 1 && !st.Gates[0].WaitingSince.IsZero()
	})
	if o := comment(201, "/hold nothing failed yet"); o.OK || o.Command != commands.Hold || !strings.Contains(o.Message, "no tenant is paused on a failed check") {
		t.Fatalf("/hold with nothing paused: %+v", o)
	}
	if o := comment(202, "/approve"); !o.OK {
		t.Fatalf("/approve: %+v", o)
	}
	// The deployment pauses when the Orchestration hears of t02's pause.
	h.eventually("t02 to pause on its failed rollout", 30*time.Second, func() bool { return h.status("web-hold").Paused })
	if o := comment(203, "/hold looking at the logs"); !o.OK || o.Command != commands.Hold || !strings.Contains(o.Message, "automatic rollback is off for 1 tenant") {
		t.Fatalf("/hold: %+v", o)
	}
	host.mu.Lock()
	reactions := slices.Clone(host.reactions[203])
	host.mu.Unlock()
	if !slices.Equal(reactions, []string{"eyes", "+1"}) {
		t.Fatalf("reactions on /hold: %v", reactions)
	}
	if o := comment(204, "/rollback t02"); !o.OK {
		t.Fatalf("/rollback: %+v", o)
	}
	st := h.result(h.c.GetWorkflow(ctx, workflows.DeployWorkflowID("c1", "web-hold"), ""))
	if st.Phase != workflows.PhaseRolledBack || h.cluster.Count("rollback", "t02", "web") != 1 {
		t.Fatalf("after /rollback: %s %+v", st.Phase, st.Tenants)
	}
}
