package workflows_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/prdeploy/prdeploy/planner"
	"github.com/prdeploy/prdeploy/workflows"
)

// benchRollout deploys services×tenants in one wave with maxParallel, with
// the simulated rollout taking rollout, on the in-process server, and
// reports wall time over the ideal critical path, overhead per service and
// the largest history of any workflow in the run.
func benchRollout(b *testing.B, tenants, services, maxParallel int, rollout time.Duration) {
	for b.Loop() {
		h := newHarness(b, rollout, tenants)
		h.wait = time.Hour
		var names, svcs []string
		for i := 1; i <= tenants; i++ {
			names = append(names, fmt.Sprintf("t%02d", i))
		}
		// Independent services s00…: one DAG level, so a tenant's ideal
		// time is one rollout.
		for i := 0; i < services; i++ {
			name := fmt.Sprintf("s%02d", i)
			h.fleet.Services = append(h.fleet.Services, planner.ServiceDef{Name: name, Image: "registry.example.com/" + name})
			svcs = append(svcs, fmt.Sprintf("{name: %s, tag: \"2\"}", name))
		}
		h.plan("bench", fmt.Sprintf("  services: [%s]\n  tenants: {names: [%s]}\n  rollout: {maxParallel: %d}\n",
			strings.Join(svcs, ", "), strings.Join(names, ", "), maxParallel)+noChecks)
		start := time.Now()
		st := h.result(h.deploy("bench"))
		wall := time.Since(start)
		if st.Phase != workflows.PhaseSucceeded || st.Counts[workflows.TenantSucceeded] != tenants {
			b.Fatalf("phase %s counts %v", st.Phase, st.Counts)
		}
		ideal := time.Duration((tenants+maxParallel-1)/maxParallel) * rollout
		b.Logf("%d tenants × %d services: %s (ideal %s)", tenants, services, wall.Round(time.Millisecond), ideal)
		b.ReportMetric(wall.Seconds(), "wall-s")
		b.ReportMetric(wall.Seconds()/ideal.Seconds(), "wall/ideal")
		b.ReportMetric(float64(wall-ideal)/float64(time.Millisecond)/float64((tenants+maxParallel-1)/maxParallel), "overhead-ms/tenant-slot")
		b.ReportMetric(float64(maxHistory(b, h)), "max-history-events")
		b.ReportMetric(float64(st.Runs), "continue-as-new")
	}
}

// maxHistory returns the longest history of any workflow run the
// benchmark created.
func maxHistory(b *testing.B, h *harness) int {
	maxLen := 0
	var token []byte
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		resp, err := h.c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{NextPageToken: token, PageSize: 200})
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		// Visibility records may lag; ask each execution for its length.
		for _, e := range resp.Executions {
			d, err := h.c.DescribeWorkflowExecution(context.Background(), e.Execution.WorkflowId, e.Execution.RunId)
			if err != nil {
				b.Fatal(err)
			}
			maxLen = max(maxLen, int(d.WorkflowExecutionInfo.HistoryLength))
		}
		if token = resp.NextPageToken; len(token) == 0 {
			return maxLen
		}
	}
}

// BenchmarkRollout200x5: 200 tenants × 5 services, maxParallel 20, 2 s
// rollouts (target: wall/ideal ≤ 1.15).
func BenchmarkRollout200x5(b *testing.B) { benchRollout(b, 200, 5, 20, 2*time.Second) }

// BenchmarkRollout1000x10: 1,000 tenants × 10 services, maxParallel 50,
// 200 ms rollouts (target: max-history-events < 10,240).
func BenchmarkRollout1000x10(b *testing.B) { benchRollout(b, 1000, 10, 50, 200*time.Millisecond) }
