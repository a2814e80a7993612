package workflows_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/prdeploy/prdeploy/internal/temporalx"
	"github.com/prdeploy/prdeploy/workflows"
)

// memJanitor is a payload store's deployments, in memory (the real one,
// internal/payload, is tested against files in its package).
type memJanitor struct {
	mu      sync.Mutex
	objects map[workflows.StoredDeployment]int
}

func (j *memJanitor) StoredDeployments(context.Context) ([]workflows.StoredDeployment, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []workflows.StoredDeployment
	for d := range j.objects {
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b workflows.StoredDeployment) int {
		return strings.Compare(a.Cluster+"/"+a.Deployment, b.Cluster+"/"+b.Deployment)
	})
	return out, nil
}

func (j *memJanitor) DeleteDeployment(_ context.Context, d workflows.StoredDeployment) (int, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	n := j.objects[d]
	delete(j.objects, d)
	return n, nil
}

// TestPayloadCleanupSchedule: the Schedule runs CleanupPayloads, which
// deletes the payloads of a deployment that closed longer ago than the
// retention and of one Temporal no longer knows, and keeps those of a
// deployment still running.
func TestPayloadCleanupSchedule(t *testing.T) {
	janitor := &memJanitor{objects: map[workflows.StoredDeployment]int{
		{Cluster: "c1", Deployment: "done"}:      5,
		{Cluster: "c1", Deployment: "running"}:   3,
		{Cluster: "c1", Deployment: "forgotten"}: 2,
	}}
	h := newHarness(t, 50*time.Millisecond, 2, func(h *harness) {
		h.acts = &workflows.Activities{Plans: h.plans, Cluster: h.cluster, Probes: h.prober, Directory: h.dir,
			Janitor: janitor, Clock: temporalx.Clock{Client: h.c}}
	})
	h.plan("done", `  services: [{name: api, tag: "2"}]
  tenants: {names: [t01]}
`+noChecks)
	h.result(h.deploy("done"))
	h.plan("running", `  services: [{name: api, tag: "3"}]
  tenants: {names: [t01, t02]}
  rollout: {canary: {tenants: [t01]}, approval: after-canary}
`+noChecks)
	h.deploy("running") // waits at its gate

	ctx := context.Background()
	handle, err := temporalx.EnsureCleanupSchedule(ctx, h.c, 24*time.Hour, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	// A second start of prdeploy finds the schedule and updates it.
	if _, err := temporalx.EnsureCleanupSchedule(ctx, h.c, 24*time.Hour, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := handle.Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
		t.Fatal(err)
	}
	var run *client.ScheduleWorkflowExecution
	h.eventually("the schedule to start a cleanup", 30*time.Second, func() bool {
		d, err := handle.Describe(ctx)
		if err != nil || len(d.Info.RecentActions) == 0 {
			return false
		}
		run = d.Info.RecentActions[0].StartWorkflowResult
		return run != nil
	})
	var res workflows.CleanupResult
	if err := h.c.GetWorkflow(ctx, run.WorkflowID, run.FirstExecutionRunID).Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Deleted, []string{"c1/done", "c1/forgotten"}) || res.Objects != 7 || res.Deployments != 3 {
		t.Fatalf("cleanup: %+v", res)
	}
	if left, _ := janitor.StoredDeployments(ctx); len(left) != 1 || left[0].Deployment != "running" {
		t.Fatalf("left: %+v", left)
	}
}
