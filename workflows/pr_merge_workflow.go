package workflows

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Workflow types of a merge.
const (
	MergedPRWorkflow = "MergedPR"
	ReportWorkflow   = "Report"
)

// MergedPRWorkflowID names the handling of one merged pull request.
func MergedPRWorkflowID(repo string, pr int, mergeSHA string) string {
	return fmt.Sprintf("merge:%s#%d@%s", repo, pr, mergeSHA)
}

// ReportWorkflowID names the reporter of one deployment in one cluster.
func ReportWorkflowID(cluster, deployment string) string {
	return "report:" + cluster + "/" + deployment
}

// MergedPRInput is a merged pull request, from its webhook.
type MergedPRInput struct {
	Repo     string   `json:"repo"`
	PR       int      `json:"pr"`
	MergeSHA string   `json:"mergeSha"`
	BaseRef  string   `json:"baseRef"`
	Author   string   `json:"author"`
	MergedBy string   `json:"mergedBy"`
	Labels   []string `json:"labels,omitempty"`
}

// MergedPlan is a plan the merge added or changed.
type MergedPlan struct {
	Path       string   `json:"path"`
	Deployment string   `json:"deployment,omitempty"`
	Clusters   []string `json:"clusters,omitempty"`
	// PolicySHA is the merge's first parent: the base the PR was judged
	// against, whose policies govern the rollout.
	PolicySHA string `json:"policySha,omitempty"`
	// Error: the plan does not load (it should not have merged).
	Error string `json:"error,omitempty"`
}

// MergedPRResult says what the merge started.
type MergedPRResult struct {
	Plans []MergedPlan `json:"plans,omitempty"`
	// Started and Refused are deployment workflow IDs.
	Started []string `json:"started,omitempty"`
	Refused []string `json:"refused,omitempty"`
}

// CommentRequest is one comment on a pull request.
type CommentRequest struct {
	Repo string `json:"repo"`
	PR   int    `json:"pr"`
	Body string `json:"body"`
	// Key, when set, makes the comment one per PR and key (a hidden
	// marker), so a retried activity does not post it twice.
	Key string `json:"key,omitempty"`
}

// MergedPR starts, for every plan the merge added or changed, one
// Orchestration per cluster (ID deploy:<cluster>/<id>) and its Report
// workflow, both outliving this one. A deployment ID that already ran is
// refused, and the PR says so: plans get a new id for a new rollout.
func MergedPR(ctx workflow.Context, in MergedPRInput) (MergedPRResult, error) {
	var res MergedPRResult
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumInterval: time.Minute, MaximumAttempts: 10},
	})
	// The facts the policies judge the PR by are read from GitHub, once,
	// and travel with every deployment; a fact that cannot be read stops
	// the merge here (fail closed), with the reason on the PR. They also
	// say where the deploy branch stood before the PR's own commits: the
	// plans are those the PR changed since then (for a rebase merge of
	// several commits, the merge commit's first parent is one of the PR's).
	var facts *PRFacts
	if workflow.GetVersion(ctx, versionPRFacts, workflow.DefaultVersion, 1) == 1 {
		fctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: time.Minute,
			RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 10 * time.Second, MaximumAttempts: 4},
		})
		var f PRFacts
		if err := workflow.ExecuteActivity(fctx, (*PRActivities).ReadPRFacts, in).Get(ctx, &f); err != nil {
			body := fmt.Sprintf("### prdeploy: nothing deployed from `%s`\n\nThe policies judge a deployment by facts read from GitHub (labels, changed files, commit authors, who merged), and they could not be read: %s\n\nNothing was deployed. When GitHub answers again, redeliver this PR's `pull_request` *closed* delivery from the GitHub App's advanced settings to try again.\n",
				short12(in.MergeSHA), errorText(err))
			_ = workflow.ExecuteActivity(actx, (*PRActivities).Comment, CommentRequest{Repo: in.Repo, PR: in.PR, Body: body, Key: "merged:" + in.MergeSHA}).Get(ctx, nil)
			return res, temporal.NewNonRetryableApplicationError("the pull request's facts could not be read from GitHub: "+errorText(err), "FactsUnavailable", nil)
		}
		if f.MergeSHA != "" {
			facts = &f
		}
	}
	if facts != nil {
		if err := workflow.ExecuteActivity(actx, (*PRActivities).PlansSince, in.Repo, in.MergeSHA, facts.PolicySHA).Get(ctx, &res.Plans); err != nil {
			return res, err
		}
	} else if err := workflow.ExecuteActivity(actx, (*PRActivities).PlansInMerge, in.Repo, in.MergeSHA).Get(ctx, &res.Plans); err != nil {
		return res, err
	}
	var lines []string
	for _, p := range res.Plans {
		if p.Error != "" {
			lines = append(lines, fmt.Sprintf("- ❌ `%s` does not load, nothing deployed: %s", p.Path, p.Error))
			continue
		}
		for _, cluster := range p.Clusters {
			id := DeployWorkflowID(cluster, p.Deployment)
			req := DeployRequest{Repo: in.Repo, SHA: in.MergeSHA, PlanPath: p.Path, Cluster: cluster, DeploymentID: p.Deployment,
				PR: in.PR, PRAuthor: in.Author, MergedBy: in.MergedBy, PolicySHA: p.PolicySHA}
			if facts != nil {
				req.PRAuthor, req.MergedBy, req.PolicySHA, req.Facts = facts.Author, facts.MergedBy, facts.PolicySHA, facts
			}
			cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
				WorkflowID: id, TaskQueue: TaskQueue,
				ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
				WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
			})
			err := workflow.ExecuteChildWorkflow(cctx, OrchestrationWorkflow, OrchestrationInput{Request: req}).GetChildWorkflowExecution().Get(ctx, nil)
			if temporal.IsWorkflowExecutionAlreadyStartedError(err) {
				res.Refused = append(res.Refused, id)
				lines = append(lines, fmt.Sprintf("- ⛔ `%s` in `%s`: deployment id `%s` already ran; a new rollout needs a plan with a new `metadata.name`", p.Path, cluster, p.Deployment))
				continue
			}
			if err != nil {
				return res, fmt.Errorf("starting %s: %w", id, err)
			}
			res.Started = append(res.Started, id)
			rctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
				WorkflowID: ReportWorkflowID(cluster, p.Deployment), TaskQueue: TaskQueue,
				ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
				WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
			})
			rerr := workflow.ExecuteChildWorkflow(rctx, ReportWorkflow, ReportInput{Request: req}).GetChildWorkflowExecution().Get(ctx, nil)
			if rerr != nil && !temporal.IsWorkflowExecutionAlreadyStartedError(rerr) {
				return res, fmt.Errorf("starting the reporter of %s: %w", id, rerr)
			}
			lines = append(lines, fmt.Sprintf("- 🚀 `%s` → `%s` started (`%s`)", p.Deployment, cluster, id))
		}
	}
	if len(lines) == 0 {
		return res, nil
	}
	sort.Strings(lines)
	body := fmt.Sprintf("### prdeploy: merged at `%s`\n\n%s\n\nProgress is on the **prdeploy/deploy** check run of the merge commit. Commands: `/approve`, `/pause`, `/resume`, `/rollback`, `/cancel`, `/status`.\n",
		short12(in.MergeSHA), strings.Join(lines, "\n"))
	err := workflow.ExecuteActivity(actx, (*PRActivities).Comment, CommentRequest{Repo: in.Repo, PR: in.PR, Body: body, Key: "merged:" + in.MergeSHA}).Get(ctx, nil)
	return res, err
}

// versionPRFacts: MergedPR reads the PR's facts from GitHub before it
// starts deployments (histories before it did not).
const versionPRFacts = "pr-facts"

// errorText is an activity error as people read it.
func errorText(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Message()
	}
	return err.Error()
}
