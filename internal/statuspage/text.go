package statuspage

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/prdeploy/prdeploy/workflows"
)

// WriteText prints one deployment in one cluster: a header with its phase
// and progress, what stopped it, its gates, and the waves × tenants ×
// services grid.
func WriteText(w io.Writer, v View) error {
	fmt.Fprintf(w, "%s in %s: %s %s %d/%d\n", v.Deployment, v.Cluster, v.Phase, ProgressBar(v.Done, v.Total, 20), v.Done, v.Total)
	var meta []string
	if v.PR != 0 {
		meta = append(meta, fmt.Sprintf("%s#%d", v.Repo, v.PR))
	}
	if v.SHA != "" {
		meta = append(meta, "commit "+v.SHA[:min(12, len(v.SHA))])
	}
	if v.Started != "" {
		meta = append(meta, "started "+v.Started)
	}
	if v.Finished != "" {
		meta = append(meta, "finished "+v.Finished)
	}
	if v.Elapsed != "" {
		meta = append(meta, v.Elapsed)
	}
	if len(meta) > 0 {
		fmt.Fprintln(w, strings.Join(meta, " · "))
	}
	var counts []string
	for _, c := range v.Counts {
		counts = append(counts, fmt.Sprintf("%s %d", c.Phase, c.N))
	}
	if v.Untouched > 0 {
		counts = append(counts, fmt.Sprintf("not started %d", v.Untouched))
	}
	if len(counts) > 0 {
		fmt.Fprintln(w, "tenants: "+strings.Join(counts, " · "))
	}
	for _, r := range []struct{ label, text string }{{"Paused", v.PauseReason}, {"Stopped", v.StopReason}, {"Error", v.Error}} {
		if r.text != "" {
			fmt.Fprintf(w, "%s: %s\n", r.label, oneLine(r.text))
		}
	}
	if len(v.Failures) > 0 {
		fmt.Fprintln(w, "\nFailures:")
		var tw strings.Builder
		for _, f := range v.Failures {
			fmt.Fprintf(&tw, "  %s\t%s\t%s\n", f.Tenant, Marked(f.Phase), f.Reason)
		}
		if err := Align(w, tw.String()); err != nil {
			return err
		}
	}
	if len(v.Superseded) > 0 {
		fmt.Fprintln(w, "\nSuperseded:")
		var tw strings.Builder
		for _, s := range v.Superseded {
			fmt.Fprintf(&tw, "  %s\t%s\tsuperseded by %s (merged after this one)\n", s.Tenant, s.Service, s.By)
		}
		if err := Align(w, tw.String()); err != nil {
			return err
		}
	}
	if len(v.Gates) > 0 {
		fmt.Fprintln(w, "\nGates:")
		var tw strings.Builder
		fmt.Fprintln(&tw, "  GATE\tBEFORE WAVE\tSTATE\tAPPROVED BY\tSTILL NEEDS")
		for _, g := range v.Gates {
			state := g.State
			if g.Waiting != "" {
				state += " for " + g.Waiting
			}
			approved := "nobody yet"
			if len(g.Approvals) > 0 {
				approved = strings.Join(g.Approvals, ", ")
			}
			fmt.Fprintf(&tw, "  %s\t%s\t%s\t%s\t%s\n", g.ID, g.Wave, state, approved, dashed(strings.Join(g.Needs, "; ")))
		}
		if err := Align(w, tw.String()); err != nil {
			return err
		}
		if v.Phase == workflows.PhaseWaitingApproval {
			fmt.Fprintln(w, "  Approve with /approve on the PR, the Approve button of the check run, or Slack.")
		}
	}
	if len(v.Waves) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	var tw strings.Builder
	fmt.Fprint(&tw, "WAVE\tTENANT\tPHASE")
	for _, s := range v.Services {
		fmt.Fprint(&tw, "\t"+strings.ToUpper(s))
	}
	fmt.Fprintln(&tw, "\tNOTE")
	for _, wave := range v.Waves {
		name := wave.Name
		if wave.Canary && wave.Name != "canary" {
			name += " (canary)"
		}
		for i, r := range wave.Rows {
			label := ""
			if i == 0 {
				label = name
			}
			fmt.Fprintf(&tw, "%s\t%s\t%s", label, r.Tenant, Marked(r.Phase))
			for _, c := range r.Cells {
				fmt.Fprint(&tw, "\t"+Marked(c.Phase))
			}
			fmt.Fprintf(&tw, "\t%s\n", r.Note)
		}
		if wave.NotStarted > 0 {
			label := ""
			if len(wave.Rows) == 0 {
				label = name
			}
			fmt.Fprintf(&tw, "%s\t%d of %d tenants not started yet\n", label, wave.NotStarted, wave.Tenants)
		}
		if len(wave.Rows) == 0 && wave.NotStarted == 0 {
			fmt.Fprintf(&tw, "%s\tno tenants in this cluster\n", name)
		}
	}
	return Align(w, tw.String())
}

// Align writes tab-separated lines as columns two spaces apart, without
// trailing blanks. The last cell of a line does not widen its column.
func Align(w io.Writer, text string) error {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	if _, err := io.WriteString(tw, text); err != nil {
		return err
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	lines := strings.SplitAfter(b.String(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(strings.TrimSuffix(l, "\n"), " ")
		if strings.HasSuffix(l, "\n") {
			lines[i] += "\n"
		}
	}
	_, err := io.WriteString(w, strings.Join(lines, ""))
	return err
}

// ProgressBar draws done of total in width cells: [████░░░░].
func ProgressBar(done, total, width int) string {
	filled := 0
	if total > 0 {
		filled = min(done*width/total, width)
	}
	return "[" + strings.Repeat("█", filled) + strings.Repeat("░", width-filled) + "]"
}

// Marked puts ✓ before a phase that ended well, ↷ before work left to a
// newer merge, and ✗ before one that ended badly; other phases read as
// they are.
func Marked(phase string) string {
	switch phase {
	case workflows.TenantSucceeded, workflows.ServiceHealthy:
		return "✓ " + phase
	case workflows.TenantSuperseded: // a service's too
		return "↷ " + phase
	case workflows.TenantFailed, workflows.TenantRolledBack, workflows.TenantCancelled:
		return "✗ " + phase
	}
	return phase
}

func dashed(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
