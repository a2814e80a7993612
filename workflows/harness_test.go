package workflows_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/temporal"
	"go.temporal.io/server/temporaltest"

	"github.com/prdeploy/prdeploy/internal/sim"
	"github.com/prdeploy/prdeploy/internal/temporalx"
	"github.com/prdeploy/prdeploy/planner"
	"github.com/prdeploy/prdeploy/policies"
	"github.com/prdeploy/prdeploy/workflows"
)

const testFleet = `apiVersion: prdeploy.dev/v1
kind: Fleet
clusters:
  - name: c1
services:
  - {name: api, image: registry.example.com/api}
  - {name: db, image: registry.example.com/db}
  - {name: web, image: registry.example.com/web}
tenants:
`

// harness is a real Temporal server in the test process, a worker with
// prdeploy's workflows, and the simulated fleet behind the activities.
type harness struct {
	t       testing.TB
	ts      *temporaltest.TestServer
	c       client.Client
	cluster *sim.Cluster
	prober  *sim.Prober
	plans   *sim.Plans
	dir     sim.Directory
	fleet   *planner.Fleet
	w       worker.Worker
	// wait bounds how long result waits for a deployment.
	wait time.Duration
	// acts, when set, are the worker's activities instead of the simulated
	// ones (Locks and Watcher are filled in).
	acts *workflows.Activities
	// metrics, when set, is the MetricsHandler of the worker's client,
	// which the workflows record their metrics on.
	metrics client.MetricsHandler
	// prepareGate holds the real Prepare of worlds that have one
	// (githubWorld), by deployment id.
	prepareGate sim.Gate
}

// newHarness starts the server and a worker; configure may replace the
// activities (real adapters instead of the simulated fleet).
func newHarness(t testing.TB, rollout time.Duration, tenants int, configure ...func(*harness)) *harness {
	t.Helper()
	var fleet strings.Builder
	fleet.WriteString(testFleet)
	for i := 1; i <= tenants; i++ {
		fmt.Fprintf(&fleet, "  - {name: t%02d, cluster: c1, namespace: ns-t%02d}\n", i, i)
	}
	f, err := planner.ParseFleet("fleet.yaml", []byte(fleet.String()))
	if err != nil {
		t.Fatal(err)
	}
	var ts *temporaltest.TestServer
	if tt, ok := t.(*testing.T); ok {
		ts = temporaltest.NewServer(temporaltest.WithT(tt))
	} else { // benchmarks: quiet server and worker
		ts = temporaltest.NewServer(
			temporaltest.WithBaseServerOptions(temporal.WithLogger(log.NewNoopLogger())),
			temporaltest.WithBaseClientOptions(client.Options{Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))}),
			temporaltest.WithBaseWorkerOptions(worker.Options{MaxConcurrentWorkflowTaskPollers: 4, MaxConcurrentActivityTaskPollers: 4}),
		)
		t.Cleanup(ts.Stop)
	}
	h := &harness{
		t: t, ts: ts, c: ts.GetDefaultClient(), fleet: f,
		cluster: sim.NewCluster(rollout), prober: sim.NewProber(), plans: sim.NewPlans(), wait: 2 * time.Minute,
		dir: sim.Directory{"ana": {"acme/sre"}, "bo": {"acme/sre"}, "cy": {"acme/dev"}, "author": {"acme/sre"}},
	}
	for _, c := range configure {
		c(h)
	}
	h.startWorker()
	return h
}

func (h *harness) startWorker() {
	acts := h.acts
	if acts == nil {
		acts = &workflows.Activities{Plans: h.plans, Cluster: h.cluster, Probes: h.prober, Directory: h.dir}
	}
	acts.Locks, acts.Watcher = temporalx.Locks{Client: h.c}, temporalx.Watcher{Client: h.c}
	if h.metrics == nil {
		h.w = h.ts.NewWorker(workflows.TaskQueue, func(r worker.Registry) { workflows.Register(r, acts) })
		return
	}
	// The test server's workers share its default client; this one needs
	// a client of its own to carry the metrics handler.
	c := h.ts.NewClientWithOptions(client.Options{MetricsHandler: h.metrics})
	h.w = worker.New(c, workflows.TaskQueue, worker.Options{WorkflowPanicPolicy: worker.FailWorkflow})
	workflows.Register(h.w, acts)
	if err := h.w.Start(); err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(h.w.Stop)
}

func (h *harness) stopWorker() { h.w.Stop() }

// plan expands a plan for the test fleet and makes it deployable.
func (h *harness) plan(id, spec string, reqs ...policies.Requirement) *planner.ExecutionPlan {
	h.t.Helper()
	src := "apiVersion: prdeploy.dev/v1\nkind: DeployPlan\nmetadata: {name: " + id + "}\nspec:\n  clusters: [c1]\n" + spec
	p, _ := planner.ParsePlan("deploys/"+id+".yaml", []byte(src))
	e, err := planner.Expand(p, h.fleet)
	if err != nil {
		h.t.Fatal(err)
	}
	h.plans.Add(e, reqs)
	return e
}

func (h *harness) deploy(id string) client.WorkflowRun {
	h.t.Helper()
	return h.deployWith(workflows.OrchestrationInput{Request: workflows.DeployRequest{Cluster: "c1", DeploymentID: id, PlanPath: "deploys/" + id + ".yaml", PRAuthor: "author"}})
}

func (h *harness) deployWith(in workflows.OrchestrationInput) client.WorkflowRun {
	h.t.Helper()
	id := workflows.DeployWorkflowID(in.Request.Cluster, in.Request.DeploymentID)
	run, err := h.c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: id, TaskQueue: workflows.TaskQueue}, workflows.OrchestrationWorkflow, in)
	if err != nil {
		h.t.Fatal(err)
	}
	return run
}

func (h *harness) status(id string) workflows.Status {
	h.t.Helper()
	v, err := h.c.QueryWorkflow(context.Background(), workflows.DeployWorkflowID("c1", id), "", workflows.QueryStatus)
	if err != nil {
		h.t.Fatalf("query %s: %v", id, err)
	}
	var st workflows.Status
	if err := v.Get(&st); err != nil {
		h.t.Fatal(err)
	}
	return st
}

// eventually polls cond until it holds or the deadline passes.
func (h *harness) eventually(what string, timeout time.Duration, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (h *harness) update(id, name string, arg any) (workflows.Reply, error) {
	h.t.Helper()
	handle, err := h.c.UpdateWorkflow(context.Background(), client.UpdateWorkflowOptions{
		WorkflowID: workflows.DeployWorkflowID("c1", id), UpdateName: name, Args: []any{arg},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return workflows.Reply{}, err
	}
	var r workflows.Reply
	err = handle.Get(context.Background(), &r)
	return r, err
}

func (h *harness) result(run client.WorkflowRun) workflows.Status {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), h.wait)
	defer cancel()
	var st workflows.Status
	if err := run.Get(ctx, &st); err != nil {
		h.t.Fatalf("deployment failed: %v", err)
	}
	return st
}

// interval is when a tenant/service was being changed: apply to rollout end.
type interval struct{ start, end time.Time }

func (h *harness) intervals(deploy, key string) []interval {
	var out []interval
	var open time.Time
	for _, e := range h.cluster.Events() {
		if e.Key != key || e.Deploy != deploy {
			continue
		}
		switch e.Kind {
		case "apply", "restart":
			open = e.At
		case "rollout-done", "rollout-failed":
			out = append(out, interval{open, e.At})
		}
	}
	return out
}

func overlaps(a, b []interval) bool {
	for _, x := range a {
		for _, y := range b {
			if x.start.Before(y.end) && y.start.Before(x.end) {
				return true
			}
		}
	}
	return false
}
