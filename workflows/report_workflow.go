package workflows

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// DeployCheckName is the check run a deployment shows on its merge commit.
const DeployCheckName = "prdeploy/deploy"

// DefaultReportEvery is how often a deployment's check run may change.
const DefaultReportEvery = 5 * time.Second

// ReportInput starts a deployment's reporter.
type ReportInput struct {
	Request DeployRequest `json:"request"`
	// Every bounds how often the check run is updated (default 5 s); the
	// final state is always written.
	Every time.Duration `json:"every,omitempty"`
	// StatusURL is the status page of the deployment, for links.
	StatusURL string `json:"statusUrl,omitempty"`
}

// ReportDeployment keeps a deployment's check run and milestone comments up to date
// until the deployment ends. It is one long activity that polls the
// Orchestration's status query: the Orchestration's own history pays
// nothing for reporting, and the reporter's stays a handful of events.
func ReportDeployment(ctx workflow.Context, in ReportInput) error {
	// It heartbeats every poll: a worker that dies is noticed within the
	// heartbeat timeout and the reporter resumes on another.
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 90 * 24 * time.Hour,
		HeartbeatTimeout:    max(20*time.Second, 4*cmp.Or(in.Every, DefaultReportEvery)),
		RetryPolicy:         &temporal.RetryPolicy{MaximumInterval: time.Minute},
	})
	return workflow.ExecuteActivity(actx, (*ReportActivities).PublishReports, in).Get(ctx, nil)
}

// reportProgress survives activity retries in heartbeat details, so a
// retried reporter neither republishes an unchanged check run nor posts a
// milestone twice.
type reportProgress struct {
	Published  string   `json:"published,omitempty"`
	CheckRunID int64    `json:"checkRunId,omitempty"`
	Milestones []string `json:"milestones,omitempty"`
	// The chat message, what it last showed, its thread's milestones, and
	// when each paused tenant was first seen paused.
	Chat           ChatRef              `json:"chat,omitempty"`
	ChatPublished  string               `json:"chatPublished,omitempty"`
	ChatMilestones []string             `json:"chatMilestones,omitempty"`
	PausedSince    map[string]time.Time `json:"pausedSince,omitempty"`
}

// Milestone is a PR comment worth one notification.
type Milestone struct {
	ID   string
	Body string
}

// Milestones are the PR comments a status deserves: started; each gate
// waiting (the canary is healthy); paused; failed or rolled back; done.
// Never one per tenant.
func Milestones(st Status) []Milestone {
	dep, cluster := st.Request.DeploymentID, st.Request.Cluster
	name := fmt.Sprintf("`%s` in `%s`", dep, cluster)
	var out []Milestone
	if st.Phase != PhasePreparing && st.Prepared != nil {
		out = append(out, Milestone{"started", fmt.Sprintf("🚀 %s started: %d tenants in %d waves.", name, st.Total, len(st.Waves))})
	}
	for _, g := range st.Gates {
		if g.Open || g.WaitingSince.IsZero() {
			continue
		}
		need := approvals(st, g)
		what := "The previous wave is healthy"
		if g.ID == "after-canary" {
			what = "The canary is healthy"
		}
		out = append(out, Milestone{"gate:" + g.ID, fmt.Sprintf("⏳ %s: %s; waiting at gate `%s` (%s). Approve with `/approve`.", name, what, g.ID, need)})
	}
	if st.Paused {
		out = append(out, Milestone{"paused:" + st.PauseReason, fmt.Sprintf("⏸️ %s paused: %s. `/resume` to go on, `/rollback` to undo.", name, oneLine(st.PauseReason))})
	}
	switch st.Phase {
	case PhaseSucceeded:
		body := fmt.Sprintf("✅ %s completed: %d tenants.", name, st.Counts[TenantSucceeded])
		if st.Superseded > 0 {
			body = fmt.Sprintf("✅ %s completed: %d tenants, of which %d tenant × service step%s superseded by %s (merged after this one).",
				name, st.Counts[TenantSucceeded]+st.Counts[TenantSuperseded], st.Superseded, plural(st.Superseded), supersedingNames(st))
		}
		out = append(out, Milestone{"done", body})
	case PhaseFailed:
		reason := cmp.Or(st.StopReason, st.Error)
		if n := st.Counts[TenantRolledBack]; n > 0 {
			out = append(out, Milestone{"rolled-back", fmt.Sprintf("↩️ %s: %d tenant%s rolled back.", name, n, plural(n))})
		}
		out = append(out, Milestone{"failed", fmt.Sprintf("❌ %s failed: %s", name, oneLine(reason))})
	case PhaseRolledBack:
		out = append(out, Milestone{"rolled-back", fmt.Sprintf("↩️ %s rolled back: %d tenants restored.", name, st.Counts[TenantRolledBack])})
	case PhaseCancelled:
		out = append(out, Milestone{"cancelled", fmt.Sprintf("🚫 %s cancelled: %s", name, oneLine(st.StopReason))})
	}
	return out
}

// supersedingNames lists the deployments that superseded steps of st:
// "`web-8`, `web-9`".
func supersedingNames(st Status) string {
	var names []string
	for _, s := range SupersededSteps(st) {
		if n := "`" + s.By.Deployment + "`"; !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func reportKey(v any) string {
	data, _ := json.Marshal(v)
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:8])
}
