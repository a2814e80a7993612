package simtest

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/prdeploy/prdeploy/internal/devserver"
	"github.com/prdeploy/prdeploy/internal/gitrepo"
	"github.com/prdeploy/prdeploy/internal/gitrepo/gittest"
	"github.com/prdeploy/prdeploy/internal/payload"
	"github.com/prdeploy/prdeploy/internal/prepare"
	"github.com/prdeploy/prdeploy/internal/sim"
	"github.com/prdeploy/prdeploy/internal/temporalx"
	"github.com/prdeploy/prdeploy/workflows"
)

// Cluster is the cluster deployments run in.
const Cluster = "prod-eu"

// Fleet is a running test stack. ana and bo are in @acme/sre.
type Fleet struct {
	t      *testing.T
	Ctx    context.Context
	Client client.Client
	// Address and Namespace are the Temporal frontend's.
	Address, Namespace string
	Cluster            *sim.Cluster
	Prober             *sim.Prober
	// Repo is the local git repository of plans ("acme/deploys"), made
	// from the GitOps repository at src.
	Repo, src string
}

// Start runs the stack until the test ends; src is the GitOps repository
// the plans are committed on (e.g. examples/gitops-repo).
func Start(t *testing.T, src string) *Fleet {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	ts, err := devserver.Start(ctx, devserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ts.Stop)
	tc, err := client.Dial(client.Options{HostPort: ts.FrontendAddress(), Namespace: ts.Namespace(), Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)
	store, err := payload.OpenMemory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f := &Fleet{t: t, Ctx: ctx, Client: tc, Address: ts.FrontendAddress(), Namespace: ts.Namespace(),
		Cluster: sim.NewCluster(20 * time.Millisecond), Prober: sim.NewProber(), Repo: t.TempDir(), src: src}
	acts := &workflows.Activities{
		// Policies judge at a fixed instant outside the example freezes,
		// so tests on examples/gitops-repo pass on any day.
		Plans:   &prepare.Preparer{Repos: gitrepo.Local{Dirs: map[string]string{"acme/deploys": f.Repo}}, Store: store, Now: sim.PolicyTime},
		History: gitrepo.Local{Dirs: map[string]string{"acme/deploys": f.Repo}},
		Cluster: f.Cluster, Probes: f.Prober, Directory: sim.Directory{"ana": {"acme/sre"}, "bo": {"acme/sre"}},
		Locks: temporalx.Locks{Client: tc}, Watcher: temporalx.Watcher{Client: tc},
	}
	w := worker.New(tc, workflows.TaskQueue, worker.Options{})
	workflows.Register(w, acts)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return f
}

// Deploy commits the plan as deploys/<id>.yaml and starts its deployment
// in Cluster, as the merge of PR pr (by cy) would.
func (f *Fleet) Deploy(id, plan string, pr int) {
	f.t.Helper()
	sha := gittest.Commit(f.t, f.Repo, f.src, map[string]string{"deploys/" + id + ".yaml": plan}, id)
	if _, err := f.Client.ExecuteWorkflow(f.Ctx, client.StartWorkflowOptions{ID: workflows.DeployWorkflowID(Cluster, id), TaskQueue: workflows.TaskQueue},
		workflows.OrchestrationWorkflow, workflows.OrchestrationInput{Request: workflows.DeployRequest{Repo: "acme/deploys", SHA: sha,
			PlanPath: "deploys/" + id + ".yaml", Cluster: Cluster, DeploymentID: id, PR: pr, PRAuthor: "cy"}}); err != nil {
		f.t.Fatal(err)
	}
}

// WaitFor polls the deployment's status query until ok, or fails the test.
func (f *Fleet) WaitFor(deployment, what string, ok func(workflows.Status) bool) {
	f.t.Helper()
	var last workflows.Status
	for f.Ctx.Err() == nil {
		st, err := workflows.Describe(f.Ctx, f.Client, Cluster, deployment)
		if err == nil && ok(st) {
			return
		}
		last = st
		select {
		case <-f.Ctx.Done():
		case <-time.After(50 * time.Millisecond): // polling the query: nothing to wait on
		}
	}
	f.t.Fatalf("waiting for %s: last phase %s, counts %v", what, last.Phase, last.Counts)
}

// Approve approves the deployment's waiting gate as login, as a PR
// comment numbered sourceID would.
func (f *Fleet) Approve(deployment, login, sourceID string) {
	f.t.Helper()
	h, err := f.Client.UpdateWorkflow(f.Ctx, client.UpdateWorkflowOptions{WorkflowID: workflows.DeployWorkflowID(Cluster, deployment), UpdateName: workflows.UpdateApprove,
		Args: []any{workflows.ApproveRequest{Login: login, Source: "comment", SourceID: sourceID}}, WaitForStage: client.WorkflowUpdateStageCompleted})
	if err != nil {
		f.t.Fatal(err)
	}
	if err := h.Get(f.Ctx, nil); err != nil {
		f.t.Fatalf("%s approves: %v", login, err)
	}
}
