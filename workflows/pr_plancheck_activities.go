// PR room: the activity of PlanPR, and the port it declares.

package workflows

import (
	"context"
)

// PlanPRChecker checks a PR's plans and publishes the result on the PR
// (internal/prepare).
type PlanPRChecker interface {
	CheckPR(ctx context.Context, in PlanPRInput) (PlanPRResult, error)
}

// CheckPlanPR is the activity behind PlanPR.
func (a *PRActivities) CheckPlanPR(ctx context.Context, in PlanPRInput) (PlanPRResult, error) {
	res, err := a.PlanChecks.CheckPR(ctx, in)
	return res, classify(err)
}
