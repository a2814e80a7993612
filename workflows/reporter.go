package workflows

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
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

// StatusSource reads a deployment's live status and tells whether its
// Orchestration has closed (internal/temporalx).
type StatusSource interface {
	DeploymentStatus(ctx context.Context, cluster, deployment string) (st Status, closed bool, err error)
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
	return workflow.ExecuteActivity(actx, (*Activities).PublishReports, in).Get(ctx, nil)
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

// PublishReports is the activity behind ReportDeployment.
func (a *Activities) PublishReports(ctx context.Context, in ReportInput) error {
	every := cmp.Or(in.Every, DefaultReportEvery)
	var p reportProgress
	if activity.HasHeartbeatDetails(ctx) {
		_ = activity.GetHeartbeatDetails(ctx, &p)
	}
	req := in.Request
	tick := time.NewTicker(every)
	defer tick.Stop()
	// Once the deployment has closed, a chat that could not be brought up
	// to date (Slack down) gets a few more polls before the reporter ends.
	const chatTriesAfterClose = 12
	chatTries := 0
	for {
		st, closed, err := a.Statuses.DeploymentStatus(ctx, req.Cluster, req.DeploymentID)
		if err == nil {
			chatCurrent, err := a.publish(ctx, in, st, &p)
			if err != nil {
				return classify(err)
			}
			if closed && (chatCurrent || chatTries >= chatTriesAfterClose) {
				return nil
			}
			if closed {
				chatTries++
			}
		}
		activity.RecordHeartbeat(ctx, p)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// publish writes the report everywhere; chatCurrent says whether the chat
// (which never fails the reporter) is up to date.
func (a *Activities) publish(ctx context.Context, in ReportInput, st Status, p *reportProgress) (chatCurrent bool, err error) {
	req := in.Request
	links := ReportLinks{StatusPage: in.StatusURL}
	if a.Links != nil {
		links = a.Links.ReportLinks(DeploymentRef{Cluster: req.Cluster, Deployment: req.DeploymentID})
	}
	r := BuildReport(st, links)
	chatCurrent = a.publishChat(ctx, in, st, r, p)
	if key := reportKey(r); key != p.Published {
		id, err := a.CheckRuns.PublishCheckRun(ctx, CheckRun{Repo: req.Repo, HeadSHA: req.SHA, Name: DeployCheckName,
			ExternalID: DeployWorkflowID(req.Cluster, req.DeploymentID), DetailsURL: links.StatusPage, Report: r})
		if err != nil {
			return chatCurrent, fmt.Errorf("publishing the deploy check: %w", err)
		}
		p.Published, p.CheckRunID = key, id
		activity.RecordHeartbeat(ctx, *p)
	}
	if req.PR == 0 {
		return chatCurrent, nil
	}
	for _, m := range Milestones(st) {
		if slices.Contains(p.Milestones, m.ID) {
			continue
		}
		// Keyed by a hidden marker: a reporter retried before its last
		// heartbeat reached Temporal finds the comment instead of posting
		// it again.
		key := commentKey("milestone", req.Cluster+"/"+req.DeploymentID, m.ID)
		if err := a.Comments.UpsertComment(ctx, req.Repo, req.PR, key, m.Body); err != nil {
			return chatCurrent, fmt.Errorf("commenting %s: %w", m.ID, err)
		}
		p.Milestones = append(p.Milestones, m.ID)
		activity.RecordHeartbeat(ctx, *p)
	}
	return chatCurrent, nil
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

// chatChannel is the channel a deployment is reported to: the plan's
// (spec.notify.slack), else its cluster's, else the default ("*").
func (a *Activities) chatChannel(st Status, cluster string) string {
	if st.Prepared != nil && st.Prepared.ChatChannel != "" {
		return st.Prepared.ChatChannel
	}
	if ch, ok := a.ChatChannels[cluster]; ok {
		return ch
	}
	return a.ChatChannels["*"]
}

// publishChat keeps the deployment's chat message and thread current. The
// chat service being down or slow never fails or stalls the deployment
// (nor the check run): an error is logged, and the next tick catches up.
func (a *Activities) publishChat(ctx context.Context, in ReportInput, st Status, r Report, p *reportProgress) (current bool) {
	channel := a.chatChannel(st, in.Request.Cluster)
	if a.Chat == nil || channel == "" {
		return true
	}
	log := activity.GetLogger(ctx)
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	m := ChatMessage{Channel: channel, Ref: p.Chat, Report: r, Deployment: DeployWorkflowID(in.Request.Cluster, in.Request.DeploymentID)}
	if who := cmp.Or(in.Request.MergedBy, in.Request.PRAuthor); who != "" {
		if id, ok, err := a.Chat.LookupUser(cctx, who); err == nil && ok {
			m.Mention = id
		}
	}
	now := time.Now()
	for _, t := range st.Tenants {
		if t.Phase != TenantPaused || t.Failure == "" {
			continue
		}
		if p.PausedSince == nil {
			p.PausedSince = map[string]time.Time{}
		}
		since, ok := p.PausedSince[t.Tenant]
		if !ok {
			since = now
			p.PausedSince[t.Tenant] = now
		}
		pf := &PausedOnFailure{Tenant: t.Tenant, Reason: t.Failure}
		if st.Prepared != nil && !strings.Contains(t.Failure, "kept paused by") {
			pf.RollbackAt = since.Add(st.Prepared.OnFailure.RollbackAfter.D()).Truncate(time.Second)
		}
		m.PausedOnFailure = pf
		break
	}
	keyed := m
	keyed.Ref = ChatRef{}
	if key := reportKey(keyed); key != p.ChatPublished {
		ref, err := a.Chat.UpsertMessage(cctx, m)
		if err != nil {
			log.Warn("chat message not updated; will retry", "deployment", m.Deployment, "error", err)
			return false
		}
		p.Chat, p.ChatPublished = ref, key
	}
	for _, ms := range Milestones(st) {
		if slices.Contains(p.ChatMilestones, ms.ID) {
			continue
		}
		if err := a.Chat.Reply(cctx, p.Chat, ms.Body); err != nil {
			log.Warn("chat milestone not posted; will retry", "deployment", m.Deployment, "milestone", ms.ID, "error", err)
			return false
		}
		p.ChatMilestones = append(p.ChatMilestones, ms.ID)
	}
	return true
}
