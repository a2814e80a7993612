package demo

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prdeploy/prdeploy/internal/sim"
	"github.com/prdeploy/prdeploy/planner"
	"github.com/prdeploy/prdeploy/policies"
)

const exampleRepo = "../../examples/gitops-repo"

// TestExamplePoliciesAtTheDemoClock: the example repository's policies
// allow the demo's plan (with approvals) at the demo's fixed policy clock,
// and still deny it where policies/freezes.yaml says: in the holiday
// freeze, and on Friday afternoons in Berlin unless the PR is a hotfix.
// The demo and the test harnesses pin that clock so that they pass on any
// day; this test keeps the freeze file meaning something.
func TestExamplePoliciesAtTheDemoClock(t *testing.T) {
	fsys := os.DirFS(exampleRepo)
	repo, err := planner.LoadRepo(fsys)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := planner.ParsePlan("deploys/web-7.yaml", []byte(Plan))
	if err != nil {
		t.Fatal(err)
	}
	exec, err := planner.Expand(plan, repo.Fleet)
	if err != nil {
		t.Fatal(err)
	}
	rules, err := policies.Load(fsys, policies.Revision{Ref: "main", SHA: "0123456789abcdef"})
	if err != nil {
		t.Fatal(err)
	}
	berlin := time.FixedZone("CET", 3600) // winter time, as in every case below
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, berlin)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct {
		name   string
		now    time.Time
		labels []string
		denial string // "" when the policies do not deny
	}{
		{"the demo's clock", sim.PolicyTime(), nil, ""},
		{"the evening before the holiday freeze", at("2026-12-20 23:59"), nil, ""},
		{"the holiday freeze begins", at("2026-12-21 00:00"), nil, "Holiday change freeze"},
		{"Christmas Eve", at("2026-12-24 10:00"), nil, "Holiday change freeze"},
		{"a hotfix on Christmas Eve", at("2026-12-24 10:00"), []string{"hotfix"}, "Holiday change freeze"},
		{"the freeze's last minute", at("2027-01-03 23:59"), nil, "Holiday change freeze"},
		{"the freeze is over", at("2027-01-04 00:00"), nil, ""},
		{"a Friday before three", at("2026-11-27 14:59"), nil, ""},
		{"a Friday at three", at("2026-11-27 15:00"), nil, "No Friday deploys after 15:00"},
		{"a hotfix on a Friday afternoon", at("2026-11-27 16:00"), []string{"hotfix"}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, err := rules.Evaluate(policies.Input{Plan: exec, PR: policies.PRFacts{Author: "cy", Labels: c.labels, BaseRef: "main"},
				Actor: policies.Actor{Login: "cy"}, Now: c.now})
			if err != nil {
				t.Fatal(err)
			}
			denied := d.Verdict == policies.VerdictDeny
			if denied != (c.denial != "") || (denied && !strings.Contains(strings.Join(d.Denials, "\n"), c.denial)) {
				t.Errorf("at %v: %s %q, want denied: %q", c.now, d.Verdict, d.Denials, c.denial)
			}
			if !denied && d.Verdict != policies.VerdictNeedsApproval {
				t.Errorf("at %v: %s, want %s (two SREs, as the story shows)", c.now, d.Verdict, policies.VerdictNeedsApproval)
			}
		})
	}
}

// TestDemoJudgesAtItsPolicyClock: the demo's policy clock, not the wall
// clock, is what the plan check judges at. Inside the holiday freeze the
// check denies the plan, and the demo stops there and says why, without
// merging.
func TestDemoJudgesAtItsPolicyClock(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	christmasEve := time.Date(2026, 12, 24, 10, 0, 0, 0, time.FixedZone("CET", 3600))
	var out bytes.Buffer
	err := Run(ctx, Options{Repo: exampleRepo, Out: &out, RolloutTime: 10 * time.Millisecond, WaitBound: time.Minute, PolicyTime: christmasEve})
	if err == nil || !strings.Contains(err.Error(), "the policies of "+exampleRepo+" deny the demo's plan at the policy clock, 2026-12-24T10:00:00+01:00: Holiday change freeze") {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	for _, want := range []string{"policy clock:    Thu 2026-12-24 10:00 CET", "check run prdeploy/plan: failure"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the demo did not say %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "merges PR") {
		t.Errorf("the demo merged a PR the policies deny:\n%s", out.String())
	}
}
