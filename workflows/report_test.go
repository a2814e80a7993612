package workflows

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prdeploy/prdeploy/policies"
)

func reportStatus(tenants int) Status {
	st := Status{
		OrchestrationState: OrchestrationState{
			Request:  DeployRequest{DeploymentID: "ingest-v42", Cluster: "prod-eu", PR: 12, SHA: strings.Repeat("ab", 20)},
			Prepared: &PreparedDeployment{Services: []string{"store", "ingest"}},
			Phase:    PhaseWaitingApproval,
			Gates: []GateState{{ID: "after-canary", Wave: 1, WaitingSince: time.Unix(1_795_000_000, 0),
				Status: &policies.GateStatus{Gate: "after-canary", Needs: []policies.RequirementStatus{{Have: 1, Need: 2, Approvers: []string{"ana"}, Summary: "1 of 2 from @acme/sre"}}}}},
		},
		Waves: []WaveSummary{{Name: "canary", Canary: true, Tenants: 1}, {Name: "rest", Tenants: tenants - 1}},
		Total: tenants, Counts: map[string]int{TenantSucceeded: 1}, Untouched: tenants - 1,
	}
	st.Tenants = append(st.Tenants, TenantRecord{Tenant: "acme-canary", Wave: 0, Phase: TenantSucceeded})
	return st
}

func TestReportWaitingAtGate(t *testing.T) {
	r := BuildReport(reportStatus(10), ReportLinks{StatusPage: "http://prdeploy/deployments/prod-eu/ingest-v42"})
	if r.Status != "in_progress" || r.Conclusion != "action_required" {
		t.Fatalf("status %s conclusion %s", r.Status, r.Conclusion)
	}
	for _, want := range []string{"waiting for approval (1 of 10 tenants done)"} {
		if !strings.Contains(r.Title, want) {
			t.Errorf("title %q lacks %q", r.Title, want)
		}
	}
	for _, want := range []string{"| `after-canary` | ⏳ waiting | 1 of 2 from @acme/sre (@ana) |", "PR #12", "commit `abababababab`", "not started 9", "[Live status](http://prdeploy/deployments/prod-eu/ingest-v42)"} {
		if !strings.Contains(r.Summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, r.Summary)
		}
	}
	if !strings.Contains(r.Text, "| canary | acme-canary | ✅ succeeded | ✅ | ✅ |  |") || !strings.Contains(r.Text, "9 more tenants have not started") {
		t.Errorf("table:\n%s", r.Text)
	}
	if len(r.Actions) != 3 || !strings.HasPrefix(r.Actions[0].Identifier, ActionApprove) {
		t.Fatalf("actions %+v", r.Actions)
	}
	for _, a := range r.Actions {
		if utf8.RuneCountInString(a.Label) > 20 || utf8.RuneCountInString(a.Description) > 40 || len(a.Identifier) > 20 {
			t.Errorf("action over GitHub's limits: %+v", a)
		}
	}
}

func TestReportFinishedAndFailed(t *testing.T) {
	st := reportStatus(3)
	st.Phase, st.Gates[0].Open, st.Gates[0].WaitingSince = PhaseSucceeded, true, time.Time{}
	st.Counts, st.Untouched = map[string]int{TenantSucceeded: 3}, 0
	r := BuildReport(st, ReportLinks{})
	if r.Status != "completed" || r.Conclusion != "success" || len(r.Actions) != 0 || !strings.Contains(r.Title, "done, 3 of 3 tenants") {
		t.Fatalf("succeeded: %+v", r)
	}
	st.Phase = PhaseFailed
	st.Tenants = append(st.Tenants, TenantRecord{Tenant: "acme-2", Wave: 1, Index: 0, Phase: TenantRolledBack,
		Failure:  "check podsAvailable failed: Deployment tenant-acme-2/ingest: pod ingest-1: container ingest is in CrashLoopBackOff",
		Services: []ServiceStatus{{Service: "store", Phase: ServiceHealthy}, {Service: "ingest", Phase: ServiceRolledBack}}})
	r = BuildReport(st, ReportLinks{})
	if r.Conclusion != "failure" || !strings.Contains(r.Summary, "- `acme-2` rolled-back: check podsAvailable failed") ||
		!strings.Contains(r.Text, "| rest | acme-2 | ↩️ rolled-back | ✅ healthy | ↩️ rolled-back | check podsAvailable failed") {
		t.Fatalf("failed:\n%s\n%s", r.Summary, r.Text)
	}
}

// TestReportFitsGitHubLimits: 3,000 tenants with long failures still fit
// in a check run, and say where the rest is.
func TestReportFitsGitHubLimits(t *testing.T) {
	st := reportStatus(3000)
	st.Phase = PhaseFailed
	for i := range 3000 {
		st.Tenants = append(st.Tenants, TenantRecord{Tenant: fmt.Sprintf("tenant-%04d", i), Wave: 1, Index: i, Phase: TenantFailed, Failure: strings.Repeat("x|y ", 100)})
	}
	r := BuildReport(st, ReportLinks{})
	if len(r.Summary) > MaxReportText || len(r.Text) > MaxReportText {
		t.Fatalf("summary %d, text %d bytes", len(r.Summary), len(r.Text))
	}
	if !strings.Contains(r.Text, "more tenants: see the live status page") || !strings.Contains(r.Summary, "… and 2990 more") {
		t.Fatalf("no pointer to the rest")
	}
	if strings.Contains(r.Text, "x|y") {
		t.Fatal("a | in a failure breaks the table")
	}
}

// TestReportSupersededSteps: a deployment whose steps were left to a newer
// merge concludes success, counts them apart from succeeded work, and
// names each step and who took it once.
func TestReportSupersededSteps(t *testing.T) {
	by := &Stamp{Deployment: "web-8", Merge: "89abcdef0123", Generation: 9}
	st := reportStatus(3)
	st.Phase, st.Gates, st.Untouched = PhaseSucceeded, nil, 0
	st.Tenants = []TenantRecord{
		{Tenant: "acme-canary", Wave: 0, Phase: TenantSucceeded},
		{Tenant: "globex", Wave: 1, Index: 0, Phase: TenantSucceeded, Services: []ServiceStatus{{Service: "ingest", Phase: ServiceSuperseded, SupersededBy: by}}},
		{Tenant: "umbrella", Wave: 1, Index: 1, Phase: TenantSuperseded, Services: []ServiceStatus{
			{Service: "store", Phase: ServiceSuperseded, SupersededBy: by}, {Service: "ingest", Phase: ServiceSuperseded, SupersededBy: by}}},
	}
	st.Counts, st.Superseded = map[string]int{TenantSucceeded: 2, TenantSuperseded: 1}, 3
	r := BuildReport(st, ReportLinks{})
	if r.Conclusion != "success" || r.Title != "ingest-v42 in prod-eu: done, 3 of 3 tenants (3 superseded by newer merges)" {
		t.Errorf("%s: %s", r.Conclusion, r.Title)
	}
	for _, want := range []string{"✅ succeeded 2 · ⏭️ superseded 1", "- `globex` ingest: superseded by `web-8` (merged after this one)\n",
		"- `umbrella` store: superseded by `web-8` (merged after this one)\n", "- `umbrella` ingest: superseded by `web-8` (merged after this one)\n"} {
		if strings.Count(r.Summary, want) != 1 {
			t.Errorf("summary has %q %d times:\n%s", want, strings.Count(r.Summary, want), r.Summary)
		}
	}
	if n := strings.Count(r.Summary+r.Text, "web-8"); n != 3 {
		t.Errorf("the check run names web-8 %d times, want once per step:\n%s\n%s", n, r.Summary, r.Text)
	}
	if !strings.Contains(r.Text, "| rest | umbrella | ⏭️ superseded | ⏭️ superseded | ⏭️ superseded |  |") {
		t.Errorf("table:\n%s", r.Text)
	}
	ms := Milestones(st)
	if done := ms[len(ms)-1]; done.ID != "done" || done.Body != "✅ `ingest-v42` in `prod-eu` completed: 3 tenants, of which 3 tenant × service steps superseded by `web-8` (merged after this one)." {
		t.Errorf("milestone %+v", done)
	}
}
