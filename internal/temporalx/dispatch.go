package temporalx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/prdeploy/prdeploy/commands"
	"github.com/prdeploy/prdeploy/webhook"
	"github.com/prdeploy/prdeploy/workflows"
)

// Dispatcher turns webhook events into workflow starts. Every start has an
// ID derived from the event (not from the delivery), with "use the
// existing one" on conflict and no reuse of a closed ID: the same event
// delivered three times, or to three webhook replicas, starts one workflow.
type Dispatcher struct {
	Client client.Client
	Logger *slog.Logger
}

var _ webhook.Dispatcher = Dispatcher{}

// ErrNotYetRouted is what Dispatch returns for an event kind this build
// does not act on yet; the webhook answers 500 and GitHub keeps it.
var ErrNotYetRouted = errors.New("not routed yet")

// Dispatch starts the workflow for an event.
func (d Dispatcher) Dispatch(ctx context.Context, e webhook.Event) error {
	switch ev := e.(type) {
	case webhook.PullRequestChanged:
		in := workflows.PlanPRInput{Repo: ev.Repo, PR: ev.Number, HeadSHA: ev.HeadSHA, BaseSHA: ev.BaseSHA, BaseRef: ev.BaseRef, Author: ev.Author, Labels: ev.Labels, UpdatedAt: ev.UpdatedAt}
		return d.start(ctx, workflows.PlanPRWorkflowID(in), workflows.PlanPRWorkflow, in, e)
	case webhook.PullRequestMerged:
		in := workflows.MergedPRInput{Repo: ev.Repo, PR: ev.Number, MergeSHA: ev.MergeCommitSHA, BaseRef: ev.BaseRef, Author: ev.Author, MergedBy: ev.MergedBy, Labels: ev.Labels}
		// A merge whose workflow failed (its facts could not be read) runs
		// again when its delivery is redelivered; one that ran never does.
		return d.startReusing(ctx, workflows.MergedPRWorkflowID(ev.Repo, ev.Number, ev.MergeCommitSHA), workflows.MergedPRWorkflow, in, e,
			enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY)
	case webhook.CommentCommand:
		in := workflows.PRCommandInput{Repo: ev.Repo, PR: ev.Number, Source: workflows.SourceComment, SourceID: ev.CommentID, Actor: ev.Author, Help: webhook.HelpText()}
		for _, c := range ev.Commands {
			in.Commands = append(in.Commands, workflows.PRCommand{Name: c.Name, Args: c.Args, Note: c.Note, Error: c.Error})
		}
		return d.start(ctx, workflows.PRCommandWorkflowID(ev.Repo, workflows.SourceComment, fmt.Sprint(ev.CommentID)), workflows.PRCommandWorkflow, in, e)
	case webhook.ReviewApproved:
		in := workflows.PRCommandInput{Repo: ev.Repo, PR: ev.Number, Source: workflows.SourceReview, SourceID: ev.ReviewID, Actor: ev.Reviewer,
			Commit: ev.CommitID, Commands: []workflows.PRCommand{{Name: commands.Approve, Note: ev.Body}}}
		return d.start(ctx, workflows.PRCommandWorkflowID(ev.Repo, workflows.SourceReview, fmt.Sprint(ev.ReviewID)), workflows.PRCommandWorkflow, in, e)
	case webhook.ReviewDismissed:
		in := workflows.PRCommandInput{Repo: ev.Repo, PR: ev.Number, Source: workflows.SourceReview, SourceID: ev.ReviewID, Actor: ev.Reviewer,
			Dismissal: true, Commands: []workflows.PRCommand{{Name: commands.Unapprove, Note: "dismissed by " + ev.Sender}}}
		return d.start(ctx, workflows.PRCommandWorkflowID(ev.Repo, workflows.SourceDismissal, fmt.Sprint(ev.ReviewID)), workflows.PRCommandWorkflow, in, e)
	case webhook.CheckRunAction:
		// A merge commit's check run lists no pull request: the deployment
		// (ExternalID) knows its PR.
		pr := 0
		if len(ev.PullRequests) > 0 {
			pr = ev.PullRequests[0]
		}
		// A press is named by its signed content, never by the delivery
		// GUID: a captured delivery replayed under a new GUID meets the
		// closed workflow of the first and does nothing.
		// A button names its command (commands.ForAction); one that names
		// none is refused, with a reply, by the PRCommand workflow.
		action, gate := workflows.SplitIdentifier(ev.Identifier)
		name := commands.Name(action)
		if def, ok := commands.ForAction(action); ok {
			name = def.Name
		}
		key := ev.PressKey()
		in := workflows.PRCommandInput{Repo: ev.Repo, PR: pr, Source: workflows.SourceCheckRun, SourceID: ev.CheckRunID, Actor: ev.Sender,
			ActionID: key, Target: ev.ExternalID, Commands: []workflows.PRCommand{{Name: name, GateToken: gate}}}
		return d.start(ctx, workflows.PRCommandWorkflowID(ev.Repo, workflows.SourceCheckRun, key), workflows.PRCommandWorkflow, in, e)
	case webhook.SlackAction:
		target, tenant, _ := strings.Cut(ev.Value, "|")
		action, gate := workflows.SplitIdentifier(ev.ActionID)
		def, ok := commands.ForAction(action)
		if !ok {
			d.logger().Warn("unknown Slack action", "action", ev.ActionID, "delivery", ev.ID)
			return nil
		}
		cmd := workflows.PRCommand{Name: def.Name, GateToken: gate}
		if action == commands.ActionRollbackTenant {
			cmd = workflows.PRCommand{Name: def.Name, Args: []string{tenant}}
		}
		in := workflows.PRCommandInput{Source: workflows.SourceChat, ChatUser: ev.UserID, ResponseURL: ev.ResponseURL, ActionID: ev.ID, Target: target, Commands: []workflows.PRCommand{cmd}}
		return d.start(ctx, workflows.PRCommandWorkflowID("slack", workflows.SourceChat, ev.ID), workflows.PRCommandWorkflow, in, e)
	default:
		d.logger().Warn("webhook event not routed yet", "kind", e.Kind(), "delivery", e.Origin().ID)
		return fmt.Errorf("%s: %w", e.Kind(), ErrNotYetRouted)
	}
}

func (d Dispatcher) start(ctx context.Context, id, workflow string, in any, e webhook.Event) error {
	return d.startReusing(ctx, id, workflow, in, e, enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE)
}

func (d Dispatcher) startReusing(ctx context.Context, id, workflow string, in any, e webhook.Event, reuse enumspb.WorkflowIdReusePolicy) error {
	run, err := d.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: id, TaskQueue: workflows.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    reuse,
	}, workflow, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		d.logger().Info("workflow already ran for this event", "workflow", id, "delivery", e.Origin().ID)
		return nil
	}
	if err != nil {
		return fmt.Errorf("starting %s: %w", id, err)
	}
	// A run still going for the same ID is used as it is: the run ID
	// tells it apart from a new one.
	d.logger().Info("workflow started", "workflow", id, "run", run.GetRunID(), "kind", e.Kind(), "delivery", e.Origin().ID)
	return nil
}

func (d Dispatcher) logger() *slog.Logger {
	if d.Logger != nil {
		return d.Logger
	}
	return slog.New(slog.DiscardHandler)
}
