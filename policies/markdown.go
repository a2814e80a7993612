package policies

import (
	"fmt"
	"slices"
	"strings"
)

// Markdown renders the decision as a short section of a check-run summary
// or PR comment: the verdict, the rules that fired, the denials and the
// approvals each gate needs. The output depends only on the decision.
func (d Decision) Markdown() string {
	var b strings.Builder
	verdict := map[Verdict]string{
		VerdictAllow:         "allowed",
		VerdictNeedsApproval: "needs approval",
		VerdictDeny:          "denied",
	}[d.Verdict]
	if verdict == "" {
		verdict = string(d.Verdict)
	}
	fmt.Fprintf(&b, "**Policy: %s**\n\n", verdict)
	if d.Revision.SHA != "" {
		fmt.Fprintf(&b, "Rules from `%s/` at %s.\n\n", "policies", mdText(d.Revision.Short()))
	}

	switch {
	case len(d.Fired) == 0 && len(d.Denials) == 0:
		b.WriteString("No policy rule applies to this plan.\n")
	case len(d.Fired) > 0:
		b.WriteString("| rule | where | effect | reason |\n| --- | --- | --- | --- |\n")
		for _, f := range d.Fired {
			reason := mdText(f.Reason)
			if f.When != "" {
				reason += " (when " + mdCode(f.When) + ")"
			}
			fmt.Fprintf(&b, "| %s | %s:%d | %s | %s |\n", mdCode(f.Rule), mdText(f.File), f.Line, f.Effect, reason)
		}
	}

	if len(d.Denials) > 0 {
		if len(d.Fired) > 0 {
			b.WriteString("\n")
		}
		b.WriteString("Denied:\n\n")
		for _, s := range d.Denials {
			fmt.Fprintf(&b, "- %s\n", mdLine(s))
		}
	}

	if len(d.Requirements) > 0 {
		b.WriteString("\nApprovals required:\n\n| gate | approvals | from | rule | notes |\n| --- | --- | --- | --- | --- |\n")
		for _, r := range d.Requirements {
			fmt.Fprintf(&b, "| %s | %d | %s | %s | %s |\n", mdCode(r.Gate), r.Approvals, mdText(r.who()), mdCode(r.Rule), mdText(notes(r)))
		}
	}

	var open []string
	for _, g := range d.Gates {
		if !slices.ContainsFunc(d.Requirements, func(r Requirement) bool { return r.Gate == g }) {
			open = append(open, mdCode(g))
		}
	}
	if len(open) > 0 && d.Verdict != VerdictDeny {
		fmt.Fprintf(&b, "\nNo rule names gate %s; it needs 1 approval from anyone with write access other than the author, the PR's commit authors and co-authors, and the merger.\n", strings.Join(open, ", "))
	}
	return b.String()
}

func notes(r Requirement) string {
	var n []string
	if r.AllowAuthor {
		n = append(n, "the author may approve")
	} else {
		n = append(n, "not the author")
	}
	if r.AllowContributors {
		n = append(n, "committers may approve")
	} else {
		n = append(n, "not the PR's commit authors or co-authors")
	}
	if r.AllowMerger {
		n = append(n, "the merger may approve")
	} else {
		n = append(n, "not the merger")
	}
	if r.AllowReviews {
		n = append(n, "reviews count")
	} else {
		n = append(n, "comment /approve; reviews do not count")
	}
	return strings.Join(n, ", ")
}

// mdLine keeps text on one line.
func mdLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// mdText makes text safe inside a table cell.
func mdText(s string) string {
	return strings.ReplaceAll(mdLine(s), "|", `\|`)
}

// mdCode renders s as inline code inside a table cell.
func mdCode(s string) string {
	s = mdText(s)
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}
