// Report room: the activities of the Report workflow, and the ports
// they declare.

package workflows

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// Linker makes the links of a deployment's reports, where the deployment's
// status page and workflow history are served.
type Linker interface {
	ReportLinks(ref DeploymentRef) ReportLinks
}

// StatusSource reads a deployment's live status and tells whether its
// Orchestration has closed (internal/temporalx).
type StatusSource interface {
	DeploymentStatus(ctx context.Context, cluster, deployment string) (st Status, closed bool, err error)
}

// PublishReports is the activity behind ReportDeployment.
func (a *ReportActivities) PublishReports(ctx context.Context, in ReportInput) error {
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
func (a *ReportActivities) publish(ctx context.Context, in ReportInput, st Status, p *reportProgress) (chatCurrent bool, err error) {
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

// chatChannel is the channel a deployment is reported to: the plan's
// (spec.notify.slack), else its cluster's, else the default ("*").
func (a *ReportActivities) chatChannel(st Status, cluster string) string {
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
func (a *ReportActivities) publishChat(ctx context.Context, in ReportInput, st Status, r Report, p *reportProgress) (current bool) {
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

// ReportActivities are the report room's activities.
type ReportActivities struct {
	CheckRuns CheckRuns
	Comments  PRComments
	Statuses  StatusSource
	// Chat, when set, also reports deployments to chat channels:
	// ChatChannels maps a cluster to its channel ("*" for any other).
	Chat         Chat
	ChatChannels map[string]string
	// Links gives the reports' links; nil means only ReportInput.StatusURL.
	Links Linker
}

// ReportWorkflows registers the report room's workflow.
func ReportWorkflows(r WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(ReportDeployment, workflow.RegisterOptions{Name: ReportWorkflow})
}

// RegisterReport registers the report room's workflow and activities; a
// function, since a method would be registered as an activity.
func RegisterReport(r worker.Registry, a *ReportActivities) {
	ReportWorkflows(r)
	r.RegisterActivity(a)
}
