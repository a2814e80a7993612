package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/prdeploy/prdeploy/commands"
	"github.com/prdeploy/prdeploy/policies"
)

// PRCommandWorkflow runs people's commands on a pull request: comment
// commands, approving reviews and check-run buttons.
const PRCommandWorkflow = "PRCommand"

// PRCommandWorkflowID names the handling of one comment, review, review
// dismissal or button press (source and its id), so a redelivery runs it
// once. A button press's id is its content (PressKey), never the delivery
// GUID, which is not signed.
func PRCommandWorkflowID(repo string, source policies.Source, id string) string {
	return fmt.Sprintf("cmd:%s/%s/%s", repo, source, id)
}

// Command sources: the approval sources of the policies (one definition,
// policies.Source), under the names the PR workflows use.
const (
	SourceComment  = policies.SourceComment
	SourceReview   = policies.SourceReview
	SourceCheckRun = policies.SourceCheckRun
	SourceChat     = policies.SourceSlack
	// SourceDismissal names the workflow of a review dismissal; its
	// input's Source is SourceReview.
	SourceDismissal policies.Source = "review-dismissal"
)

// PRCommand is one command of commands.All (a button press names the
// command it stands for, commands.ForAction); Error, when set, is a parse
// error to reply with.
type PRCommand struct {
	Name  commands.Name `json:"name,omitempty"`
	Args  []string      `json:"args,omitempty"`
	Note  string        `json:"note,omitempty"`
	Error string        `json:"error,omitempty"`
	// GateToken binds a check-run Approve button to the gate it was shown
	// for (GateToken): pressed once that gate is no longer waiting, it
	// approves nothing.
	GateToken string `json:"gateToken,omitempty"`
}

// PRCommandInput is who asked what, where.
type PRCommandInput struct {
	Repo string `json:"repo"`
	PR   int    `json:"pr"`
	// Source and SourceID identify the comment, review or check run.
	Source   policies.Source `json:"source"`
	SourceID int64           `json:"sourceId"`
	Actor    string          `json:"actor"`
	Commands []PRCommand     `json:"commands"`
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
	// ActionID identifies a button press, in chat or on a check run: an
	// approval counts once per press, and each person's press is their own.
	ActionID string `json:"actionId,omitempty"`
	// Commit is the commit an approving review approves (reviews only):
	// only reviews of the PR's final head count.
	Commit string `json:"commit,omitempty"`
	// Dismissal: the review SourceID was dismissed on GitHub (Source
	// review, one unapprove command). It withdraws the review's approval
	// whoever dismissed it, and says so only when there was one.
	Dismissal bool `json:"dismissal,omitempty"`
}

// CommandOutcome says what became of one command.
type CommandOutcome struct {
	Command commands.Name `json:"command"`
	OK      bool          `json:"ok"`
	Message string        `json:"message,omitempty"`
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

// PRCommands runs the commands of one comment, review or button press.
func PRCommands(ctx workflow.Context, in PRCommandInput) ([]CommandOutcome, error) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumInterval: 30 * time.Second, MaximumAttempts: 5},
	})
	var out []CommandOutcome
	err := workflow.ExecuteActivity(actx, (*PRActivities).RunPRCommands, in).Get(ctx, &out)
	return out, err
}

// Metrics the PRCommands activity records on the SDK's metrics handler
// (activity.GetMetricsHandler).
const (
	// MetricCommandsIgnored is a counter: commands prdeploy did not run
	// and did not answer, tagged with MetricTagReason.
	MetricCommandsIgnored = "prdeploy_commands_ignored"
	// MetricTagReason says why: IgnoredNotWriter.
	MetricTagReason = "reason"
	// IgnoredNotWriter: the actor has no write access to the repository.
	IgnoredNotWriter = "not_writer"
)
