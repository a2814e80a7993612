package statuspage

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/prdeploy/prdeploy/policies"
	"github.com/prdeploy/prdeploy/workflows"
)

// Links says where people can see more about a deployment.
type Links struct {
	// GitHubWeb is GitHub's web address (default https://github.com).
	GitHubWeb string
	// History gives the Temporal Web UI's page of a workflow; nil when
	// there is no UI.
	History func(workflowID string) string
}

// View is one deployment as the page shows it (and as JSON: the page's
// ?format=json and `prdeploy status -o json`, camelCase like every JSON
// prdeploy prints).
type View struct {
	Cluster    string `json:"cluster"`
	Deployment string `json:"deployment"`
	Phase      string `json:"phase"`
	// Live: the deployment has not finished, and the page refreshes.
	Live        bool      `json:"live"`
	Repo        string    `json:"repo,omitempty"`
	SHA         string    `json:"sha,omitempty"`
	PR          int       `json:"pr,omitempty"`
	PRURL       string    `json:"prURL,omitempty"`
	ChecksURL   string    `json:"checksURL,omitempty"`
	HistoryURL  string    `json:"historyURL,omitempty"`
	Done        int       `json:"done"`
	Total       int       `json:"total"`
	Untouched   int       `json:"untouched"`
	Ratio       int       `json:"ratio"` // percent done
	Counts      []Count   `json:"counts"`
	PauseReason string    `json:"pauseReason,omitempty"`
	StopReason  string    `json:"stopReason,omitempty"`
	Error       string    `json:"error,omitempty"`
	Services    []string  `json:"services"`
	Waves       []Wave    `json:"waves"`
	Gates       []Gate    `json:"gates"`
	Failures    []Failure `json:"failures"`
	// Superseded lists the tenant × service steps left to deployments
	// merged after this one.
	Superseded []Superseded `json:"superseded,omitempty"`
	Started    string       `json:"started,omitempty"`
	Finished   string       `json:"finished,omitempty"`
	Elapsed    string       `json:"elapsed,omitempty"`
}

// Count is how many tenants are in a phase.
type Count struct {
	Phase string `json:"phase"`
	N     int    `json:"n"`
}

// Wave is a wave of tenants: the started ones as rows, the rest counted.
type Wave struct {
	Name       string `json:"name"`
	Canary     bool   `json:"canary"`
	Gate       string `json:"gate,omitempty"`
	Tenants    int    `json:"tenants"`
	NotStarted int    `json:"notStarted"`
	Rows       []Row  `json:"rows"`
}

// Row is a tenant with a cell per service.
type Row struct {
	Tenant string `json:"tenant"`
	Phase  string `json:"phase"`
	Cells  []Cell `json:"cells"`
	// Note is the failure, or the lock waited for.
	Note string `json:"note,omitempty"`
}

// Cell is a service of a tenant.
type Cell struct {
	Service string `json:"service"`
	Phase   string `json:"phase"`
	// Title is the detail shown on hover: changes applied, or the error.
	Title string `json:"title,omitempty"`
}

// Gate is an approval gate.
type Gate struct {
	ID    string `json:"id"`
	Wave  string `json:"wave"`
	State string `json:"state"` // open, waiting, not-reached
	// Waiting says since when, while the gate waits.
	Waiting   string   `json:"waiting,omitempty"`
	Approvals []string `json:"approvals"` // "@ana (comment)"
	Needs     []string `json:"needs"`
}

// Superseded is a step a newer merge's deployment took over.
type Superseded struct {
	Tenant  string `json:"tenant"`
	Service string `json:"service"`
	// By is the newer deployment, Merge its merge commit.
	By    string `json:"by"`
	Merge string `json:"merge,omitempty"`
}

// Failure is a tenant that failed, paused on a failure or rolled back.
type Failure struct {
	Tenant string `json:"tenant"`
	Phase  string `json:"phase"`
	Reason string `json:"reason"`
}

// Build turns a deployment's status into its view. now is when the page
// is rendered, for durations.
func Build(st workflows.Status, links Links, now time.Time) View {
	req := st.Request
	v := View{
		Cluster: req.Cluster, Deployment: req.DeploymentID, Phase: st.Phase, Live: !Finished(st.Phase),
		Repo: req.Repo, SHA: req.SHA, PR: req.PR,
		Done: st.Counts[workflows.TenantSucceeded] + st.Counts[workflows.TenantSuperseded], Total: st.Total, Untouched: st.Untouched,
		PauseReason: st.PauseReason, StopReason: st.StopReason, Error: st.Error,
	}
	if st.Paused && v.Live {
		v.Phase = workflows.PhasePaused
	}
	if v.Total > 0 {
		v.Ratio = v.Done * 100 / v.Total
	}
	web := strings.TrimRight(links.GitHubWeb, "/")
	if web == "" {
		web = "https://github.com"
	}
	if req.Repo != "" {
		if req.PR != 0 {
			v.PRURL = fmt.Sprintf("%s/%s/pull/%d", web, req.Repo, req.PR)
		}
		if req.SHA != "" {
			v.ChecksURL = fmt.Sprintf("%s/%s/commit/%s/checks", web, req.Repo, url.PathEscape(req.SHA))
		}
	}
	if links.History != nil {
		v.HistoryURL = links.History(workflows.DeployWorkflowID(req.Cluster, req.DeploymentID))
	}
	if !st.StartedAt.IsZero() {
		v.Started = st.StartedAt.UTC().Format("2006-01-02 15:04:05 UTC")
		end := now
		if !st.FinishedAt.IsZero() {
			end = st.FinishedAt
			v.Finished = st.FinishedAt.UTC().Format("2006-01-02 15:04:05 UTC")
		}
		v.Elapsed = Duration(end.Sub(st.StartedAt))
	}
	for _, p := range tenantPhases {
		if n := st.Counts[p]; n > 0 {
			v.Counts = append(v.Counts, Count{Phase: p, N: n})
		}
	}
	if st.Prepared != nil {
		v.Services = st.Prepared.Services
	}

	started := make([]int, len(st.Waves))
	for _, w := range st.Waves {
		v.Waves = append(v.Waves, Wave{Name: w.Name, Canary: w.Canary, Gate: w.Gate, Tenants: w.Tenants})
	}
	tenants := slices.Clone(st.Tenants)
	slices.SortStableFunc(tenants, func(a, b workflows.TenantRecord) int {
		if a.Wave != b.Wave {
			return a.Wave - b.Wave
		}
		return a.Index - b.Index
	})
	for _, t := range tenants {
		for t.Wave >= len(v.Waves) { // a status without its plan's shape
			v.Waves = append(v.Waves, Wave{Name: fmt.Sprint(len(v.Waves))})
			started = append(started, 0)
		}
		started[t.Wave]++
		v.Waves[t.Wave].Rows = append(v.Waves[t.Wave].Rows, row(t, v.Services, now))
		if t.Failure != "" && (t.Phase == workflows.TenantFailed || t.Phase == workflows.TenantRolledBack || t.Phase == workflows.TenantPaused) {
			v.Failures = append(v.Failures, Failure{Tenant: t.Tenant, Phase: t.Phase, Reason: oneLine(t.Failure)})
		}
	}
	for i := range v.Waves {
		v.Waves[i].NotStarted = max(v.Waves[i].Tenants-started[i], 0)
	}
	for _, s := range workflows.SupersededSteps(st) {
		v.Superseded = append(v.Superseded, Superseded{Tenant: s.Tenant, Service: s.Service, By: s.By.Deployment, Merge: s.By.Merge})
	}
	for _, g := range st.Gates {
		v.Gates = append(v.Gates, gate(st, g, now))
	}
	return v
}

var tenantPhases = []string{
	workflows.TenantSucceeded, workflows.TenantSuperseded, workflows.TenantDeploying, workflows.TenantSettling, workflows.TenantLocking,
	workflows.TenantPending, workflows.TenantPaused, workflows.TenantFailed, workflows.TenantRollingBack,
	workflows.TenantRolledBack, workflows.TenantCancelled,
}

func row(t workflows.TenantRecord, services []string, now time.Time) Row {
	r := Row{Tenant: t.Tenant, Phase: t.Phase}
	for _, svc := range services {
		c := Cell{Service: svc, Phase: "not-started"}
		i := slices.IndexFunc(t.Services, func(s workflows.ServiceStatus) bool { return s.Service == svc })
		switch {
		case i >= 0:
			s := t.Services[i]
			c.Phase = s.Phase
			switch {
			case s.Error != "":
				c.Title = oneLine(s.Error)
			case s.Phase == workflows.ServiceSuperseded:
				c.Title = strings.ReplaceAll(workflows.SupersededNote(s.SupersededBy), "`", "")
			case len(s.Applied.Changes) > 0:
				c.Title = strings.Join(s.Applied.Changes, "\n")
			}
		case t.Phase == workflows.TenantSucceeded:
			// Finished tenants keep no per-service detail (but what was
			// superseded).
			c.Phase = workflows.ServiceHealthy
		}
		r.Cells = append(r.Cells, c)
	}
	switch {
	case t.Failure != "":
		r.Note = oneLine(t.Failure)
	case t.LockWait != nil:
		r.Note = fmt.Sprintf("waiting for lock %s, held by %s", t.LockWait.Lock, t.LockWait.Holder)
		if !t.LockWait.Since.IsZero() {
			r.Note += " for " + Duration(now.Sub(t.LockWait.Since))
		}
	}
	return r
}

func gate(st workflows.Status, g workflows.GateState, now time.Time) Gate {
	out := Gate{ID: g.ID, State: "not-reached", Wave: fmt.Sprint(g.Wave)}
	if g.Wave >= 0 && g.Wave < len(st.Waves) {
		out.Wave = st.Waves[g.Wave].Name
	}
	switch {
	case g.Open:
		out.State = "open"
	case !g.WaitingSince.IsZero():
		out.State = "waiting"
		out.Waiting = Duration(now.Sub(g.WaitingSince))
	}
	for _, a := range g.Approvals {
		s := "@" + a.Login
		if a.Source != "" {
			s += " (" + string(a.Source) + ")"
		}
		out.Approvals = append(out.Approvals, s)
	}
	status := g.Status
	if status == nil && st.Prepared != nil {
		t := policies.Tally(st.Prepared.Requirements, g.ID, g.Approvals, st.Request.Excluded())
		status = &t
	}
	if status != nil && !g.Open {
		for _, n := range status.Needs {
			if n.Have < n.Need {
				out.Needs = append(out.Needs, n.Summary)
			}
		}
	}
	return out
}

// Finished says whether a deployment phase is final.
func Finished(phase string) bool {
	switch phase {
	case workflows.PhaseSucceeded, workflows.PhaseFailed, workflows.PhaseCancelled, workflows.PhaseRolledBack:
		return true
	}
	return false
}

// Duration is a short human duration: 45s, 3m12s, 2h05m.
func Duration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
