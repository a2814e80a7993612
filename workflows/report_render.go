package workflows

import (
	"fmt"
	"sort"
	"strings"

	"github.com/prdeploy/prdeploy/commands"
	"github.com/prdeploy/prdeploy/policies"
)

// Report is a deployment's state as people read it: the fields of a check
// run, independent of GitHub's API (the GitHub and Slack reporters render
// it). It is pure: the same Status gives the same Report.
type Report struct {
	Title   string `json:"title"`
	Summary string `json:"summary"`
	// Text is the table of tenants × services.
	Text string `json:"text"`
	// Status is "in_progress" or "completed".
	Status string `json:"status"`
	// Conclusion, when completed: success, failure, cancelled; while a
	// gate or a paused tenant waits for people: action_required.
	Conclusion string         `json:"conclusion,omitempty"`
	Actions    []ReportAction `json:"actions,omitempty"`
}

// ReportAction is a button (GitHub allows 3, labels ≤ 20 characters,
// descriptions ≤ 40, identifiers ≤ 20).
type ReportAction struct {
	Label       string `json:"label"`
	Description string `json:"description"`
	Identifier  string `json:"identifier"`
}

// Button identifiers: the names of the commands that are buttons
// (commands.Command.Button).
const (
	ActionApprove  = string(commands.Approve)
	ActionPause    = string(commands.Pause)
	ActionResume   = string(commands.Resume)
	ActionRollback = string(commands.Rollback)
	// Chat's question to a tenant paused on a failure: keep it paused
	// without automatic rollback (/hold), or roll that tenant back now;
	// the value is "<deployment workflow ID>|<tenant>".
	ActionInvestigate    = commands.ActionInvestigate
	ActionRollbackTenant = commands.ActionRollbackTenant
)

// MaxReportText is GitHub's limit for a check run's summary and text.
const MaxReportText = 65535

// ReportLinks are where people can see more.
type ReportLinks struct {
	StatusPage string
	History    string
}

var phaseIcon = map[string]string{
	TenantPending: "⏳", TenantLocking: "🔒", TenantDeploying: "🚀", TenantSettling: "🔎", TenantPaused: "⏸️",
	TenantRollingBack: "↩️", TenantSucceeded: "✅", TenantFailed: "❌", TenantRolledBack: "↩️", TenantCancelled: "🚫",
	TenantSuperseded: "⏭️", ServiceApplying: "🚀", ServiceHealthy: "✅", // ServiceSuperseded is "superseded" too
}

func icon(phase string) string {
	if i, ok := phaseIcon[phase]; ok {
		return i + " " + phase
	}
	return phase
}

// BuildReport renders a deployment's status.
func BuildReport(st Status, links ReportLinks) Report {
	r := Report{Status: "in_progress"}
	dep, cluster := st.Request.DeploymentID, st.Request.Cluster
	done := st.Counts[TenantSucceeded] + st.Counts[TenantSuperseded]
	switch st.Phase {
	case PhaseSucceeded:
		r.Status, r.Conclusion = "completed", "success"
		r.Title = fmt.Sprintf("%s in %s: done, %d of %d tenants", dep, cluster, done, st.Total)
		if st.Superseded > 0 {
			r.Title += fmt.Sprintf(" (%d superseded by newer merges)", st.Superseded)
		}
	case PhaseFailed, PhaseRolledBack:
		r.Status, r.Conclusion = "completed", "failure"
		r.Title = fmt.Sprintf("%s in %s: %s", dep, cluster, st.Phase)
	case PhaseCancelled:
		r.Status, r.Conclusion = "completed", "cancelled"
		r.Title = fmt.Sprintf("%s in %s: cancelled", dep, cluster)
	case PhaseWaitingApproval:
		r.Title = fmt.Sprintf("%s in %s: waiting for approval (%d of %d tenants done)", dep, cluster, done, st.Total)
	case PhasePaused:
		r.Title = fmt.Sprintf("%s in %s: paused (%d of %d tenants done)", dep, cluster, done, st.Total)
	default:
		r.Title = fmt.Sprintf("%s in %s: %s, %d of %d tenants done", dep, cluster, st.Phase, done, st.Total)
	}

	var s strings.Builder
	fmt.Fprintf(&s, "**%s** → cluster `%s`", dep, cluster)
	if st.Request.PR != 0 {
		fmt.Fprintf(&s, " · PR #%d", st.Request.PR)
	}
	if st.Request.SHA != "" {
		fmt.Fprintf(&s, " · commit `%s`", short12(st.Request.SHA))
	}
	s.WriteString("\n\n")
	if st.Total > 0 {
		fmt.Fprintf(&s, "%s %d of %d tenants done\n\n", bar(done, st.Total), done, st.Total)
	}
	var counts []string
	for _, p := range []string{TenantSucceeded, TenantSuperseded, TenantDeploying, TenantSettling, TenantLocking, TenantPaused, TenantFailed, TenantRollingBack, TenantRolledBack, TenantCancelled} {
		if n := st.Counts[p]; n > 0 {
			counts = append(counts, fmt.Sprintf("%s %d", icon(p), n))
		}
	}
	if st.Untouched > 0 {
		counts = append(counts, fmt.Sprintf("not started %d", st.Untouched))
	}
	if len(counts) > 0 {
		s.WriteString(strings.Join(counts, " · ") + "\n\n")
	}
	if st.Paused && st.PauseReason != "" {
		fmt.Fprintf(&s, "⏸️ **Paused:** %s\n\n", oneLine(st.PauseReason))
	}
	if st.StopReason != "" {
		fmt.Fprintf(&s, "**Stopped:** %s\n\n", oneLine(st.StopReason))
	}
	if st.Error != "" {
		fmt.Fprintf(&s, "**Error:** %s\n\n", oneLine(st.Error))
	}
	if steps := SupersededSteps(st); len(steps) > 0 {
		s.WriteString("**Superseded**\n\n")
		for i, step := range steps {
			if i == 20 {
				fmt.Fprintf(&s, "- … and %d more\n", len(steps)-i)
				break
			}
			fmt.Fprintf(&s, "- `%s` %s: %s\n", step.Tenant, step.Service, SupersededNote(&step.By))
		}
		s.WriteString("\n")
	}
	if failed := failures(st); len(failed) > 0 {
		s.WriteString("**Failures**\n\n")
		for _, f := range failed {
			s.WriteString("- " + f + "\n")
		}
		s.WriteString("\n")
	}
	waiting := ""
	if len(st.Gates) > 0 {
		s.WriteString("**Gates**\n\n| gate | state | approvals |\n|---|---|---|\n")
		for _, g := range st.Gates {
			state := "not reached"
			switch {
			case g.Open:
				state = "✅ open"
			case !g.WaitingSince.IsZero():
				state = "⏳ waiting"
				waiting = g.ID
			}
			fmt.Fprintf(&s, "| `%s` | %s | %s |\n", g.ID, state, approvals(st, g))
		}
		s.WriteString("\n")
	}
	if waiting != "" {
		fmt.Fprintf(&s, "Approve with `/approve` on the PR, the **Approve** button above, or Slack.\n\n")
	}
	if links.StatusPage != "" {
		fmt.Fprintf(&s, "[Live status](%s)", links.StatusPage)
		if links.History != "" {
			fmt.Fprintf(&s, " · [workflow history](%s)", links.History)
		}
		s.WriteString("\n")
	}
	r.Summary = truncate(s.String(), MaxReportText)
	r.Text = truncate(table(st), MaxReportText)

	if r.Status != "completed" {
		if waiting != "" || anyPaused(st) {
			r.Conclusion = "action_required"
		}
		if waiting != "" {
			r.Actions = append(r.Actions, ReportAction{Label: "Approve", Description: "Approve gate " + limit(waiting, 26), Identifier: ApproveIdentifier(waiting)})
		}
		if st.Paused {
			r.Actions = append(r.Actions, ReportAction{Label: "Resume", Description: "Resume the rollout", Identifier: ActionResume})
		} else {
			r.Actions = append(r.Actions, ReportAction{Label: "Pause", Description: "Start no more tenants", Identifier: ActionPause})
		}
		r.Actions = append(r.Actions, ReportAction{Label: "Roll back", Description: "Roll back every deployed tenant", Identifier: ActionRollback})
	}
	return r
}

// table is the tenants × services table, in wave order.
func table(st Status) string {
	var services []string
	if st.Prepared != nil {
		services = st.Prepared.Services
	}
	var b strings.Builder
	b.WriteString("| wave | tenant | phase |")
	for _, s := range services {
		b.WriteString(" " + s + " |")
	}
	b.WriteString(" note |\n|---|---|---|")
	for range services {
		b.WriteString("---|")
	}
	b.WriteString("---|\n")
	tenants := append([]TenantRecord(nil), st.Tenants...)
	sort.SliceStable(tenants, func(i, j int) bool {
		if tenants[i].Wave != tenants[j].Wave {
			return tenants[i].Wave < tenants[j].Wave
		}
		return tenants[i].Index < tenants[j].Index
	})
	const reserve = 200 // room for the "more" line
	for i, t := range tenants {
		var row strings.Builder
		fmt.Fprintf(&row, "| %s | %s | %s |", waveName(st, t.Wave), t.Tenant, icon(t.Phase))
		for _, svc := range services {
			row.WriteString(" " + serviceCell(t, svc) + " |")
		}
		note := ""
		switch {
		case t.Failure != "":
			note = limit(oneLine(t.Failure), 200)
		case t.LockWait != nil:
			note = fmt.Sprintf("waiting for `%s` (held by %s)", t.LockWait.Lock, t.LockWait.Holder)
		}
		row.WriteString(" " + escapeCell(note) + " |\n")
		if b.Len()+row.Len() > MaxReportText-reserve {
			fmt.Fprintf(&b, "\n… and %d more tenants: see the live status page.\n", len(tenants)-i)
			return b.String()
		}
		b.WriteString(row.String())
	}
	if st.Untouched > 0 {
		fmt.Fprintf(&b, "\n%d more tenants have not started.\n", st.Untouched)
	}
	return b.String()
}

// SupersededStep is a tenant's service that a deployment left to a newer
// merge's.
type SupersededStep struct {
	Tenant  string `json:"tenant"`
	Service string `json:"service"`
	By      Stamp  `json:"by"`
}

// SupersededSteps lists a deployment's superseded steps, in tenant order.
func SupersededSteps(st Status) []SupersededStep {
	var out []SupersededStep
	for _, t := range st.Tenants {
		for _, s := range t.Services {
			if s.Phase != ServiceSuperseded {
				continue
			}
			step := SupersededStep{Tenant: t.Tenant, Service: s.Service}
			if s.SupersededBy != nil {
				step.By = *s.SupersededBy
			}
			out = append(out, step)
		}
	}
	return out
}

func serviceCell(t TenantRecord, svc string) string {
	for _, s := range t.Services {
		if s.Service == svc {
			return icon(s.Phase)
		}
	}
	if t.Phase == TenantSucceeded {
		return "✅"
	}
	if t.Phase == TenantSuperseded {
		return "⏭️"
	}
	return "·"
}

func waveName(st Status, w int) string {
	if w >= 0 && w < len(st.Waves) {
		return st.Waves[w].Name
	}
	return fmt.Sprint(w)
}

// approvals says how far a gate is from opening: "1 of 2 from @acme/sre
// (@ana)". Without a tally yet, it is computed from the requirements.
func approvals(st Status, g GateState) string {
	status := g.Status
	if (status == nil || len(status.Needs) == 0) && st.Prepared != nil {
		t := policies.Tally(st.Prepared.Requirements, g.ID, g.Approvals, st.Request.Excluded())
		status = &t
	}
	if status != nil && len(status.Needs) > 0 {
		var parts []string
		for _, n := range status.Needs {
			p := n.Summary
			if len(n.Approvers) > 0 {
				p += " (" + "@" + strings.Join(n.Approvers, ", @") + ")"
			}
			parts = append(parts, p)
		}
		return strings.Join(parts, "; ")
	}
	var who []string
	for _, a := range g.Approvals {
		who = append(who, "@"+a.Login)
	}
	if len(who) == 0 {
		return "none yet"
	}
	return strings.Join(who, ", ")
}

func failures(st Status) []string {
	var out []string
	for _, t := range st.Tenants {
		if t.Failure != "" && (t.Phase == TenantFailed || t.Phase == TenantRolledBack || t.Phase == TenantPaused) {
			out = append(out, fmt.Sprintf("`%s` %s: %s", t.Tenant, t.Phase, limit(oneLine(t.Failure), 300)))
		}
	}
	if len(out) > 10 {
		out = append(out[:10], fmt.Sprintf("… and %d more", len(out)-10))
	}
	return out
}

func anyPaused(st Status) bool { return st.Counts[TenantPaused] > 0 }

func bar(done, total int) string {
	const width = 20
	n := 0
	if total > 0 {
		n = done * width / total
	}
	return "`" + strings.Repeat("█", n) + strings.Repeat("░", width-n) + "`"
}

func short12(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func escapeCell(s string) string { return strings.ReplaceAll(s, "|", "\\|") }

// limit cuts s to n runes with an ellipsis.
func limit(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// truncate cuts s to at most n bytes on a line boundary, saying so.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const note = "\n\n… (cut to fit GitHub's limit; see the live status page)\n"
	cut := s[:n-len(note)]
	if i := strings.LastIndexByte(cut, '\n'); i > 0 {
		cut = cut[:i]
	}
	return cut + note
}
