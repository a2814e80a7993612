package workflows

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// PlanPRWorkflow is the workflow type that checks a pull request's plans.
const PlanPRWorkflow = "PlanPR"

// PlanPRWorkflowID names the check of one head commit of a pull request:
// a webhook delivered twice, or to two replicas, starts it once.
func PlanPRWorkflowID(repo string, pr int, headSHA string) string {
	return fmt.Sprintf("plan:%s#%d@%s", repo, pr, headSHA)
}

// PlanPRInput is a pull request's head and base, from its webhook.
type PlanPRInput struct {
	Repo    string   `json:"repo"`
	PR      int      `json:"pr"`
	HeadSHA string   `json:"headSha"`
	BaseSHA string   `json:"baseSha"`
	BaseRef string   `json:"baseRef"`
	Author  string   `json:"author"`
	Labels  []string `json:"labels,omitempty"`
}

// PlanPRResult says what the check found.
type PlanPRResult struct {
	// Plans are the plan files the PR adds or changes (none: no check run).
	Plans       []string `json:"plans,omitempty"`
	Deployments []string `json:"deployments,omitempty"`
	// Conclusion of the prdeploy/plan check run: success or failure.
	Conclusion string `json:"conclusion,omitempty"`
}

// PlanPRChecker checks a PR's plans and publishes the result on the PR
// (internal/prepare).
type PlanPRChecker interface {
	CheckPR(ctx context.Context, in PlanPRInput) (PlanPRResult, error)
}

// PlanPR checks the plans of one head commit of a pull request. The whole
// check is one activity: the summary it publishes can be large, and stays
// out of history.
func PlanPR(ctx workflow.Context, in PlanPRInput) (PlanPRResult, error) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 5 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumInterval: time.Minute, MaximumAttempts: 10},
	})
	var res PlanPRResult
	err := workflow.ExecuteActivity(actx, (*Activities).CheckPlanPR, in).Get(ctx, &res)
	return res, err
}

// CheckPlanPR is the activity behind PlanPR.
func (a *Activities) CheckPlanPR(ctx context.Context, in PlanPRInput) (PlanPRResult, error) {
	res, err := a.PlanChecks.CheckPR(ctx, in)
	return res, classify(err)
}
