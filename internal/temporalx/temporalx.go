// Package temporalx implements the workflows' Temporal-facing activity
// dependencies with a Temporal client: requesting locks (signal-with-start
// of Lock workflows) and watching lock holders close.
package temporalx

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/prdeploy/prdeploy/workflows"
)

// Locks requests locks with signal-with-start.
type Locks struct{ Client client.Client }

var _ workflows.LockClient = Locks{}

// RequestLock signals the key's Lock workflow, starting it if needed.
func (l Locks) RequestLock(ctx context.Context, key workflows.LockKey, req workflows.LockRequest) error {
	_, err := l.Client.SignalWithStartWorkflow(ctx, key.WorkflowID(), workflows.SignalLockAcquire, req,
		client.StartWorkflowOptions{ID: key.WorkflowID(), TaskQueue: workflows.TaskQueue},
		workflows.LockWorkflow, workflows.LockState{Key: key})
	if err != nil {
		return fmt.Errorf("requesting lock %s: %w", key, err)
	}
	return nil
}

// Watcher waits for workflows to close.
type Watcher struct{ Client client.Client }

var _ workflows.WorkflowWatcher = Watcher{}

// WaitForClose returns nil once the workflow run is closed (or does not
// exist), and an error when it cannot tell (the activity then retries).
func (w Watcher) WaitForClose(ctx context.Context, workflowID, runID string) error {
	for {
		_ = w.Client.GetWorkflow(ctx, workflowID, runID).Get(ctx, nil) // long-polls until the run closes
		if ctx.Err() != nil {
			return ctx.Err()
		}
		d, err := w.Client.DescribeWorkflowExecution(ctx, workflowID, runID)
		var nf *serviceerror.NotFound
		switch {
		case errors.As(err, &nf):
			return nil
		case err != nil:
			return fmt.Errorf("describing %s: %w", workflowID, err)
		case d.WorkflowExecutionInfo.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
			return nil
		}
		// Still running: the long poll ended early (a server restart, say).
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// Clock tells when deployments closed, for payload retention.
type Clock struct{ Client client.Client }

var _ workflows.DeploymentClock = Clock{}

// ClosedAt describes the workflow's latest run. One Temporal no longer
// knows closed before its retention began: closed, at the zero time.
func (c Clock) ClosedAt(ctx context.Context, workflowID string) (bool, time.Time, error) {
	d, err := c.Client.DescribeWorkflowExecution(ctx, workflowID, "")
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &nf):
		return true, time.Time{}, nil
	case err != nil:
		return false, time.Time{}, fmt.Errorf("describing %s: %w", workflowID, err)
	case d.WorkflowExecutionInfo.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
		return false, time.Time{}, nil
	}
	return true, d.WorkflowExecutionInfo.GetCloseTime().AsTime(), nil
}

// EnsureCleanupSchedule creates the Schedule that runs CleanupPayloads
// every interval (daily in production), or updates its interval and
// retention when it exists.
func EnsureCleanupSchedule(ctx context.Context, c client.Client, every, retention time.Duration) (client.ScheduleHandle, error) {
	action := &client.ScheduleWorkflowAction{
		ID:        workflows.CleanupScheduleID,
		Workflow:  workflows.CleanupWorkflow,
		TaskQueue: workflows.TaskQueue,
		Args:      []any{workflows.CleanupInput{Retention: retention}},
	}
	spec := client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: every}}}
	h, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID: workflows.CleanupScheduleID, Spec: spec, Action: action,
		Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
	})
	if errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		h = c.ScheduleClient().GetHandle(ctx, workflows.CleanupScheduleID)
		err = h.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
			s := in.Description.Schedule
			s.Spec, s.Action = &spec, action
			return &client.ScheduleUpdate{Schedule: &s}, nil
		}})
	}
	if err != nil {
		return nil, fmt.Errorf("creating the payload cleanup schedule: %w", err)
	}
	return h, nil
}

// Statuses reads deployments' live status for the reporter.
type Statuses struct{ Client client.Client }

var _ workflows.StatusSource = Statuses{}

// DeploymentStatus asks whether the Orchestration has closed, then queries
// its status: when closed, the answer is its final state.
func (s Statuses) DeploymentStatus(ctx context.Context, cluster, deployment string) (workflows.Status, bool, error) {
	id := workflows.DeployWorkflowID(cluster, deployment)
	d, err := s.Client.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		return workflows.Status{}, false, fmt.Errorf("describing %s: %w", id, err)
	}
	closed := d.WorkflowExecutionInfo.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	st, err := workflows.Describe(ctx, s.Client, cluster, deployment)
	return st, closed, err
}

// Deployments reaches running deployments for people's commands.
type Deployments struct{ Client client.Client }

var _ workflows.Deployments = Deployments{}

// ForPR finds the MergedPR runs of the pull request (by workflow ID
// prefix, so the cost does not grow with every merge ever made) and
// returns the deployments they started, in order.
func (d Deployments) ForPR(ctx context.Context, repo string, pr int) ([]workflows.DeploymentRef, error) {
	prefix := fmt.Sprintf("merge:%s#%d@", repo, pr)
	var refs []workflows.DeploymentRef
	var next []byte
	for {
		resp, err := d.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query:    fmt.Sprintf("WorkflowType = '%s' AND WorkflowId STARTS_WITH '%s'", workflows.MergedPRWorkflow, strings.ReplaceAll(prefix, "'", "")),
			PageSize: 100, NextPageToken: next})
		if err != nil {
			return nil, fmt.Errorf("listing merges: %w", err)
		}
		for _, e := range resp.Executions {
			if !strings.HasPrefix(e.Execution.WorkflowId, prefix) || e.Status != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
				continue
			}
			var res workflows.MergedPRResult
			if err := d.Client.GetWorkflow(ctx, e.Execution.WorkflowId, e.Execution.RunId).Get(ctx, &res); err != nil {
				return nil, fmt.Errorf("reading %s: %w", e.Execution.WorkflowId, err)
			}
			for _, id := range res.Started {
				if ref, ok := workflows.ParseDeploymentWorkflowID(id); ok {
					refs = append(refs, ref)
				}
			}
		}
		if next = resp.NextPageToken; len(next) == 0 {
			break
		}
	}
	slices.SortFunc(refs, func(a, b workflows.DeploymentRef) int {
		return strings.Compare(a.Cluster+"/"+a.Deployment, b.Cluster+"/"+b.Deployment)
	})
	return slices.Compact(refs), nil
}

// Update sends an update and waits for its answer.
func (d Deployments) Update(ctx context.Context, ref workflows.DeploymentRef, name string, arg any) (workflows.Reply, error) {
	var r workflows.Reply
	h, err := d.Client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: workflows.DeployWorkflowID(ref.Cluster, ref.Deployment), UpdateName: name, Args: []any{arg},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return r, err
	}
	err = h.Get(ctx, &r)
	return r, err
}

// Status is the deployment's live status.
func (d Deployments) Status(ctx context.Context, ref workflows.DeploymentRef) (workflows.Status, error) {
	st, err := workflows.Describe(ctx, d.Client, ref.Cluster, ref.Deployment)
	return st, notFound(err)
}

// LockPreview lists held locks among some keys, for plan checks: it lists
// the running Lock workflows and asks only those the plan needs.
type LockPreview struct{ Client client.Client }

var _ workflows.LockPreview = LockPreview{}

// HeldLocks returns the held locks among keys, sorted by key.
func (l LockPreview) HeldLocks(ctx context.Context, keys []workflows.LockKey) ([]workflows.HeldLock, error) {
	want := map[string]workflows.LockKey{}
	for _, k := range keys {
		want[k.WorkflowID()] = k
	}
	var out []workflows.HeldLock
	var next []byte
	for {
		resp, err := l.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Running'", workflows.LockWorkflow), PageSize: 1000, NextPageToken: next})
		if err != nil {
			return nil, fmt.Errorf("listing locks: %w", err)
		}
		for _, e := range resp.Executions {
			key, ok := want[e.Execution.WorkflowId]
			if !ok {
				continue
			}
			v, err := l.Client.QueryWorkflow(ctx, e.Execution.WorkflowId, "", workflows.QueryStatus)
			if err != nil {
				continue // closed meanwhile
			}
			var st workflows.LockState
			if v.Get(&st) != nil || st.Holder == nil {
				continue
			}
			held := workflows.HeldLock{Key: key, Holder: st.Holder.Owner, Since: st.HolderSince.UTC().Format(time.RFC3339), Queued: len(st.Queue)}
			for _, r := range append([]workflows.LockRequest{*st.Holder}, st.Queue...) {
				if r.Order != nil {
					held.Merges = append(held.Merges, *r.Order)
				}
			}
			out = append(out, held)
		}
		if next = resp.NextPageToken; len(next) == 0 {
			break
		}
	}
	slices.SortFunc(out, func(a, b workflows.HeldLock) int { return strings.Compare(a.Key.String(), b.Key.String()) })
	return out, nil
}
