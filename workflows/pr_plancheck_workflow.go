package workflows

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// PlanPRWorkflow is the workflow type that checks a pull request's plans.
const PlanPRWorkflow = "PlanPR"

// PlanPRWorkflowID names the check of one state of a pull request: its
// head commit, and a digest of its base branch, its labels and GitHub's
// updated_at. A webhook delivered twice, or to two replicas, starts it
// once; a label added or removed, or a new base, is a new state and is
// checked again, even when it ends where an earlier one began.
func PlanPRWorkflowID(in PlanPRInput) string {
	labels := slices.Clone(in.Labels)
	slices.Sort(labels)
	h := sha256.New()
	fmt.Fprintf(h, "base %s\nupdated %s\n", in.BaseRef, in.UpdatedAt.UTC().Format(time.RFC3339Nano))
	for _, l := range labels {
		fmt.Fprintf(h, "label %s\n", l)
	}
	return fmt.Sprintf("plan:%s#%d@%s/%s", in.Repo, in.PR, in.HeadSHA, hex.EncodeToString(h.Sum(nil)[:6]))
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
	// UpdatedAt is the PR's updated_at in the webhook that asked for the
	// check (part of its workflow ID).
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
}

// PlanPRResult says what the check found.
type PlanPRResult struct {
	// Plans are the plan files the PR adds or changes (none: the check, if
	// any, is of what the PR changes in the next deploys).
	Plans       []string `json:"plans,omitempty"`
	Deployments []string `json:"deployments,omitempty"`
	// Conclusion of the prdeploy/plan check run: success or failure.
	Conclusion string `json:"conclusion,omitempty"`
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
	err := workflow.ExecuteActivity(actx, (*PRActivities).CheckPlanPR, in).Get(ctx, &res)
	return res, err
}
