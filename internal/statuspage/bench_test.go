package statuspage

import (
	"fmt"
	"io"
	"testing"

	"github.com/prdeploy/prdeploy/workflows"
)

// BenchmarkRender500Tenants builds and renders the page of a deployment of
// four services to 500 tenants in five waves, half of them done: what a
// reload of the status page costs the server (the status query aside).
func BenchmarkRender500Tenants(b *testing.B) {
	st := workflows.Status{
		OrchestrationState: workflows.OrchestrationState{
			Request:  workflows.DeployRequest{Repo: "acme/deploys", SHA: "0123456789abcdef", Cluster: "prod-eu", DeploymentID: "platform-7", PR: 7},
			Prepared: &workflows.PreparedDeployment{Services: []string{"ingest", "query", "store", "web"}},
			Phase:    workflows.PhaseRunning, StartedAt: t0,
		},
		Total: 500, Counts: map[string]int{workflows.TenantSucceeded: 250, workflows.TenantDeploying: 10},
	}
	for w := range 5 {
		st.Waves = append(st.Waves, workflows.WaveSummary{Name: fmt.Sprintf("wave-%d", w), Tenants: 100})
	}
	for i := range 260 {
		t := workflows.TenantRecord{Tenant: fmt.Sprintf("tenant-%03d", i), Wave: i / 100, Index: i % 100, Phase: workflows.TenantSucceeded}
		if i >= 250 {
			t.Phase = workflows.TenantDeploying
			t.Services = []workflows.ServiceStatus{{Service: "ingest", Phase: workflows.ServiceHealthy}, {Service: "query", Phase: workflows.ServiceApplying}}
		}
		st.Tenants = append(st.Tenants, t)
	}
	st.Untouched = 240
	b.ReportAllocs()
	var size int
	for b.Loop() {
		w := &countingWriter{}
		if err := pages.ExecuteTemplate(w, "deployment.html", onePage{Title: "x", View: Build(st, Links{}, t0)}); err != nil {
			b.Fatal(err)
		}
		size = w.n
	}
	b.ReportMetric(float64(size)/1024, "KB-page")
}

type countingWriter struct{ n int }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += len(p); return len(p), nil }

var _ io.Writer = (*countingWriter)(nil)
