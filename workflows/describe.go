package workflows

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/converter"
)

// Querier queries workflows (a Temporal client).
type Querier interface {
	QueryWorkflow(ctx context.Context, workflowID, runID, queryType string, args ...any) (converter.EncodedValue, error)
}

// Describe returns a deployment's whole status: the Orchestration's state,
// with the live service phases and lock waits of the tenants in progress
// read from their own workflows (the Orchestration keeps per-service
// detail only for tenants that did not succeed, to stay small).
func Describe(ctx context.Context, q Querier, cluster, deployment string) (Status, error) {
	var st Status
	v, err := q.QueryWorkflow(ctx, DeployWorkflowID(cluster, deployment), "", QueryStatus)
	if err != nil {
		return st, fmt.Errorf("querying deployment %s in %s: %w", deployment, cluster, err)
	}
	if err := v.Get(&st); err != nil {
		return st, err
	}
	for i := range st.Tenants {
		t := &st.Tenants[i]
		if !t.FinishedAt.IsZero() {
			continue
		}
		v, err := q.QueryWorkflow(ctx, TenantWorkflowID(cluster, deployment, t.Tenant), "", QueryStatus)
		if err != nil {
			continue // not started yet, or just finished: the record stands
		}
		var ts TenantStatus
		if v.Get(&ts) == nil {
			t.Services, t.LockWait = ts.Services, ts.LockWait
			if t.Phase != TenantRollingBack {
				t.Phase = ts.Phase
			}
		}
	}
	return st, nil
}
