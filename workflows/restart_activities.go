// Restart room: the activity of RollingRestart.

package workflows

import (
	"context"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// Restart restarts a service's workloads and waits for the rollout.
func (a *RestartActivities) Restart(ctx context.Context, t ServiceTarget) error {
	if err := a.Cluster.Restart(ctx, t); err != nil {
		return classify(err)
	}
	return classify(a.Cluster.WaitRollout(ctx, t, func(detail string) { activity.RecordHeartbeat(ctx, detail) }))
}

// RestartActivities are the restart room's activities; RollingRestart
// also takes locks (lock room) and runs checks (deploy room's WatchCheck).
type RestartActivities struct {
	Cluster Cluster
}

// RestartWorkflows registers the restart room's workflow.
func RestartWorkflows(r WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(RollingRestart, workflow.RegisterOptions{Name: RollingRestartWorkflow})
}

// RegisterRestart registers the restart room's workflow and activity; a
// function, since a method would be registered as an activity.
func RegisterRestart(r worker.Registry, a *RestartActivities) {
	RestartWorkflows(r)
	r.RegisterActivity(a)
}
