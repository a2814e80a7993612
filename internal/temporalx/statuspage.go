package temporalx

import (
	"context"
	"errors"
	"fmt"
	"sync"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/prdeploy/prdeploy/internal/statuspage"
	"github.com/prdeploy/prdeploy/workflows"
)

var _ statuspage.Source = Deployments{}

// deploymentsQuery lists deployments: Orchestration runs that did not
// continue as new (the last run of each stands for the deployment).
var deploymentsQuery = fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus != 'ContinuedAsNew'", workflows.OrchestrationWorkflow)

// Recent lists running deployments, then the most recently closed (the
// visibility store's order), each with its status query's answer.
func (d Deployments) Recent(ctx context.Context, limit int) ([]statuspage.Entry, error) {
	resp, err := d.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: deploymentsQuery, PageSize: int32(limit)})
	if err != nil {
		return nil, fmt.Errorf("listing deployments: %w", err)
	}
	var out []statuspage.Entry
	for _, e := range resp.Executions {
		ref, ok := workflows.ParseDeploymentWorkflowID(e.GetExecution().GetWorkflowId())
		if !ok {
			continue
		}
		out = append(out, statuspage.Entry{Ref: ref, Running: e.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING,
			StartedAt: e.GetStartTime().AsTime(), ClosedAt: e.GetCloseTime().AsTime()})
		if len(out) == limit {
			break
		}
	}
	// Ask each its status, a few at a time (a closed one is replayed by a
	// worker to answer).
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range out {
		wg.Add(1)
		sem <- struct{}{}
		go func(e *statuspage.Entry) {
			defer func() { <-sem; wg.Done() }()
			var st workflows.Status
			v, err := d.Client.QueryWorkflow(ctx, workflows.DeployWorkflowID(e.Ref.Cluster, e.Ref.Deployment), "", workflows.QueryStatus)
			if err == nil {
				err = v.Get(&st)
			}
			if err != nil {
				e.Err = err.Error()
				return
			}
			e.Status = &st
		}(&out[i])
	}
	wg.Wait()
	return out, nil
}

// Find lists the clusters a deployment ran in. Visibility cannot match
// the end of a workflow ID, so it reads the deployments' IDs, newest
// first, up to a bound.
func (d Deployments) Find(ctx context.Context, deployment string) ([]workflows.DeploymentRef, error) {
	const bound = 5000
	var refs []workflows.DeploymentRef
	seen := map[workflows.DeploymentRef]bool{}
	var next []byte
	for read := 0; read < bound; {
		resp, err := d.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: deploymentsQuery, PageSize: 500, NextPageToken: next})
		if err != nil {
			return nil, fmt.Errorf("listing deployments: %w", err)
		}
		read += len(resp.Executions)
		for _, e := range resp.Executions {
			ref, ok := workflows.ParseDeploymentWorkflowID(e.GetExecution().GetWorkflowId())
			if ok && ref.Deployment == deployment && !seen[ref] {
				seen[ref] = true
				refs = append(refs, ref)
			}
		}
		if next = resp.NextPageToken; len(next) == 0 {
			break
		}
	}
	return refs, nil
}

// notFound turns Temporal's "no such workflow" into statuspage.ErrNotFound.
func notFound(err error) error {
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return fmt.Errorf("%w: %v", statuspage.ErrNotFound, err)
	}
	return err
}
