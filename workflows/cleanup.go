package workflows

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
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

// PayloadJanitor lists and deletes stored payloads by deployment.
type PayloadJanitor interface {
	StoredDeployments(ctx context.Context) ([]StoredDeployment, error)
	DeleteDeployment(ctx context.Context, d StoredDeployment) (int, error)
}

// DeploymentClock tells whether a workflow has closed, and when. A
// workflow Temporal no longer knows closed before its retention began.
type DeploymentClock interface {
	ClosedAt(ctx context.Context, workflowID string) (closed bool, at time.Time, err error)
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
	err := workflow.ExecuteActivity(actx, (*Activities).CleanupPayloads, in).Get(ctx, &res)
	return res, err
}

// CleanupPayloads is the activity behind the CleanupPayloads workflow.
func (a *Activities) CleanupPayloads(ctx context.Context, in CleanupInput) (CleanupResult, error) {
	retention := in.Retention
	if retention <= 0 {
		retention = DefaultPayloadRetention
	}
	var res CleanupResult
	ds, err := a.Janitor.StoredDeployments(ctx)
	if err != nil {
		return res, classify(err)
	}
	res.Deployments = len(ds)
	cutoff := time.Now().Add(-retention)
	for _, d := range ds {
		activity.RecordHeartbeat(ctx, d)
		closed, at, err := a.Clock.ClosedAt(ctx, DeployWorkflowID(d.Cluster, d.Deployment))
		if err != nil {
			return res, classify(fmt.Errorf("asking whether %s/%s is closed: %w", d.Cluster, d.Deployment, err))
		}
		if !closed || at.After(cutoff) {
			continue
		}
		n, err := a.Janitor.DeleteDeployment(ctx, d)
		if err != nil {
			return res, classify(fmt.Errorf("deleting the payloads of %s/%s: %w", d.Cluster, d.Deployment, err))
		}
		res.Deleted = append(res.Deleted, d.Cluster+"/"+d.Deployment)
		res.Objects += n
	}
	return res, nil
}
