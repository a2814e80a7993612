// Lock room: the activities of the Lock workflow and of its requesters,
// and the ports they declare.

package workflows

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// LockClient reaches Lock workflows from activities: a request is a
// signal-with-start, since workflow code cannot start a workflow it does
// not own.
type LockClient interface {
	RequestLock(ctx context.Context, key LockKey, req LockRequest) error
}

// WorkflowWatcher tells when a workflow has closed (completed, failed,
// terminated, timed out), so a Lock can free a lock whose holder is gone.
type WorkflowWatcher interface {
	WaitForClose(ctx context.Context, workflowID, runID string) error
}

// RequestLock asks the Lock workflow of key for the lock (signal-with-start).
func (a *LockActivities) RequestLock(ctx context.Context, key LockKey, req LockRequest) error {
	return classify(a.Locks.RequestLock(ctx, key, req))
}

// WatchHolderRequest names a lock holder to watch.
type WatchHolderRequest struct {
	WorkflowID string `json:"workflowId"`
	RunID      string `json:"runId"`
}

// WatchHolder returns when the workflow has closed, heartbeating meanwhile.
func (a *LockActivities) WatchHolder(ctx context.Context, req WatchHolderRequest) error {
	done := make(chan error, 1)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { done <- a.Watcher.WaitForClose(wctx, req.WorkflowID, req.RunID) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			return classify(err)
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
			activity.RecordHeartbeat(ctx, nil)
		}
	}
}

// LockActivities are the lock room's activities.
type LockActivities struct {
	Locks   LockClient
	Watcher WorkflowWatcher
}

// LockWorkflows registers the lock room's workflow.
func LockWorkflows(r WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(Lock, workflow.RegisterOptions{Name: LockWorkflow})
}

// RegisterLock registers the lock room's workflow and activities
// (RequestLock runs as a local activity, by its registered name).
func RegisterLock(r worker.Registry, a *LockActivities) {
	LockWorkflows(r)
	r.RegisterActivity(a)
}
