package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// DefaultPayloadRetention is how long a closed deployment's payloads are
// kept: as long as Temporal keeps closed deployments queryable by default.
const DefaultPayloadRetention = 30 * 24 * time.Hour

// CleanupScheduleID names the Temporal Schedule that runs CleanupPayloads.
const CleanupScheduleID = "prdeploy-payload-cleanup"

// StoredDeployment names a deployment that has payloads in the store.
type StoredDeployment struct {
	Cluster    string `json:"cluster"`
	Deployment string `json:"deployment"`
}

// CleanupInput configures a cleanup run.
type CleanupInput struct {
	// Retention: payloads of deployments closed longer ago are deleted
	// (default DefaultPayloadRetention).
	Retention time.Duration `json:"retention"`
}

// CleanupResult says what a cleanup run did.
type CleanupResult struct {
	Deployments int      `json:"deployments"`
	Deleted     []string `json:"deleted,omitempty"`
	Objects     int      `json:"objects"`
}

// CleanupPayloads deletes the payloads of deployments closed more than the
// retention ago; a Schedule runs it daily. All the work is one activity,
// which heartbeats and is safe to run again (deleting is idempotent).
func CleanupPayloads(ctx workflow.Context, in CleanupInput) (CleanupResult, error) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Hour,
		HeartbeatTimeout:    time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 5},
	})
	var res CleanupResult
	err := workflow.ExecuteActivity(actx, (*CleanupActivities).CleanupPayloads, in).Get(ctx, &res)
	return res, err
}
