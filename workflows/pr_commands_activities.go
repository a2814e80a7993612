// PR room: the activity of PRCommand, and the ports it declares.

package workflows

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/prdeploy/prdeploy/commands"
)

// Deployments reaches running deployments (internal/temporalx).
type Deployments interface {
	// ForPR lists the deployments the merge of a pull request started.
	ForPR(ctx context.Context, repo string, pr int) ([]DeploymentRef, error)
	// Update sends an update (approve, pause, resume, cancel, rollback);
	// a refusal is an error whose text is the reason.
	Update(ctx context.Context, d DeploymentRef, name string, arg any) (Reply, error)
	Status(ctx context.Context, d DeploymentRef) (Status, error)
}

// writers are the repository permissions that may steer a deployment.
var writers = []string{"admin", "maintain", "write"}

// RunPRCommands is the activity behind PRCommands. People without write
// access to the repository are ignored: no reaction, no reply (a reply
// would tell anyone deployment details, and let them make prdeploy
// talk), only a count and a log line without the comment. For writers it
// acknowledges a comment (👀), sends each command to the deployments,
// then reacts 👍 when all were applied and replies with the reason for
// anything refused. A review dismissal withdraws the review's approval
// whoever dismissed it (GitHub lets only writers dismiss).
func (a *PRActivities) RunPRCommands(ctx context.Context, in PRCommandInput) ([]CommandOutcome, error) {
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
	ref, aimed := ParseDeploymentWorkflowID(in.Target)
	if aimed {
		targets = []DeploymentRef{ref}
		if in.PR == 0 || in.Repo == "" { // a button on a merge commit's check run, or in chat
			st, err := a.Deployments.Status(ctx, ref)
			if err != nil {
				return nil, classify(err)
			}
			in.PR, in.Repo = st.Request.PR, st.Request.Repo
		}
	}
	if in.Dismissal {
		return a.withdrawDismissed(ctx, in, targets)
	}
	perm, err := a.Permissions.Permission(ctx, in.Repo, in.Actor)
	if err != nil {
		return nil, classify(err)
	}
	if !slices.Contains(writers, perm) {
		return a.ignore(ctx, in, IgnoredNotWriter, perm)
	}
	if in.Source == SourceComment {
		if err := a.Comments.React(ctx, in.Repo, in.SourceID, "eyes"); err != nil {
			return nil, classify(err)
		}
	}
	if !aimed {
		if targets, err = a.Deployments.ForPR(ctx, in.Repo, in.PR); err != nil {
			return nil, classify(err)
		}
	}
	var out []CommandOutcome
	var replies []string
	for _, c := range in.Commands {
		o := CommandOutcome{Command: c.Name}
		switch {
		case c.Error != "":
			o.Message = c.Error
		case c.Name == commands.Help:
			o.OK, o.Message = true, in.Help
		case len(targets) == 0:
			o.Message = fmt.Sprintf("There is no deployment for PR #%d yet: commands steer the deployments its merge started.", in.PR)
		case c.Name == commands.Status:
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
			o.OK, o.Message = a.applyCommand(ctx, in, c, targets)
		}
		out = append(out, o)
		if o.Message != "" && (!o.OK || c.Name == commands.Status || c.Name == commands.Help || in.Source == SourceChat) {
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
		if err := a.reply(ctx, in, body); err != nil {
			return out, err
		}
	}
	return out, nil
}

// reply posts one reply per comment, review, dismissal or button press,
// even when the activity is retried.
func (a *PRActivities) reply(ctx context.Context, in PRCommandInput, body string) error {
	source, id := in.Source, fmt.Sprint(in.SourceID)
	if in.Dismissal {
		source = SourceDismissal
	}
	if in.ActionID != "" {
		id = in.ActionID
	}
	return classify(a.Comments.UpsertComment(ctx, in.Repo, in.PR, commentKey("reply", string(source), id), body))
}

// ignore answers nobody on GitHub: it counts the commands and logs who
// sent them, never what they wrote.
func (a *PRActivities) ignore(ctx context.Context, in PRCommandInput, reason, perm string) ([]CommandOutcome, error) {
	names := make([]string, 0, len(in.Commands))
	out := make([]CommandOutcome, 0, len(in.Commands))
	for _, c := range in.Commands {
		name := c.Name
		if name == "" {
			name = "unknown"
		}
		names = append(names, string(name))
		out = append(out, CommandOutcome{Command: c.Name, Message: fmt.Sprintf("ignored: %s has %s access to %s", in.Actor, perm, in.Repo)})
	}
	activity.GetMetricsHandler(ctx).WithTags(map[string]string{MetricTagReason: reason}).Counter(MetricCommandsIgnored).Inc(int64(len(in.Commands)))
	activity.GetLogger(ctx).Info("commands ignored", "reason", reason, "permission", perm, "repo", in.Repo, "pr", in.PR,
		"actor", in.Actor, "source", in.Source, "sourceId", in.SourceID, "commands", strings.Join(names, ","))
	if in.Source == SourceChat {
		// A chat answer is private to the presser (a linked member of the
		// configured workspace), and a silent button would puzzle them.
		msg := fmt.Sprintf("%s has %s access to %s; prdeploy's buttons need write access.", in.Actor, perm, in.Repo)
		return out, classify(a.Chat.Ephemeral(ctx, in.ResponseURL, msg))
	}
	return out, nil
}

// withdrawDismissed withdraws a dismissed review's approval from the
// deployments of its PR, and replies only when one was withdrawn.
func (a *PRActivities) withdrawDismissed(ctx context.Context, in PRCommandInput, targets []DeploymentRef) ([]CommandOutcome, error) {
	if len(targets) == 0 {
		var err error
		if targets, err = a.Deployments.ForPR(ctx, in.Repo, in.PR); err != nil {
			return nil, classify(err)
		}
	}
	req := UnapproveRequest{Login: in.Actor, Source: SourceReview, SourceID: strconv.FormatInt(in.SourceID, 10)}
	o := CommandOutcome{Command: commands.Unapprove}
	var withdrawn []string
	for _, t := range targets {
		r, err := a.Deployments.Update(ctx, t, UpdateUnapprove, req)
		if err != nil {
			continue // the review approved nothing there, or no gate waits
		}
		withdrawn = append(withdrawn, fmt.Sprintf("`%s` in `%s`: %s", t.Deployment, t.Cluster, r.Message))
	}
	if len(withdrawn) == 0 {
		o.Message = "the dismissed review had no approval to withdraw"
		return []CommandOutcome{o}, nil
	}
	o.OK, o.Message = true, strings.Join(withdrawn, "; ")
	body := fmt.Sprintf("The review by @%s was dismissed, so its approval no longer counts. %s", in.Actor, o.Message)
	return []CommandOutcome{o}, a.reply(ctx, in, body)
}

// applyCommand sends one command to every target; it is applied when at
// least one deployment accepted it.
func (a *PRActivities) applyCommand(ctx context.Context, in PRCommandInput, c PRCommand, targets []DeploymentRef) (bool, string) {
	def, ok := commands.Get(c.Name)
	if !ok { // a press recorded by its action identifier ("investigate")
		def, ok = commands.ForAction(string(c.Name))
	}
	name := def.UpdateName()
	if !ok || name == "" {
		return false, fmt.Sprintf("`/%s` is not a command prdeploy runs.", c.Name)
	}
	var arg any
	switch def.Name {
	case commands.Approve:
		sourceID := strconv.FormatInt(in.SourceID, 10)
		if in.ActionID != "" {
			sourceID = in.ActionID
		}
		arg = ApproveRequest{Login: in.Actor, Source: in.Source, SourceID: sourceID, Note: c.Note, Commit: in.Commit, GateToken: c.GateToken}
	case commands.Unapprove:
		arg = UnapproveRequest{Login: in.Actor, Source: in.Source}
	default:
		arg = CommandRequest{By: in.Actor, Reason: c.Note, Tenants: c.Args}
	}
	var accepted, refused []string
	for _, t := range targets {
		where := fmt.Sprintf("`%s` in `%s`", t.Deployment, t.Cluster)
		targetArg := arg
		if c.GateToken != "" && name == UpdateApprove {
			gate, err := a.buttonGate(ctx, t, c.GateToken)
			if err != nil {
				refused = append(refused, fmt.Sprintf("%s: %s", where, err))
				continue
			}
			r := arg.(ApproveRequest)
			r.Gate = gate
			targetArg = r
		}
		r, err := a.Deployments.Update(ctx, t, name, targetArg)
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

// buttonGate finds the gate an Approve button was shown for, by its
// token: the approval is for that gate only.
func (a *PRActivities) buttonGate(ctx context.Context, t DeploymentRef, token string) (string, error) {
	st, err := a.Deployments.Status(ctx, t)
	if err != nil {
		return "", err
	}
	for _, g := range st.Gates {
		if GateToken(g.ID) == token {
			return g.ID, nil
		}
	}
	return "", errors.New("this button was for a gate the deployment does not have")
}

// PRActivities are the PR room's activities (PlanPR, MergedPR,
// PRCommand).
type PRActivities struct {
	// PlanChecks checks pull requests' plans (PlanPR); Merges lists the
	// plans of a merge and PullRequests reads its facts (MergedPR).
	PlanChecks   PlanPRChecker
	Merges       MergeReader
	PullRequests PullRequests
	// Comments, Chat, Deployments and Permissions serve people's
	// commands (PRCommand) and the merge's comments.
	Comments    PRComments
	Chat        Chat
	Deployments Deployments
	Permissions Permissions
}

// PRWorkflows registers the PR room's workflows.
func PRWorkflows(r WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(PlanPR, workflow.RegisterOptions{Name: PlanPRWorkflow})
	r.RegisterWorkflowWithOptions(MergedPR, workflow.RegisterOptions{Name: MergedPRWorkflow})
	r.RegisterWorkflowWithOptions(PRCommands, workflow.RegisterOptions{Name: PRCommandWorkflow})
}

// RegisterPR registers the PR room's workflows and activities; a
// function, since a method would be registered as an activity.
func RegisterPR(r worker.Registry, a *PRActivities) {
	PRWorkflows(r)
	r.RegisterActivity(a)
}
