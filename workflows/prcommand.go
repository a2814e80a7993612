package workflows

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// PRCommandWorkflow runs people's commands on a pull request: comment
// commands, approving reviews and check-run buttons.
const PRCommandWorkflow = "PRCommand"

// PRCommandWorkflowID names the handling of one comment, review or button
// press (source and its id), so a redelivery runs it once.
func PRCommandWorkflowID(repo, source, id string) string {
	return fmt.Sprintf("cmd:%s/%s/%s", repo, source, id)
}

// Command sources.
const (
	SourceComment  = "comment"
	SourceReview   = "review"
	SourceCheckRun = "check-run"
	SourceChat     = "slack"
)

// PRCommand is one command: approve, pause, resume, cancel, rollback,
// status or help; Error, when set, is a parse error to reply with.
type PRCommand struct {
	Name  string   `json:"name,omitempty"`
	Args  []string `json:"args,omitempty"`
	Note  string   `json:"note,omitempty"`
	Error string   `json:"error,omitempty"`
	// GateToken is the gate an Approve button was shown for.
	GateToken string `json:"gateToken,omitempty"`
}

// PRCommandInput is who asked what, where.
type PRCommandInput struct {
	Repo string `json:"repo"`
	PR   int    `json:"pr"`
	// Source and SourceID identify the comment, review or check run.
	Source   string      `json:"source"`
	SourceID int64       `json:"sourceId"`
	Actor    string      `json:"actor"`
	Commands []PRCommand `json:"commands"`
	// Target is a deployment workflow ID (a check-run button); empty means
	// the deployments the PR's merge started.
	Target string `json:"target,omitempty"`
	// Help is the reply to /help.
	Help string `json:"help,omitempty"`
	// ChatUser and ResponseURL: a chat button press (SourceChat). The
	// chat user is mapped to the GitHub login the policies judge, and the
	// answer goes back privately to ResponseURL.
	ChatUser    string `json:"chatUser,omitempty"`
	ResponseURL string `json:"responseUrl,omitempty"`
	// ActionID identifies a chat button press (an approval counts once
	// per press).
	ActionID string `json:"actionId,omitempty"`
}

// CommandOutcome says what became of one command.
type CommandOutcome struct {
	Command string `json:"command"`
	OK      bool   `json:"ok"`
	Message string `json:"message,omitempty"`
}

// DeploymentRef names a deployment in a cluster.
type DeploymentRef struct {
	Cluster    string `json:"cluster"`
	Deployment string `json:"deployment"`
}

// ParseDeploymentWorkflowID reads "deploy:<cluster>/<deployment>".
func ParseDeploymentWorkflowID(id string) (DeploymentRef, bool) {
	rest, ok := strings.CutPrefix(id, "deploy:")
	if !ok {
		return DeploymentRef{}, false
	}
	cluster, dep, ok := strings.Cut(rest, "/")
	if !ok || cluster == "" || dep == "" || strings.Contains(dep, "/") {
		return DeploymentRef{}, false
	}
	return DeploymentRef{Cluster: cluster, Deployment: dep}, true
}

// Deployments reaches running deployments (internal/temporalx).
type Deployments interface {
	// ForPR lists the deployments the merge of a pull request started.
	ForPR(ctx context.Context, repo string, pr int) ([]DeploymentRef, error)
	// Update sends an update (approve, pause, resume, cancel, rollback);
	// a refusal is an error whose text is the reason.
	Update(ctx context.Context, d DeploymentRef, name string, arg any) (Reply, error)
	Status(ctx context.Context, d DeploymentRef) (Status, error)
}

// PRCommands runs the commands of one comment, review or button press.
func PRCommands(ctx workflow.Context, in PRCommandInput) ([]CommandOutcome, error) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumInterval: 30 * time.Second, MaximumAttempts: 5},
	})
	var out []CommandOutcome
	err := workflow.ExecuteActivity(actx, (*Activities).RunPRCommands, in).Get(ctx, &out)
	return out, err
}

// writers are the repository permissions that may steer a deployment.
var writers = []string{"admin", "maintain", "write"}

// RunPRCommands is the activity behind PRCommands: it acknowledges a
// comment (👀), checks the actor may write to the repository, sends each
// command to the deployments, then reacts 👍 when all were applied and
// replies with the reason for anything refused.
func (a *Activities) RunPRCommands(ctx context.Context, in PRCommandInput) ([]CommandOutcome, error) {
	if in.Source == SourceComment {
		if err := a.Comments.React(ctx, in.Repo, in.SourceID, "eyes"); err != nil {
			return nil, classify(err)
		}
	}
	if in.Source == SourceChat {
		login, ok, err := a.Chat.GitHubLogin(ctx, in.ChatUser)
		if err != nil {
			return nil, classify(err)
		}
		if !ok {
			msg := "Your Slack account is not linked to a GitHub login, so prdeploy cannot tell whether you may do this. Ask whoever runs prdeploy to add you to its Slack user map."
			return []CommandOutcome{{Message: msg}}, classify(a.Chat.Ephemeral(ctx, in.ResponseURL, msg))
		}
		in.Actor = login
	}
	var targets []DeploymentRef
	if ref, ok := ParseDeploymentWorkflowID(in.Target); ok {
		targets = []DeploymentRef{ref}
		if in.PR == 0 || in.Repo == "" { // a button on a merge commit's check run, or in chat
			st, err := a.Deployments.Status(ctx, ref)
			if err != nil {
				return nil, classify(err)
			}
			in.PR, in.Repo = st.Request.PR, st.Request.Repo
		}
	} else {
		var err error
		if targets, err = a.Deployments.ForPR(ctx, in.Repo, in.PR); err != nil {
			return nil, classify(err)
		}
	}
	perm := ""
	var out []CommandOutcome
	var replies []string
	for _, c := range in.Commands {
		o := CommandOutcome{Command: c.Name}
		switch {
		case c.Error != "":
			o.Message = c.Error
		case c.Name == "help":
			o.OK, o.Message = true, in.Help
		case len(targets) == 0:
			o.Message = fmt.Sprintf("There is no deployment for PR #%d yet: commands steer the deployments its merge started.", in.PR)
		case c.Name == "status":
			o.OK = true
			var parts []string
			for _, t := range targets {
				st, err := a.Deployments.Status(ctx, t)
				if err != nil {
					parts = append(parts, fmt.Sprintf("`%s` in `%s`: %v", t.Deployment, t.Cluster, err))
					continue
				}
				parts = append(parts, BuildReport(st, ReportLinks{}).Summary)
			}
			o.Message = strings.Join(parts, "\n\n---\n\n")
		default:
			if perm == "" {
				p, err := a.Permissions.Permission(ctx, in.Repo, in.Actor)
				if err != nil {
					return nil, classify(err)
				}
				perm = p
			}
			if !slices.Contains(writers, perm) {
				o.Message = fmt.Sprintf("@%s, `/%s` needs write access to %s; you have %s.", in.Actor, c.Name, in.Repo, perm)
				break
			}
			o.OK, o.Message = a.applyCommand(ctx, in, c, targets)
		}
		out = append(out, o)
		if o.Message != "" && (!o.OK || c.Name == "status" || c.Name == "help" || in.Source == SourceChat) {
			replies = append(replies, o.Message)
		}
	}
	if in.Source == SourceChat { // the answer is private, in Slack
		if len(replies) > 0 {
			if err := a.Chat.Ephemeral(ctx, in.ResponseURL, strings.Join(replies, "\n")); err != nil {
				return out, classify(err)
			}
		}
		return out, nil
	}
	allOK := len(out) > 0
	for _, o := range out {
		allOK = allOK && o.OK
	}
	if allOK && in.Source == SourceComment {
		if err := a.Comments.React(ctx, in.Repo, in.SourceID, "+1"); err != nil {
			return out, classify(err)
		}
	}
	if len(replies) > 0 {
		body := strings.Join(replies, "\n\n")
		if in.Source != SourceComment {
			body = fmt.Sprintf("@%s (%s): %s", in.Actor, in.Source, body)
		}
		// One reply per command, even when this activity is retried.
		if err := a.Comments.UpsertComment(ctx, in.Repo, in.PR, commentKey("reply", in.Source, fmt.Sprint(in.SourceID)), body); err != nil {
			return out, classify(err)
		}
	}
	return out, nil
}

// applyCommand sends one command to every target; it is applied when at
// least one deployment accepted it.
func (a *Activities) applyCommand(ctx context.Context, in PRCommandInput, c PRCommand, targets []DeploymentRef) (bool, string) {
	var name string
	var arg any
	switch c.Name {
	case "approve":
		sourceID := strconv.FormatInt(in.SourceID, 10)
		if in.ActionID != "" {
			sourceID = in.ActionID
		}
		name, arg = UpdateApprove, ApproveRequest{Login: in.Actor, Source: in.Source, SourceID: sourceID, Note: c.Note, GateToken: c.GateToken}
	case "pause", "resume", "cancel", "rollback":
		name, arg = c.Name, CommandRequest{By: in.Actor, Reason: c.Note, Tenants: c.Args}
	case "investigate": // Slack's "Investigate (keep paused)"
		name, arg = UpdateHold, CommandRequest{By: in.Actor, Reason: c.Note}
	default:
		return false, fmt.Sprintf("`/%s` is not a command prdeploy runs.", c.Name)
	}
	var accepted, refused []string
	for _, t := range targets {
		r, err := a.Deployments.Update(ctx, t, name, arg)
		where := fmt.Sprintf("`%s` in `%s`", t.Deployment, t.Cluster)
		if err != nil {
			var app *temporal.ApplicationError
			msg := err.Error()
			if errors.As(err, &app) {
				msg = app.Message()
			}
			refused = append(refused, fmt.Sprintf("%s: %s", where, msg))
			continue
		}
		accepted = append(accepted, fmt.Sprintf("%s: %s", where, r.Message))
	}
	if len(accepted) == 0 {
		return false, fmt.Sprintf("@%s, `/%s` was refused: %s", in.Actor, c.Name, strings.Join(refused, "; "))
	}
	return true, strings.Join(accepted, "; ")
}
