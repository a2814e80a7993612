// Cleanup room: the activity of CleanupPayloads, and the ports it
// declares.

package workflows

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

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

// CleanupPayloads is the activity behind the CleanupPayloads workflow.
func (a *CleanupActivities) CleanupPayloads(ctx context.Context, in CleanupInput) (CleanupResult, error) {
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

// CleanupActivities are the cleanup room's activities.
type CleanupActivities struct {
	Janitor PayloadJanitor
	Clock   DeploymentClock
}

// CleanupWorkflows registers the cleanup room's workflow.
func CleanupWorkflows(r WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(CleanupPayloads, workflow.RegisterOptions{Name: CleanupWorkflow})
}

// RegisterCleanup registers the cleanup room's workflow and activity; a
// function, since a method would be registered as an activity.
func RegisterCleanup(r worker.Registry, a *CleanupActivities) {
	CleanupWorkflows(r)
	r.RegisterActivity(a)
}
