package planner

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// MaxTenantRowsPerWave bounds the per-wave tenant tables in Markdown so that a
// plan for thousands of tenants still fits a check-run summary.
const MaxTenantRowsPerWave = 50

// JSON encodes the execution plan deterministically (indented, maps sorted).
func (e *ExecutionPlan) JSON() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(e); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Markdown describes the execution plan for humans: a summary table, the
// service order, the waves with their gates, and the tenants of each wave.
func (e *ExecutionPlan) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "### Deployment `%s`\n\n", e.Deployment)
	if e.Description != "" {
		fmt.Fprintf(&b, "%s\n\n", mdEscape(strings.TrimSpace(e.Description)))
	}
	canary := 0
	if len(e.Waves) > 0 && e.Waves[0].Canary {
		canary = len(e.Waves[0].Tenants)
	}
	b.WriteString("| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| Plan | `%s` |\n", e.File)
	fmt.Fprintf(&b, "| Clusters | %s |\n", strings.Join(e.Clusters, ", "))
	canaryText := ""
	if canary > 0 {
		canaryText = fmt.Sprintf(" (canary: %d)", canary)
	}
	fmt.Fprintf(&b, "| Tenants | %d in %d waves%s |\n", e.TenantCount(), len(e.Waves), canaryText)
	fmt.Fprintf(&b, "| Parallelism | %d tenant%s at a time%s |\n", e.MaxParallel, pluralS(e.MaxParallel), pauseText(e.PauseBetweenWaves))
	fmt.Fprintf(&b, "| Approval gates | %s |\n", gatesText(e.Gates()))
	fmt.Fprintf(&b, "| Safety checks | %s |\n", checksText(e.Checks))
	fmt.Fprintf(&b, "| On failure | %s |\n", failureText(e.OnFailure))
	fmt.Fprintf(&b, "| Rollout timeout | %s per service%s |\n", e.Apply.Timeout, forceText(e.Apply.ForceConflicts))
	if len(e.Skipped) > 0 {
		fmt.Fprintf(&b, "| Skipped | %s (run none of the plan's services) |\n", strings.Join(e.Skipped, ", "))
	}

	b.WriteString("\n#### Services\n\nInside each tenant, services of one step deploy in parallel; a step starts when the previous one is healthy.\n\n")
	b.WriteString("| Step | Service | Image | After |\n|---|---|---|---|\n")
	for _, s := range e.Services {
		after := "—"
		if len(s.After) > 0 {
			after = strings.Join(s.After, ", ")
		}
		fmt.Fprintf(&b, "| %d | %s | `%s` | %s |\n", s.Level+1, s.Name, s.Image, after)
	}

	b.WriteString("\n#### Waves\n\n| # | Wave | Tenants | Clusters | Gate before |\n|---|---|---|---|---|\n")
	for i, w := range e.Waves {
		gate := "—"
		if w.Gate != nil {
			gate = fmt.Sprintf("**%s** (%s)", w.Gate.ID, w.Gate.Reason)
		}
		fmt.Fprintf(&b, "| %d | %s | %d | %s | %s |\n", i+1, w.Name, len(w.Tenants), strings.Join(waveClusters(w), ", "), gate)
	}
	for i, w := range e.Waves {
		fmt.Fprintf(&b, "\n<details><summary>Wave %d: %s — %d tenant%s</summary>\n\n", i+1, w.Name, len(w.Tenants), pluralS(len(w.Tenants)))
		b.WriteString("| Tenant | Cluster | Namespace | Services |\n|---|---|---|---|\n")
		for j, t := range w.Tenants {
			if j == MaxTenantRowsPerWave {
				fmt.Fprintf(&b, "| … and %d more | | | |\n", len(w.Tenants)-j)
				break
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", t.Name, t.Cluster, t.Namespace, strings.Join(t.Services, ", "))
		}
		b.WriteString("\n</details>\n")
	}
	return b.String()
}

func waveClusters(w Wave) []string {
	var out []string
	for _, t := range w.Tenants {
		if !slices.Contains(out, t.Cluster) {
			out = append(out, t.Cluster)
		}
	}
	return out
}

// pluralS is the "s" of "tenants" when n is not 1.
func pluralS(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func pauseText(d Duration) string {
	if d == 0 {
		return ", no pause between waves"
	}
	return fmt.Sprintf(", %s pause between waves", d)
}

func gatesText(gates []Gate) string {
	if len(gates) == 0 {
		return "none"
	}
	ids := make([]string, len(gates))
	for i, g := range gates {
		ids[i] = g.ID
	}
	return strings.Join(ids, ", ")
}

func checksText(c CheckSpec) string {
	var parts []string
	if a := c.NoCriticalAlerts; a != nil {
		parts = append(parts, fmt.Sprintf("noCriticalAlerts `{%s}`", mdEscape(strings.Join(a.Matchers, ", "))))
	} else {
		parts = append(parts, "noCriticalAlerts **off**")
	}
	if p := c.PodsAvailable; p != nil {
		parts = append(parts, fmt.Sprintf("podsAvailable ≥ %g%%", p.MinReadyRatio*100))
	} else {
		parts = append(parts, "podsAvailable **off**")
	}
	if c.NoCriticalAlerts == nil && c.PodsAvailable == nil {
		return "**none: both checks are off**"
	}
	return fmt.Sprintf("%s; every %s, until %s after the last rollout", strings.Join(parts, "; "), c.Interval, c.Settle)
}

func failureText(f FailurePolicy) string {
	switch f.Action {
	case FailurePause:
		return fmt.Sprintf("pause; roll back automatically after %s without a decision", f.RollbackAfter)
	case FailureRollback:
		return "roll back the failed tenant and stop"
	case FailureStop:
		return "stop (no rollback)"
	}
	return f.Action
}

func forceText(force bool) string {
	if force {
		return "; **takes over fields owned by other managers**"
	}
	return ""
}

// mdEscape keeps user text from breaking the tables and HTML around it.
func mdEscape(s string) string {
	r := strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;")
	return r.Replace(s)
}
