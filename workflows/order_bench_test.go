package workflows_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/prdeploy/prdeploy/workflows"
)

// benchMerges merges web-1 … web-n back to back (started in merge
// order, Prepare equally fast) to the same 5 tenants, all at once
// (maxParallel 5), with 500 ms rollouts, ordered by merge or not, and
// reports the wall time until all six deployments have finished, the
// applies made, and whether every tenant ended on web-6.
func benchMerges(b *testing.B, merges int, ordered bool) {
	for b.Loop() {
		h := orderedHarness(b, 500*time.Millisecond, 5)
		h.wait = 5 * time.Minute
		tenants := []string{"t01", "t02", "t03", "t04", "t05"}
		for i := 1; i <= merges; i++ {
			h.plan(fmt.Sprintf("web-%d", i), "  services: [{name: web, tag: \""+strconv.Itoa(i)+"\"}]\n  tenants: {names: [t01, t02, t03, t04, t05]}\n  rollout: {maxParallel: 5}\n"+noChecks)
		}
		start := time.Now()
		var runs []client.WorkflowRun
		for i := 1; i <= merges; i++ {
			id := fmt.Sprintf("web-%d", i)
			if ordered {
				runs = append(runs, h.deployMerge(id, int64(i)))
			} else {
				runs = append(runs, h.deploy(id))
			}
		}
		superseded := 0
		for _, r := range runs {
			st := h.result(r)
			if st.Phase != workflows.PhaseSucceeded {
				b.Fatalf("%s: %s", st.Request.DeploymentID, st.Phase)
			}
			superseded += st.Superseded
		}
		wall := time.Since(start)
		applies, newest := 0, 0
		for _, e := range h.cluster.Events() {
			if e.Kind == "apply" {
				applies++
			}
		}
		for _, tn := range tenants {
			if h.cluster.Live(tn, "web") == "registry.example.com/web:"+strconv.Itoa(merges) {
				newest++
			}
		}
		b.Logf("ordered %v: %d merges × 5 tenants in %s; %d applies, %d steps superseded; %d of 5 tenants on the newest",
			ordered, merges, wall.Round(time.Millisecond), applies, superseded, newest)
		b.ReportMetric(wall.Seconds(), "wall-s")
		b.ReportMetric(float64(applies), "applies")
		b.ReportMetric(float64(newest), "tenants-on-newest")
	}
}

// BenchmarkSixMergesOrdered: with merge order (this behaviour).
func BenchmarkSixMergesOrdered(b *testing.B) { benchMerges(b, 6, true) }

// BenchmarkSixMergesUnordered: deployments that do not know their merge's
// place (before merge order): every merge is applied, in lock order.
func BenchmarkSixMergesUnordered(b *testing.B) { benchMerges(b, 6, false) }

// BenchmarkOneMergeOrdered and BenchmarkOneMergeUnordered: what ordering
// costs a deployment that nothing supersedes (reading the merge's place,
// and the live stamp before each apply).
func BenchmarkOneMergeOrdered(b *testing.B)   { benchMerges(b, 1, true) }
func BenchmarkOneMergeUnordered(b *testing.B) { benchMerges(b, 1, false) }
