package metrics

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/prdeploy/prdeploy/internal/devserver"
	"github.com/prdeploy/prdeploy/workflows"
)

// fakeDeployments is a DeploymentCounter over deployments kept in memory:
// tests move them between statuses as Temporal would.
type fakeDeployments struct {
	mu     sync.Mutex
	status map[string]string // deployment → execution status
	err    error
	block  bool // wait for the context to end, as a hung server would
	asked  []string
}

var _ DeploymentCounter = (*fakeDeployments)(nil)

func (f *fakeDeployments) CountDeployments(ctx context.Context, status string) (int64, error) {
	f.mu.Lock()
	f.asked = append(f.asked, status)
	err, block := f.err, f.block
	var n int64
	for _, s := range f.status {
		if s == status {
			n++
		}
	}
	f.mu.Unlock()
	if _, ok := ctx.Deadline(); !ok {
		return 0, errors.New("counting without a deadline")
	}
	if block {
		<-ctx.Done()
		return 0, ctx.Err()
	}
	return n, err
}

func (f *fakeDeployments) set(deployment, status string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status[deployment] = status
}

func TestDeploymentsCountedAtScrape(t *testing.T) {
	fake := &fakeDeployments{status: map[string]string{"web-1": "Running", "web-2": "Running", "api-1": "Completed", "db-1": "Failed"}}
	m := New()
	if err := m.CollectDeployments(fake, 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := m.CollectDeployments(fake, 0); err == nil {
		t.Error("a second CollectDeployments was accepted")
	}
	url := serve(t, m)

	want := func(got map[string]float64, counts map[string]float64, errs float64) {
		t.Helper()
		for _, s := range deploymentStates {
			series := fmt.Sprintf(`prdeploy_deployments{state=%q}`, s.state)
			if v, ok := got[series]; !ok || v != counts[s.state] {
				t.Errorf("%s = %v (present %t), want %v", series, v, ok, counts[s.state])
			}
		}
		if v := got["prdeploy_deployments_scrape_errors_total"]; v != errs {
			t.Errorf("scrape errors = %v, want %v", v, errs)
		}
	}
	want(scrape(t, url), map[string]float64{"running": 2, "completed": 1, "failed": 1}, 0)

	// web-1 finishes, web-2 is terminated, a new one starts: the next
	// scrape asks again.
	fake.set("web-1", "Completed")
	fake.set("web-2", "Terminated")
	fake.set("web-3", "Running")
	want(scrape(t, url), map[string]float64{"running": 1, "completed": 2, "failed": 1, "terminated": 1}, 0)

	fake.mu.Lock()
	fake.asked, fake.err = nil, errors.New("visibility unavailable")
	fake.mu.Unlock()
	got := scrape(t, url)
	for series := range got {
		if strings.HasPrefix(series, "prdeploy_deployments{") {
			t.Errorf("%s exported from a failed count", series)
		}
	}
	if v := got["prdeploy_deployments_scrape_errors_total"]; v != 1 {
		t.Errorf("scrape errors = %v, want 1", v)
	}
	if len(fake.asked) != 1 {
		t.Errorf("asked %v after the first failure, want to stop there", fake.asked)
	}

	// A server that does not answer costs the timeout, not the scrape.
	fake.mu.Lock()
	fake.err, fake.block = nil, true
	fake.mu.Unlock()
	began := time.Now()
	got = scrape(t, url)
	if d := time.Since(began); d > 2*time.Second {
		t.Errorf("scrape took %v with a hung counter and a 100ms timeout", d)
	}
	if v := got["prdeploy_deployments_scrape_errors_total"]; v != 2 {
		t.Errorf("scrape errors = %v, want 2", v)
	}

	fake.mu.Lock()
	fake.block = false
	fake.mu.Unlock()
	want(scrape(t, url), map[string]float64{"running": 1, "completed": 2, "failed": 1, "terminated": 1}, 2)
}

// TestDeploymentsFromTemporal counts real workflows of the Orchestration
// type in the embedded Temporal server: one running, one completed, one
// terminated, and a workflow of another type that is not a deployment.
func TestDeploymentsFromTemporal(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := devserver.Start(ctx, devserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	c, err := s.Client()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)

	const queue = "metrics-test"
	// A stand-in registered under the deployments' type name: it ends when
	// told to.
	untilReleased := func(ctx workflow.Context) error {
		workflow.GetSignalChannel(ctx, "release").Receive(ctx, nil)
		return nil
	}
	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflowWithOptions(untilReleased, workflow.RegisterOptions{Name: workflows.OrchestrationWorkflow})
	w.RegisterWorkflowWithOptions(untilReleased, workflow.RegisterOptions{Name: "SomethingElse"})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	for _, id := range []string{"deploy:c1/done", "deploy:c1/stopped", "deploy:c1/running"} {
		if _, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, workflows.OrchestrationWorkflow); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "other", TaskQueue: queue}, "SomethingElse"); err != nil {
		t.Fatal(err)
	}
	if err := c.SignalWorkflow(ctx, "deploy:c1/done", "", "release", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.GetWorkflow(ctx, "deploy:c1/done", "").Get(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.TerminateWorkflow(ctx, "deploy:c1/stopped", "", "test"); err != nil {
		t.Fatal(err)
	}

	m := New()
	if err := m.CollectDeployments(TemporalDeployments{Client: c}, 0); err != nil {
		t.Fatal(err)
	}
	url := serve(t, m)
	want := map[string]float64{"running": 1, "completed": 1, "terminated": 1, "failed": 0, "canceled": 0, "timed_out": 0}
	var got map[string]float64
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		got = scrape(t, url)
		match := true
		for state, n := range want {
			match = match && got[fmt.Sprintf(`prdeploy_deployments{state=%q}`, state)] == n
		}
		if match || time.Now().After(deadline) {
			break
		}
	}
	for state, n := range want {
		series := fmt.Sprintf(`prdeploy_deployments{state=%q}`, state)
		if v, ok := got[series]; !ok || v != n {
			t.Errorf("%s = %v (present %t), want %v", series, v, ok, n)
		}
	}
	if v := got["prdeploy_deployments_scrape_errors_total"]; v != 0 {
		t.Errorf("scrape errors = %v, want 0", v)
	}
}
